//===- PreTokenizer.cpp - Byte-level BPE word splitting ---------*- C++ -*-===//
//
// PCRE2 with UTF and UCP gives \s, \p{L}, \p{N} their Unicode meanings, as
// Oniguruma does for `tokenizers`. Patterns are JIT-compiled where the
// platform allows; a match that exhausts the JIT stack is retried by the
// interpreter so a pathological input is slower, never mis-split.
//
//===----------------------------------------------------------------------===//
#include "PreTokenizer.h"
#include "JsonFile.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

using namespace phiq::tok;
using llvm::Error;
using llvm::Expected;
using llvm::StringRef;
namespace json = llvm::json;

/// GPT-2's word pattern, which ByteLevel(use_regex=true) applies.
static const char kGpt2Pattern[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+"
    "|\\s+(?!\\S)|\\s+";

struct RegexSplitter::Code {
  pcre2_code *re = nullptr;
  ~Code() { pcre2_code_free(re); }
};

Expected<RegexSplitter>
RegexSplitter::compile(StringRef pattern, StringRef file, StringRef field) {
  int errorCode;
  PCRE2_SIZE errorOffset;
  pcre2_code *re = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()),
                                 pattern.size(), PCRE2_UTF | PCRE2_UCP,
                                 &errorCode, &errorOffset, nullptr);
  if (!re) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(errorCode, message, sizeof(message));
    return fieldError(file, field,
                      "is a regex PCRE2 rejects at offset " +
                          llvm::Twine(errorOffset) + ": " +
                          reinterpret_cast<const char *>(message));
  }
  // Without JIT support pcre2_match interprets; both give the same matches.
  (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
  auto code = std::make_shared<Code>();
  code->re = re;
  RegexSplitter splitter;
  splitter.code = std::move(code);
  return splitter;
}

void RegexSplitter::split(StringRef text, std::vector<StringRef> &out) const {
  std::unique_ptr<pcre2_match_data, void (*)(pcre2_match_data *)> match(
      pcre2_match_data_create_from_pattern(code->re, nullptr),
      pcre2_match_data_free);
  auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t gap = 0, pos = 0;
  while (pos <= text.size()) {
    int rc = pcre2_match(code->re, subject, text.size(), pos,
                         PCRE2_NO_UTF_CHECK, match.get(), nullptr);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
      rc = pcre2_match(code->re, subject, text.size(), pos,
                       PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, match.get(), nullptr);
    // No further match (or a resource limit hit): the rest is one piece.
    if (rc < 0)
      break;
    PCRE2_SIZE *range = pcre2_get_ovector_pointer(match.get());
    size_t start = range[0], end = range[1];
    if (end == start) {
      // Empty matches cut nothing; step over one character.
      if (start >= text.size())
        break;
      pos = start + 1;
      while (pos < text.size() &&
             (static_cast<unsigned char>(text[pos]) & 0xC0) == 0x80)
        ++pos;
      continue;
    }
    if (start > gap)
      out.push_back(text.slice(gap, start));
    out.push_back(text.slice(start, end));
    gap = pos = end;
  }
  if (gap < text.size())
    out.push_back(text.drop_front(gap));
}

Expected<PreTokenizer> PreTokenizer::fromJson(StringRef file,
                                              const json::Value *value) {
  PreTokenizer result;
  if (!value || value->kind() == json::Value::Null)
    return fieldError(file, "pre_tokenizer",
                      "is missing, but a byte-level BPE needs a ByteLevel "
                      "pre-tokenizer");
  if (Error e = result.addSteps(file, *value, "pre_tokenizer"))
    return std::move(e);
  if (!result.sawByteLevel)
    return fieldError(file, "pre_tokenizer",
                      "has no ByteLevel step; only byte-level BPE "
                      "pipelines are supported without tokenizer.model");
  return result;
}

Error PreTokenizer::addSteps(StringRef file, const json::Value &value,
                             const std::string &field) {
  const json::Object *object = value.getAsObject();
  if (!object)
    return fieldError(file, field, "must be an object");
  JsonFields fields(file, *object, field);
  Expected<StringRef> type = fields.getString("type");
  if (!type)
    return type.takeError();
  if (sawByteLevel)
    return fieldError(file, field,
                      "follows the ByteLevel step; steps after it are not "
                      "supported");

  if (*type == "Sequence") {
    Expected<const json::Array *> list = fields.getArray("pretokenizers");
    if (!list)
      return list.takeError();
    for (size_t i = 0; i < (*list)->size(); ++i)
      if (Error e =
              addSteps(file, (**list)[i],
                       field + ".pretokenizers[" + std::to_string(i) + "]"))
        return e;
    return Error::success();
  }
  if (*type == "Split") {
    Expected<const json::Object *> pattern = fields.getObject("pattern");
    if (!pattern)
      return pattern.takeError();
    std::optional<StringRef> regex = (*pattern)->getString("Regex");
    if (!regex)
      return fields.error("pattern", "is not a {\"Regex\": ...} pattern");
    Expected<StringRef> behavior = fields.getString("behavior");
    if (!behavior)
      return behavior.takeError();
    if (*behavior != "Isolated")
      return fields.error("behavior",
                          "is '" + *behavior + "'; only Isolated is supported");
    Expected<std::optional<bool>> invert = fields.optionalBool("invert");
    if (!invert)
      return invert.takeError();
    if (invert->value_or(false))
      return fields.error("invert", "is true, which is not supported");
    Expected<RegexSplitter> splitter =
        RegexSplitter::compile(*regex, file, fields.field("pattern"));
    if (!splitter)
      return splitter.takeError();
    splitters.push_back(std::move(*splitter));
    return Error::success();
  }
  if (*type == "ByteLevel") {
    Expected<std::optional<bool>> prefix =
        fields.optionalBool("add_prefix_space");
    if (!prefix)
      return prefix.takeError();
    if (prefix->value_or(true))
      return fields.error("add_prefix_space",
                          "is true (or absent), which is not supported");
    Expected<std::optional<bool>> useRegex = fields.optionalBool("use_regex");
    if (!useRegex)
      return useRegex.takeError();
    if (useRegex->value_or(true)) {
      Expected<RegexSplitter> splitter =
          RegexSplitter::compile(kGpt2Pattern, file, fields.field("type"));
      if (!splitter)
        return splitter.takeError();
      splitters.push_back(std::move(*splitter));
    }
    sawByteLevel = true;
    return Error::success();
  }
  return fields.error("type", "is '" + *type +
                                  "', a pre-tokenizer this library does not "
                                  "implement");
}

void PreTokenizer::split(StringRef text, std::vector<StringRef> &out) const {
  if (text.empty())
    return;
  size_t first = out.size();
  out.push_back(text);
  std::vector<StringRef> pieces;
  for (const RegexSplitter &splitter : splitters) {
    pieces.assign(out.begin() + first, out.end());
    out.resize(first);
    for (StringRef piece : pieces)
      splitter.split(piece, out);
  }
}
