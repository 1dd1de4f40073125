//===- SentencePieceModelSpec.h - tokenizer.model settings ------*- C++ -*-===//
//
// libsentencepiece reproduces tokenizer.json's pipeline only for models
// trained with particular settings (BPE, byte fallback, a dummy "▁" prefix,
// whitespace kept as is, no normalization rules). The library does not
// expose them without the protobuf headers, so this reads the few fields
// from the serialized ModelProto directly and lets the loader refuse a model
// whose settings would make the ids differ.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_LIB_TOKENIZER_SENTENCEPIECEMODELSPEC_H
#define PHIQ_LIB_TOKENIZER_SENTENCEPIECEMODELSPEC_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace phiq::tok {

struct SentencePieceModelSpec {
  // TrainerSpec (protobuf defaults where the field is absent).
  int modelType = 1; // 1 unigram, 2 BPE, 3 word, 4 char.
  bool byteFallback = false;
  bool treatWhitespaceAsSuffix = false;
  // NormalizerSpec.
  std::string normalizerName;
  bool hasCharsMap = false; // Non-empty precompiled_charsmap.
  bool addDummyPrefix = true;
  bool removeExtraWhitespaces = true;
  bool escapeWhitespaces = true;
  // Pieces of type USER_DEFINED, which SentencePiece matches verbatim.
  std::vector<std::string> userDefinedPieces;

  /// Reads the spec from a serialized ModelProto; errors name `file`.
  static llvm::Expected<SentencePieceModelSpec> parse(llvm::StringRef bytes,
                                                      llvm::StringRef file);
};

} // namespace phiq::tok

#endif // PHIQ_LIB_TOKENIZER_SENTENCEPIECEMODELSPEC_H
