//===- ByteLevelBPE.h - Byte-level BPE from tokenizer.json ------*- C++ -*-===//
//
// Phi-4-mini's tokenizer (o200k style): text is cut into words by the
// pre-tokenizer regex, each word's UTF-8 bytes are spelled in the GPT-2 byte
// alphabet, and merges are applied by rank. Everything comes from
// tokenizer.json; there is no tokenizer.model.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_LIB_TOKENIZER_BYTELEVELBPE_H
#define PHIQ_LIB_TOKENIZER_BYTELEVELBPE_H

#include "JsonFile.h"
#include "PreTokenizer.h"
#include "TokenizerBase.h"

#include "llvm/ADT/DenseMap.h"

#include <array>
#include <memory>

namespace phiq::tok {

class ByteLevelBPE final : public TokenizerBase {
public:
  /// Builds the tokenizer from tokenizer.json's `model`, `normalizer` and
  /// `pre_tokenizer`; errors name the file and field.
  static llvm::Expected<std::unique_ptr<Tokenizer>>
  create(const JsonFile &tokenizerJson, TokenizerParts parts);

private:
  struct Merge {
    int32_t rank;
    int32_t newId;
  };
  struct Scratch;

  explicit ByteLevelBPE(TokenizerParts parts)
      : TokenizerBase(std::move(parts)) {}

  void encodeText(llvm::StringRef text,
                  std::vector<int32_t> &ids) const override;
  void encodeWord(llvm::StringRef word, std::vector<int32_t> &ids,
                  Scratch &scratch) const;

  static uint64_t pairKey(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) |
           static_cast<uint32_t>(right);
  }

  PreTokenizer preTokenizer;
  llvm::DenseMap<uint64_t, Merge> merges;
  std::array<int32_t, 256> byteIds; // Id of each byte's character, or -1.
  std::optional<int32_t> unkId;
  bool fuseUnk = false;
  bool ignoreMerges = false;
};

} // namespace phiq::tok

#endif // PHIQ_LIB_TOKENIZER_BYTELEVELBPE_H
