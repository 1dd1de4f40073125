//===- SentencePieceBPE.h - BPE via libsentencepiece ------------*- C++ -*-===//
//
// Phi-3/3.5 (and PhiMoE) ship a SentencePiece BPE model with byte fallback.
// Text runs between added tokens are encoded by libsentencepiece from
// tokenizer.model; the loader first checks that the model's settings and
// pieces make those ids equal to the ones transformers computes from
// tokenizer.json (Prepend "▁" + Replace " " -> "▁", BPE with byte fallback).
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_LIB_TOKENIZER_SENTENCEPIECEBPE_H
#define PHIQ_LIB_TOKENIZER_SENTENCEPIECEBPE_H

#include "JsonFile.h"
#include "TokenizerBase.h"

#include <memory>

namespace sentencepiece {
class SentencePieceProcessor;
} // namespace sentencepiece

namespace phiq::tok {

class SentencePieceBPE final : public TokenizerBase {
public:
  /// Loads `modelPath` (tokenizer.model) for the pipeline `tokenizerJson`
  /// describes; errors name the file and the setting that differs.
  static llvm::Expected<std::unique_ptr<Tokenizer>>
  create(const JsonFile &tokenizerJson, llvm::StringRef modelPath,
         TokenizerParts parts);

  ~SentencePieceBPE() override;

private:
  explicit SentencePieceBPE(TokenizerParts parts);

  void encodeText(llvm::StringRef text,
                  std::vector<int32_t> &ids) const override;
  /// Appends libsentencepiece's ids for `text`.
  void encodeRun(llvm::StringRef text, std::vector<int32_t> &ids) const;

  std::unique_ptr<sentencepiece::SentencePieceProcessor> processor;
  /// True when no piece has "▁" after another character, so BPE never
  /// merges across the start of a word and long text may be encoded word
  /// group by word group (see encodeText).
  bool wordsAreIndependent = false;
};

} // namespace phiq::tok

#endif // PHIQ_LIB_TOKENIZER_SENTENCEPIECEBPE_H
