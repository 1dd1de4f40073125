//===- Vocab.h - The model vocabulary of tokenizer.json ---------*- C++ -*-===//
//
// Both tokenizer kinds spell tokens through `model.vocab` of tokenizer.json
// (the SentencePiece path checks that tokenizer.model agrees with it), so the
// piece <-> id maps live here once.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_LIB_TOKENIZER_VOCAB_H
#define PHIQ_LIB_TOKENIZER_VOCAB_H

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace phiq::tok {

class Vocab {
public:
  /// Reads the `model.vocab` object ({piece: id}) of `file`. Ids must be
  /// distinct non-negative 32-bit integers.
  static llvm::Expected<Vocab> fromJson(llvm::StringRef file,
                                        const llvm::json::Object &vocab);

  std::optional<int32_t> idOf(llvm::StringRef piece) const {
    auto it = ids.find(piece);
    if (it == ids.end())
      return std::nullopt;
    return it->second;
  }
  /// The piece of `id`, or std::nullopt where the vocabulary has none.
  std::optional<llvm::StringRef> pieceOf(int32_t id) const {
    if (id < 0 || static_cast<size_t>(id) >= pieces.size() || !present[id])
      return std::nullopt;
    return llvm::StringRef(pieces[id]);
  }
  /// Number of pieces.
  size_t size() const { return ids.size(); }
  /// One past the largest id.
  size_t idLimit() const { return pieces.size(); }

private:
  std::vector<std::string> pieces;
  std::vector<bool> present;
  llvm::StringMap<int32_t> ids;
};

} // namespace phiq::tok

#endif // PHIQ_LIB_TOKENIZER_VOCAB_H
