//===- JsonFile.cpp - Reading the tokenizer's JSON files --------*- C++ -*-===//
//
// Files are read through llvm::MemoryBuffer and parsed with llvm::json; the
// field accessors turn absent or mistyped values into errors that name the
// file and the dotted field, never into crashes.
//
//===----------------------------------------------------------------------===//
#include "JsonFile.h"

#include "llvm/Support/MemoryBuffer.h"

using namespace phiq::tok;
using llvm::Error;
using llvm::Expected;
using llvm::StringRef;
namespace json = llvm::json;

Error phiq::tok::makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

Error phiq::tok::fieldError(StringRef file, StringRef field,
                            const llvm::Twine &problem) {
  return makeError(file + ": field '" + field + "' " + problem);
}

Expected<JsonFile> phiq::tok::readJsonFile(StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer)
    return makeError(path + ": cannot read: " + buffer.getError().message());
  Expected<json::Value> value = json::parse((*buffer)->getBuffer());
  if (!value)
    return makeError(path +
                     ": malformed JSON: " + llvm::toString(value.takeError()));
  if (!value->getAsObject())
    return makeError(path + ": the top-level JSON value is not an object");
  return JsonFile{path.str(), std::move(*value)};
}

Expected<const json::Object *> JsonFields::getObject(StringRef key) const {
  const json::Value *v = object.get(key);
  if (!v)
    return error(key, "is missing");
  if (const json::Object *o = v->getAsObject())
    return o;
  return error(key, "must be an object");
}

Expected<const json::Array *> JsonFields::getArray(StringRef key) const {
  const json::Value *v = object.get(key);
  if (!v)
    return error(key, "is missing");
  if (const json::Array *a = v->getAsArray())
    return a;
  return error(key, "must be an array");
}

Expected<StringRef> JsonFields::getString(StringRef key) const {
  const json::Value *v = object.get(key);
  if (!v)
    return error(key, "is missing");
  if (std::optional<StringRef> s = v->getAsString())
    return *s;
  return error(key, "must be a string");
}

Expected<int64_t> JsonFields::getInteger(StringRef key) const {
  const json::Value *v = object.get(key);
  if (!v)
    return error(key, "is missing");
  if (std::optional<int64_t> i = v->getAsInteger())
    return *i;
  return error(key, "must be an integer");
}

Expected<std::optional<const json::Object *>>
JsonFields::optionalObject(StringRef key) const {
  const json::Value *v = object.get(key);
  if (!v || v->kind() == json::Value::Null)
    return std::nullopt;
  if (const json::Object *o = v->getAsObject())
    return o;
  return error(key, "must be an object or null");
}

Expected<std::optional<StringRef>>
JsonFields::optionalString(StringRef key) const {
  const json::Value *v = object.get(key);
  if (!v || v->kind() == json::Value::Null)
    return std::nullopt;
  if (std::optional<StringRef> s = v->getAsString())
    return *s;
  return error(key, "must be a string or null");
}

Expected<std::optional<bool>> JsonFields::optionalBool(StringRef key) const {
  const json::Value *v = object.get(key);
  if (!v || v->kind() == json::Value::Null)
    return std::nullopt;
  if (std::optional<bool> b = v->getAsBoolean())
    return *b;
  return error(key, "must be a boolean or null");
}
