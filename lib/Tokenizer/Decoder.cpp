//===- Decoder.cpp - tokenizer.json decoder pipeline ------------*- C++ -*-===//
//
// Each step follows the semantics of the `tokenizers` decoder of the same
// name, including its corner cases: a run of <0xNN> tokens that is not valid
// UTF-8 becomes one U+FFFD per byte (ByteFallback), whereas the byte-level
// decoder decodes all bytes at once and replaces maximal invalid subparts;
// Strip works per token, so after Fuse it strips the whole text once.
//
//===----------------------------------------------------------------------===//
#include "Decoder.h"
#include "ByteLevel.h"
#include "JsonFile.h"
#include "Utf8.h"

#include "llvm/ADT/StringExtras.h"

using namespace phiq::tok;
using llvm::Error;
using llvm::Expected;
using llvm::StringRef;
namespace json = llvm::json;

Expected<Decoder> Decoder::fromJson(StringRef file,
                                    const json::Value *decoder) {
  Decoder result;
  if (!decoder || decoder->kind() == json::Value::Null)
    return result;
  result.present = true;
  if (Error e = result.addSteps(file, *decoder, "decoder"))
    return std::move(e);
  return result;
}

Error Decoder::addSteps(StringRef file, const json::Value &value,
                        const std::string &field) {
  const json::Object *object = value.getAsObject();
  if (!object)
    return fieldError(file, field, "must be an object");
  JsonFields fields(file, *object, field);
  Expected<StringRef> type = fields.getString("type");
  if (!type)
    return type.takeError();

  if (*type == "Sequence") {
    Expected<const json::Array *> list = fields.getArray("decoders");
    if (!list)
      return list.takeError();
    for (size_t i = 0; i < (*list)->size(); ++i)
      if (Error e = addSteps(file, (**list)[i],
                             field + ".decoders[" + std::to_string(i) + "]"))
        return e;
    return Error::success();
  }
  if (*type == "ByteFallback" || *type == "Fuse" || *type == "ByteLevel") {
    // ByteLevel's add_prefix_space/trim_offsets only affect offsets.
    Step step;
    step.kind = *type == "ByteFallback" ? Kind::ByteFallback
                : *type == "Fuse"       ? Kind::Fuse
                                        : Kind::ByteLevel;
    steps.push_back(step);
    return Error::success();
  }
  if (*type == "Replace") {
    Expected<const json::Object *> pattern = fields.getObject("pattern");
    if (!pattern)
      return pattern.takeError();
    std::optional<StringRef> literal = (*pattern)->getString("String");
    if (!literal)
      return fields.error("pattern",
                          "is not a {\"String\": ...} pattern (regex "
                          "replacements are not supported)");
    if (literal->empty())
      return fields.error("pattern", "must not be empty");
    Expected<StringRef> content = fields.getString("content");
    if (!content)
      return content.takeError();
    steps.push_back({Kind::Replace, literal->str(), content->str()});
    return Error::success();
  }
  if (*type == "Strip") {
    Expected<StringRef> content = fields.getString("content");
    if (!content)
      return content.takeError();
    if (content->empty() || utf8::validLength(*content, 0) != content->size())
      return fields.error("content", "must be a single character");
    Expected<int64_t> start = fields.getInteger("start");
    if (!start)
      return start.takeError();
    Expected<int64_t> stop = fields.getInteger("stop");
    if (!stop)
      return stop.takeError();
    if (*start < 0 || *stop < 0)
      return fields.error("start", "and 'stop' must not be negative");
    Step step{Kind::Strip, "", content->str()};
    step.start = static_cast<size_t>(*start);
    step.stop = static_cast<size_t>(*stop);
    steps.push_back(step);
    return Error::success();
  }
  return fields.error("type", "is '" + *type +
                                  "', a decoder this library does not "
                                  "implement");
}

namespace {
/// The byte of a "<0xNN>" token.
std::optional<uint8_t> byteToken(StringRef token) {
  if (token.size() != 6 || !token.starts_with("<0x") || !token.ends_with(">"))
    return std::nullopt;
  unsigned value;
  if (token.substr(3, 2).getAsInteger(16, value))
    return std::nullopt;
  return static_cast<uint8_t>(value);
}
} // namespace

std::vector<std::string> Decoder::apply(const Step &step,
                                        std::vector<std::string> tokens) {
  switch (step.kind) {
  case Kind::Replace:
    for (std::string &t : tokens) {
      std::string out;
      StringRef rest = t;
      for (size_t at; (at = rest.find(step.pattern)) != StringRef::npos;) {
        out += rest.take_front(at);
        out += step.content;
        rest = rest.drop_front(at + step.pattern.size());
      }
      out += rest;
      t = std::move(out);
    }
    return tokens;

  case Kind::ByteFallback: {
    std::vector<std::string> out;
    std::string bytes;
    auto flush = [&] {
      if (bytes.empty())
        return;
      if (utf8::isValid(bytes))
        out.push_back(bytes);
      else
        for (size_t i = 0; i < bytes.size(); ++i)
          out.push_back("\xEF\xBF\xBD");
      bytes.clear();
    };
    for (std::string &t : tokens) {
      if (std::optional<uint8_t> b = byteToken(t)) {
        bytes.push_back(static_cast<char>(*b));
        continue;
      }
      flush();
      out.push_back(std::move(t));
    }
    flush();
    return out;
  }

  case Kind::Fuse: {
    std::string all;
    for (const std::string &t : tokens)
      all += t;
    return {all};
  }

  case Kind::Strip:
    for (std::string &t : tokens) {
      StringRef rest = t;
      for (size_t i = 0; i < step.start && rest.starts_with(step.content); ++i)
        rest = rest.drop_front(step.content.size());
      for (size_t i = 0; i < step.stop && rest.ends_with(step.content); ++i)
        rest = rest.drop_back(step.content.size());
      t = rest.str();
    }
    return tokens;

  case Kind::ByteLevel: {
    // A token whose characters are all in the byte alphabet stands for
    // those bytes; any other token (an added token such as "<|end|>" with
    // characters outside it) stands for its own UTF-8 bytes.
    std::string bytes;
    for (const std::string &t : tokens) {
      std::string mapped;
      bool allMapped = true;
      for (size_t pos = 0; pos < t.size();) {
        std::optional<uint8_t> b = bytelevel::byteOf(utf8::next(t, pos));
        if (!b) {
          allMapped = false;
          break;
        }
        mapped.push_back(static_cast<char>(*b));
      }
      bytes += allMapped ? mapped : t;
    }
    return {utf8::decodeLossy(bytes)};
  }
  }
  return tokens;
}

std::string Decoder::decode(std::vector<std::string> tokens) const {
  if (!present)
    return llvm::join(tokens, " ");
  for (const Step &step : steps)
    tokens = apply(step, std::move(tokens));
  std::string out;
  for (const std::string &t : tokens)
    out += t;
  return out;
}
