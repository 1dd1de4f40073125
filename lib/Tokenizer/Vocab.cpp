//===- Vocab.cpp - The model vocabulary of tokenizer.json -------*- C++ -*-===//
//
// `model.vocab` is a JSON object, so its order carries no meaning; the ids
// do. Duplicate or out-of-range ids are rejected rather than resolved by
// whichever entry the parser happened to visit last.
//
//===----------------------------------------------------------------------===//
#include "Vocab.h"
#include "JsonFile.h"

#include <algorithm>
#include <limits>

using namespace phiq::tok;

llvm::Expected<Vocab> Vocab::fromJson(llvm::StringRef file,
                                      const llvm::json::Object &vocab) {
  Vocab result;
  int64_t maxId = -1;
  for (const auto &entry : vocab) {
    std::optional<int64_t> id = entry.second.getAsInteger();
    if (!id || *id < 0 || *id > std::numeric_limits<int32_t>::max())
      return fieldError(file, "model.vocab." + entry.first.str(),
                        "must be a non-negative 32-bit integer id");
    maxId = std::max(maxId, *id);
  }
  result.pieces.resize(maxId + 1);
  result.present.assign(maxId + 1, false);
  for (const auto &entry : vocab) {
    int32_t id = static_cast<int32_t>(*entry.second.getAsInteger());
    if (result.present[id])
      return fieldError(file, "model.vocab",
                        "gives id " + llvm::Twine(id) + " to both '" +
                            result.pieces[id] + "' and '" + entry.first.str() +
                            "'");
    result.present[id] = true;
    result.pieces[id] = entry.first.str();
    result.ids[entry.first.str()] = id;
  }
  return result;
}
