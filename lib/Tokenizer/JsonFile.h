//===- JsonFile.h - Reading the tokenizer's JSON files ----------*- C++ -*-===//
//
// tokenizer.json and tokenizer_config.json are read with llvm::json. Every
// loading error must name the file and the field at fault, so the readers go
// through these helpers, which carry the path and a dotted field name
// (`model.vocab`, `added_tokens[3].content`) into the messages.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_LIB_TOKENIZER_JSONFILE_H
#define PHIQ_LIB_TOKENIZER_JSONFILE_H

#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <optional>
#include <string>

namespace phiq::tok {

/// A parsed JSON file and its path.
struct JsonFile {
  std::string path;
  llvm::json::Value root = nullptr;
};

/// An llvm::Error with `message` and no error code.
llvm::Error makeError(const llvm::Twine &message);

/// "<file>: field '<field>' <problem>".
llvm::Error fieldError(llvm::StringRef file, llvm::StringRef field,
                       const llvm::Twine &problem);

/// Reads and parses `path`; a missing file, an unreadable one and malformed
/// JSON are errors naming the path. The root must be an object.
llvm::Expected<JsonFile> readJsonFile(llvm::StringRef path);

/// Typed access to `object[key]`, where `field` is the dotted name used in
/// messages. The `get*` forms fail if the key is missing; the `optional*`
/// forms return std::nullopt for a missing key or JSON null.
class JsonFields {
public:
  JsonFields(llvm::StringRef file, const llvm::json::Object &object,
             std::string prefix = "")
      : file(file), object(object), prefix(std::move(prefix)) {}

  std::string field(llvm::StringRef key) const {
    return prefix.empty() ? key.str() : prefix + "." + key.str();
  }
  llvm::Error error(llvm::StringRef key, const llvm::Twine &problem) const {
    return fieldError(file, field(key), problem);
  }

  llvm::Expected<const llvm::json::Object *>
  getObject(llvm::StringRef key) const;
  llvm::Expected<const llvm::json::Array *> getArray(llvm::StringRef key) const;
  llvm::Expected<llvm::StringRef> getString(llvm::StringRef key) const;
  llvm::Expected<int64_t> getInteger(llvm::StringRef key) const;

  llvm::Expected<std::optional<const llvm::json::Object *>>
  optionalObject(llvm::StringRef key) const;
  llvm::Expected<std::optional<llvm::StringRef>>
  optionalString(llvm::StringRef key) const;
  llvm::Expected<std::optional<bool>> optionalBool(llvm::StringRef key) const;

  llvm::StringRef file;
  const llvm::json::Object &object;
  std::string prefix;
};

} // namespace phiq::tok

#endif // PHIQ_LIB_TOKENIZER_JSONFILE_H
