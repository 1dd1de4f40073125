//===- Diagnostics.h - Error helpers of the Params parsers ------*- C++ -*-===//
//
// The safetensors and index parsers report errors the same way: the file
// first, then what is wrong and what was expected, with JSON values
// described by their kind. This private header keeps that wording in one
// place.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_LIB_PARAMS_DIAGNOSTICS_H
#define PHIQ_LIB_PARAMS_DIAGNOSTICS_H

#include "llvm/ADT/Twine.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

namespace phiq::params::detail {

/// "<path>: <message>" as an llvm::Error.
inline llvm::Error fileError(llvm::StringRef path, const llvm::Twine &message) {
  return llvm::createStringError(
      std::make_error_code(std::errc::invalid_argument), path + ": " + message);
}

/// "a number", "an object", ... for "X is <kind>, expected Y" messages.
inline const char *jsonKindName(const llvm::json::Value &value) {
  switch (value.kind()) {
  case llvm::json::Value::Null:
    return "null";
  case llvm::json::Value::Boolean:
    return "a boolean";
  case llvm::json::Value::Number:
    return "a number";
  case llvm::json::Value::String:
    return "a string";
  case llvm::json::Value::Array:
    return "an array";
  case llvm::json::Value::Object:
    return "an object";
  }
  return "an unknown JSON value";
}

} // namespace phiq::params::detail

#endif // PHIQ_LIB_PARAMS_DIAGNOSTICS_H
