//===- AddedTokens.cpp - Added tokens and text splitting --------*- C++ -*-===//
//
// Matching follows the `tokenizers` library: at the leftmost position where
// any added token starts, the longest one wins; lstrip extends the match
// left over whitespace (not into the previous match), rstrip extends it right
// over whitespace, where whitespace is Unicode White_Space as in Rust.
//
//===----------------------------------------------------------------------===//
#include "AddedTokens.h"
#include "Utf8.h"

#include <algorithm>
#include <limits>

using namespace phiq::tok;
using llvm::Error;
using llvm::Expected;
using llvm::StringRef;
namespace json = llvm::json;

//===----------------------------------------------------------------------===//
// AddedTokenMatcher
//===----------------------------------------------------------------------===//

AddedTokenMatcher::AddedTokenMatcher(
    const std::vector<const AddedToken *> &candidates) {
  startsToken.fill(false);
  for (const AddedToken *t : candidates) {
    if (t->content.empty())
      continue;
    tokens.push_back(t);
    startsToken[static_cast<unsigned char>(t->content[0])] = true;
  }
  std::stable_sort(tokens.begin(), tokens.end(),
                   [](const AddedToken *a, const AddedToken *b) {
                     return a->content.size() > b->content.size();
                   });
}

void AddedTokenMatcher::split(StringRef text, std::vector<Segment> &out) const {
  size_t emitted = 0; // Start of the text not yet emitted.
  size_t pos = 0;
  while (pos < text.size()) {
    if (!startsToken[static_cast<unsigned char>(text[pos])]) {
      ++pos;
      continue;
    }
    StringRef rest = text.drop_front(pos);
    auto hit =
        std::find_if(tokens.begin(), tokens.end(), [&](const AddedToken *t) {
          return rest.starts_with(t->content);
        });
    if (hit == tokens.end()) {
      ++pos;
      continue;
    }
    const AddedToken &token = **hit;
    size_t start = pos, stop = pos + token.content.size();
    if (token.lstrip) {
      while (start > emitted) {
        size_t prev = utf8::previousStart(text, start);
        size_t at = prev;
        if (!utf8::isWhiteSpace(utf8::next(text, at)))
          break;
        start = prev;
      }
    }
    if (token.rstrip) {
      while (stop < text.size()) {
        size_t at = stop;
        if (!utf8::isWhiteSpace(utf8::next(text, at)))
          break;
        stop = at;
      }
    }
    if (emitted < start)
      out.push_back({text.slice(emitted, start), -1});
    out.push_back({text.slice(start, stop), token.id});
    emitted = pos = stop;
  }
  if (emitted < text.size())
    out.push_back({text.drop_front(emitted), -1});
}

//===----------------------------------------------------------------------===//
// AddedVocabulary
//===----------------------------------------------------------------------===//

namespace {
/// Reads the flags and content of one added-token object; `id` is set by
/// the caller.
Expected<AddedToken> parseAddedToken(const JsonFields &fields) {
  AddedToken token;
  Expected<StringRef> content = fields.getString("content");
  if (!content)
    return content.takeError();
  token.content = content->str();
  bool *flags[] = {&token.singleWord, &token.lstrip, &token.rstrip,
                   &token.special};
  const char *names[] = {"single_word", "lstrip", "rstrip", "special"};
  for (size_t i = 0; i < std::size(flags); ++i) {
    Expected<std::optional<bool>> flag = fields.optionalBool(names[i]);
    if (!flag)
      return flag.takeError();
    *flags[i] = flag->value_or(false);
  }
  // `tokenizers` defaults normalized to the opposite of special.
  Expected<std::optional<bool>> normalized = fields.optionalBool("normalized");
  if (!normalized)
    return normalized.takeError();
  token.normalized = normalized->value_or(!token.special);
  // single_word matching depends on the library's notion of a word
  // character; refuse it rather than guess.
  if (token.singleWord)
    return fields.error("single_word", "is true for '" + token.content +
                                           "', which is not supported");
  return token;
}

/// The content of a named special token in tokenizer_config.json: a string
/// or an AddedToken object with "content".
std::optional<std::string> specialTokenContent(const json::Value &v) {
  if (std::optional<StringRef> s = v.getAsString())
    return s->str();
  if (const json::Object *o = v.getAsObject())
    if (std::optional<StringRef> s = o->getString("content"))
      return s->str();
  return std::nullopt;
}
} // namespace

Expected<AddedVocabulary>
AddedVocabulary::fromFiles(const JsonFile &tokenizerJson,
                           const JsonFile *config, const Vocab &vocab) {
  AddedVocabulary result;
  auto add = [&](AddedToken token, StringRef file,
                 const std::string &field) -> Error {
    if (result.idToIndex.count(token.id))
      return fieldError(file, field,
                        "repeats added-token id " + llvm::Twine(token.id));
    result.idToIndex[token.id] = result.tokens.size();
    result.contentToIndex.try_emplace(token.content, result.tokens.size());
    result.tokens.push_back(std::move(token));
    return Error::success();
  };

  JsonFields root(tokenizerJson.path, *tokenizerJson.root.getAsObject());
  Expected<const json::Array *> list = root.getArray("added_tokens");
  if (!list)
    return list.takeError();
  for (size_t i = 0; i < (*list)->size(); ++i) {
    std::string field = "added_tokens[" + std::to_string(i) + "]";
    const json::Object *entry = (**list)[i].getAsObject();
    if (!entry)
      return fieldError(tokenizerJson.path, field, "must be an object");
    JsonFields fields(tokenizerJson.path, *entry, field);
    Expected<AddedToken> token = parseAddedToken(fields);
    if (!token)
      return token.takeError();
    Expected<int64_t> id = fields.getInteger("id");
    if (!id)
      return id.takeError();
    if (*id < 0 || *id > std::numeric_limits<int32_t>::max())
      return fields.error("id", "must be a non-negative 32-bit integer");
    token->id = static_cast<int32_t>(*id);
    if (Error e = add(std::move(*token), tokenizerJson.path, field))
      return std::move(e);
  }

  if (config) {
    // transformers adds the config's tokens whose content tokenizer.json
    // does not already list; the ones it lists keep tokenizer.json's flags.
    JsonFields cfg(config->path, *config->root.getAsObject());
    Expected<std::optional<const json::Object *>> decoder =
        cfg.optionalObject("added_tokens_decoder");
    if (!decoder)
      return decoder.takeError();
    if (*decoder) {
      // Ids are object keys; visit them in numeric order for determinism.
      std::vector<std::pair<int64_t, const json::Object *>> entries;
      for (const auto &entry : ***decoder) {
        std::string field = "added_tokens_decoder." + entry.first.str();
        int64_t id;
        if (StringRef(entry.first).getAsInteger(10, id) || id < 0 ||
            id > std::numeric_limits<int32_t>::max())
          return fieldError(config->path, field,
                            "has a key that is not a token id");
        const json::Object *o = entry.second.getAsObject();
        if (!o)
          return fieldError(config->path, field, "must be an object");
        entries.push_back({id, o});
      }
      llvm::sort(entries, [](const auto &a, const auto &b) {
        return a.first < b.first;
      });
      for (const auto &[id, o] : entries) {
        std::string field = "added_tokens_decoder." + std::to_string(id);
        Expected<AddedToken> token =
            parseAddedToken(JsonFields(config->path, *o, field));
        if (!token)
          return token.takeError();
        if (result.byContent(token->content) || result.idToIndex.count(id))
          continue;
        token->id = static_cast<int32_t>(id);
        if (Error e = add(std::move(*token), config->path, field))
          return std::move(e);
      }
    }

    // Named special tokens missing from both lists become special added
    // tokens: with their vocabulary id, else with the next free id.
    std::vector<std::pair<std::string, std::string>> named;
    for (const char *key : {"bos_token", "eos_token", "unk_token", "sep_token",
                            "pad_token", "cls_token", "mask_token"})
      if (const json::Value *v = cfg.object.get(key))
        if (std::optional<std::string> c = specialTokenContent(*v))
          named.push_back({key, *c});
    if (const json::Array *extra =
            cfg.object.getArray("additional_special_tokens"))
      for (size_t i = 0; i < extra->size(); ++i)
        if (std::optional<std::string> c = specialTokenContent((*extra)[i]))
          named.push_back(
              {"additional_special_tokens[" + std::to_string(i) + "]", *c});
    for (auto &[field, content] : named) {
      if (content.empty() || result.byContent(content))
        continue;
      AddedToken token;
      token.content = content;
      token.special = true;
      if (std::optional<int32_t> id = vocab.idOf(content)) {
        token.id = *id;
      } else {
        int64_t next = vocab.idLimit();
        for (const AddedToken &t : result.tokens)
          next = std::max<int64_t>(next, t.id + 1);
        token.id = static_cast<int32_t>(next);
      }
      if (Error e = add(std::move(token), config->path, field))
        return std::move(e);
    }
  }
  result.buildMatchers();
  return result;
}

void AddedVocabulary::buildMatchers() {
  std::vector<const AddedToken *> raw, normalized;
  for (const AddedToken &t : tokens)
    (t.normalized ? normalized : raw).push_back(&t);
  rawMatcher = AddedTokenMatcher(raw);
  normalizedMatcher = AddedTokenMatcher(normalized);
}

void AddedVocabulary::split(StringRef text, std::vector<Segment> &out) const {
  size_t first = out.size();
  rawMatcher.split(text, out);
  if (std::none_of(tokens.begin(), tokens.end(),
                   [](const AddedToken &t) { return t.normalized; }))
    return;
  std::vector<Segment> pass1(out.begin() + first, out.end());
  out.resize(first);
  for (const Segment &s : pass1) {
    if (s.isAddedToken())
      out.push_back(s);
    else
      normalizedMatcher.split(s.text, out);
  }
}
