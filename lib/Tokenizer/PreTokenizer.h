//===- PreTokenizer.h - Byte-level BPE word splitting -----------*- C++ -*-===//
//
// Byte-level BPE never merges across the word boundaries that
// tokenizer.json's pre_tokenizer draws with a Unicode regex (o200k's for
// Phi-4-mini, GPT-2's for ByteLevel(use_regex=true)). This file reads that
// pipeline and cuts text the same way, with PCRE2 in UTF + UCP mode standing
// in for the Oniguruma engine the `tokenizers` library uses.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_LIB_TOKENIZER_PRETOKENIZER_H
#define PHIQ_LIB_TOKENIZER_PRETOKENIZER_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <memory>
#include <string>
#include <vector>

namespace phiq::tok {

/// One compiled pattern that cuts text into matches and the gaps between
/// them, all kept ("Isolated" behaviour).
class RegexSplitter {
public:
  /// Compiles `pattern`; errors name `file` and `field`.
  static llvm::Expected<RegexSplitter>
  compile(llvm::StringRef pattern, llvm::StringRef file, llvm::StringRef field);

  /// Appends the pieces of `text` (valid UTF-8) to `out`.
  void split(llvm::StringRef text, std::vector<llvm::StringRef> &out) const;

private:
  struct Code;
  std::shared_ptr<const Code> code;
};

/// The pre_tokenizer of a byte-level BPE tokenizer.json: regex splits
/// applied in order, then the byte-level alphabet (which the BPE model
/// applies, see ByteLevelBPE).
class PreTokenizer {
public:
  /// Reads tokenizer.json's `pre_tokenizer` value. It must contain a
  /// ByteLevel step (add_prefix_space=false); Split steps must be regex
  /// splits with behaviour Isolated.
  static llvm::Expected<PreTokenizer> fromJson(llvm::StringRef file,
                                               const llvm::json::Value *value);

  /// Appends the words of `text` (valid UTF-8) to `out`.
  void split(llvm::StringRef text, std::vector<llvm::StringRef> &out) const;

private:
  llvm::Error addSteps(llvm::StringRef file, const llvm::json::Value &value,
                       const std::string &field);

  std::vector<RegexSplitter> splitters;
  bool sawByteLevel = false;
};

} // namespace phiq::tok

#endif // PHIQ_LIB_TOKENIZER_PRETOKENIZER_H
