//===- ChatTemplate.cpp - Phi chat templates without Jinja ------*- C++ -*-===//
//
// Recognition compares a canonical form of the template with the canonical
// form of each known Phi template. The canonical form is the sequence of
// Jinja items after the whitespace control transformers applies
// (trim_blocks, lstrip_blocks, `-` markers, no trailing newline), with tag
// bodies reduced to their tokens: whitespace only where it separates two
// words, string literals by value. Two templates with equal canonical forms
// render identically, so spacing and quote style may vary; anything else
// makes the template unknown.
//
//===----------------------------------------------------------------------===//
#include "ChatTemplate.h"
#include "JsonFile.h"

#include "llvm/ADT/StringExtras.h"

#include <algorithm>

using namespace phiq::tok;
using llvm::Expected;
using llvm::StringRef;

namespace {

/// Phi-3.5-mini-instruct's template (Phi-3.5-MoE uses the same).
const char kPhi35Template[] =
    "{% for message in messages %}"
    "{% if message['role'] == 'system' and message['content'] %}"
    "{{'<|system|>\n' + message['content'] + '<|end|>\n'}}"
    "{% elif message['role'] == 'user' %}"
    "{{'<|user|>\n' + message['content'] + '<|end|>\n'}}"
    "{% elif message['role'] == 'assistant' %}"
    "{{'<|assistant|>\n' + message['content'] + '<|end|>\n'}}"
    "{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}"
    "{% else %}{{ eos_token }}{% endif %}";

/// Phi-4-mini-instruct's template.
const char kPhi4MiniTemplate[] =
    "{% for message in messages %}"
    "{% if message['role'] == 'system' and 'tools' in message and "
    "message['tools'] is not none %}"
    "{{ '<|' + message['role'] + '|>' + message['content'] + '<|tool|>' + "
    "message['tools'] + '<|/tool|>' + '<|end|>' }}"
    "{% else %}"
    "{{ '<|' + message['role'] + '|>' + message['content'] + '<|end|>' }}"
    "{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>' }}"
    "{% else %}{{ eos_token }}{% endif %}";

struct Item {
  enum Kind { Text, Expr, Stmt, Comment } kind;
  std::string body;
  bool trimLeft = false;  // `{%-`: strip whitespace before the tag.
  bool keepLeft = false;  // `{%+`: no lstrip_blocks before the tag.
  bool trimRight = false; // `-%}`: strip whitespace after the tag.
  bool keepRight = false; // `+%}`: no trim_blocks after the tag.
  bool isBlock() const { return kind == Stmt || kind == Comment; }
};

bool isWordChar(char c) { return llvm::isAlnum(c) || c == '_'; }
bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
         c == '\v';
}

/// Reads the string literal starting at body[pos] (a quote), advancing pos
/// past it; returns its value with Python's common escapes resolved.
std::optional<std::string> readLiteral(StringRef body, size_t &pos) {
  char quote = body[pos++];
  std::string value;
  while (pos < body.size() && body[pos] != quote) {
    char c = body[pos++];
    if (c != '\\' || pos == body.size()) {
      value.push_back(c);
      continue;
    }
    char e = body[pos++];
    switch (e) {
    case 'n':
      value.push_back('\n');
      break;
    case 't':
      value.push_back('\t');
      break;
    case 'r':
      value.push_back('\r');
      break;
    case '\\':
    case '\'':
    case '"':
      value.push_back(e);
      break;
    default: // Python keeps unknown escapes as written.
      value.push_back('\\');
      value.push_back(e);
    }
  }
  if (pos == body.size())
    return std::nullopt;
  ++pos; // Closing quote.
  return value;
}

/// The tokens of a tag body: single spaces only between two word
/// characters, literals re-quoted canonically.
std::optional<std::string> canonicalBody(StringRef body) {
  std::string out;
  bool pendingSpace = false;
  for (size_t pos = 0; pos < body.size();) {
    char c = body[pos];
    if (isSpace(c)) {
      pendingSpace = true;
      ++pos;
      continue;
    }
    if (c == '\'' || c == '"') {
      std::optional<std::string> value = readLiteral(body, pos);
      if (!value)
        return std::nullopt;
      out += '"';
      for (char v : *value) {
        if (v == '"' || v == '\\')
          out += '\\';
        out += v;
      }
      out += '"';
    } else {
      if (pendingSpace && !out.empty() && isWordChar(out.back()) &&
          isWordChar(c))
        out += ' ';
      out += c;
      ++pos;
    }
    pendingSpace = false;
  }
  return out;
}

/// Splits a template into text and tags; std::nullopt if a tag or a string
/// literal is not closed.
std::optional<std::vector<Item>> lex(StringRef src) {
  std::vector<Item> items;
  size_t pos = 0;
  while (pos < src.size()) {
    size_t open = pos;
    while (
        open + 1 < src.size() &&
        !(src[open] == '{' && (src[open + 1] == '{' || src[open + 1] == '%' ||
                               src[open + 1] == '#')))
      ++open;
    if (open + 1 >= src.size()) {
      items.push_back({Item::Text, src.drop_front(pos).str()});
      break;
    }
    if (open > pos)
      items.push_back({Item::Text, src.slice(pos, open).str()});
    char marker = src[open + 1];
    Item tag{marker == '{'   ? Item::Expr
             : marker == '%' ? Item::Stmt
                             : Item::Comment,
             ""};
    char closer = marker == '{' ? '}' : marker;
    size_t start = open + 2;
    if (start < src.size() && (src[start] == '-' || src[start] == '+')) {
      (src[start] == '-' ? tag.trimLeft : tag.keepLeft) = true;
      ++start;
    }
    size_t end = start;
    for (;;) {
      if (end + 1 >= src.size())
        return std::nullopt;
      char c = src[end];
      if (tag.kind != Item::Comment && (c == '\'' || c == '"')) {
        if (!readLiteral(src, end))
          return std::nullopt;
        continue;
      }
      if (c == closer && src[end + 1] == '}')
        break;
      ++end;
    }
    pos = end + 2;
    if (end > start && (src[end - 1] == '-' || src[end - 1] == '+')) {
      (src[end - 1] == '-' ? tag.trimRight : tag.keepRight) = true;
      --end;
    }
    tag.body = src.slice(start, end).str();
    items.push_back(std::move(tag));
  }
  return items;
}

/// The canonical form described in the file comment.
std::optional<std::string> canonicalize(StringRef src) {
  std::optional<std::vector<Item>> items = lex(src);
  if (!items)
    return std::nullopt;
  std::string out;
  for (size_t i = 0; i < items->size(); ++i) {
    Item &item = (*items)[i];
    if (item.kind == Item::Comment)
      continue;
    if (item.kind != Item::Text) {
      std::optional<std::string> body = canonicalBody(item.body);
      if (!body)
        return std::nullopt;
      out += item.kind == Item::Expr ? "{{" : "{%";
      out += *body;
      out += '\x1f';
      continue;
    }
    const StringRef source = item.body;
    StringRef text = source;
    const Item *prev = i > 0 ? &(*items)[i - 1] : nullptr;
    const Item *next = i + 1 < items->size() ? &(*items)[i + 1] : nullptr;
    if (prev && prev->trimRight)
      text = text.ltrim(" \t\n\r\f\v");
    else if (prev && prev->isBlock() && !prev->keepRight)
      text.consume_front("\r\n") || text.consume_front("\n");
    if (next && next->trimLeft) {
      text = text.rtrim(" \t\n\r\f\v");
    } else if (next && next->isBlock() && !next->keepLeft) {
      // lstrip_blocks: spaces and tabs between the start of a source line
      // and a block tag go, even when trim_blocks took that line's newline.
      size_t newline = source.find_last_of('\n');
      bool atLineStart = newline != StringRef::npos || !prev;
      StringRef indent =
          source.drop_front(newline == StringRef::npos ? 0 : newline + 1);
      if (atLineStart && indent.find_first_not_of(" \t") == StringRef::npos)
        text = text.drop_back(std::min(indent.size(), text.size()));
    }
    if (!next)
      text.consume_back("\n");
    if (text.empty())
      continue;
    out += "T";
    out += text;
    out += '\x1f';
  }
  return out;
}

} // namespace

ChatTemplate ChatTemplate::missing(std::string file) {
  ChatTemplate t;
  t.file = std::move(file);
  t.problem = "the folder has no chat template (no 'chat_template' field "
              "and no chat_template.jinja)";
  return t;
}

ChatTemplate ChatTemplate::recognise(StringRef source, std::string file,
                                     std::optional<std::string> eosToken) {
  ChatTemplate t;
  t.file = std::move(file);
  t.eosToken = std::move(eosToken);
  std::optional<std::string> canonical = canonicalize(source);
  if (canonical) {
    if (*canonical == canonicalize(kPhi35Template))
      t.known = Style::Phi3;
    else if (*canonical == canonicalize(kPhi4MiniTemplate))
      t.known = Style::Phi4Mini;
  }
  if (!t.known)
    t.problem = "'chat_template' is not a Phi-3/3.5 or Phi-4-mini template "
                "this library can render (it renders known templates in C++ "
                "and has no general Jinja engine)";
  return t;
}

Expected<std::string> ChatTemplate::render(llvm::ArrayRef<ChatMessage> messages,
                                           bool addGenerationPrompt) const {
  if (!known)
    return makeError(file + ": " + problem);
  if (!addGenerationPrompt && !eosToken)
    return makeError(file + ": the chat template ends with eos_token, but "
                            "tokenizer_config.json names no eos_token");
  std::string out;
  for (const ChatMessage &m : messages) {
    switch (*known) {
    case Style::Phi3:
      if ((m.role == "system" && !m.content.empty()) || m.role == "user" ||
          m.role == "assistant")
        out += "<|" + m.role + "|>\n" + m.content + "<|end|>\n";
      break;
    case Style::Phi4Mini:
      out += "<|" + m.role + "|>" + m.content;
      if (m.role == "system" && m.tools)
        out += "<|tool|>" + *m.tools + "<|/tool|>";
      out += "<|end|>";
      break;
    }
  }
  if (addGenerationPrompt)
    out += *known == Style::Phi3 ? "<|assistant|>\n" : "<|assistant|>";
  else
    out += *eosToken;
  return out;
}
