//===- Decoder.h - tokenizer.json decoder pipeline --------------*- C++ -*-===//
//
// Ids become text the way tokenizer.json's `decoder` says: a chain of steps,
// each mapping the list of token strings to a new list (Replace "▁" by " ",
// gather <0xNN> byte tokens, fuse, strip one leading space; or the byte-level
// alphabet back to bytes). Interpreting the file's chain, instead of
// hard-coding one per model kind, keeps decode identical to transformers for
// any combination of these steps; other step types are load errors.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_LIB_TOKENIZER_DECODER_H
#define PHIQ_LIB_TOKENIZER_DECODER_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"

#include <string>
#include <vector>

namespace phiq::tok {

class Decoder {
public:
  /// Reads the `decoder` value of `file`; null or absent means no decoder
  /// (tokens are joined with spaces, as `tokenizers` does).
  static llvm::Expected<Decoder> fromJson(llvm::StringRef file,
                                          const llvm::json::Value *decoder);

  /// The text of `tokens` (token spellings, special tokens included).
  std::string decode(std::vector<std::string> tokens) const;

private:
  enum class Kind { Replace, ByteFallback, Fuse, Strip, ByteLevel };
  struct Step {
    Kind kind = Kind::Fuse;
    std::string pattern; // Replace: the string replaced.
    std::string content; // Replace: the replacement; Strip: the character.
    size_t start = 0;    // Strip: leading characters to remove at most.
    size_t stop = 0;     // Strip: trailing characters to remove at most.
  };

  llvm::Error addSteps(llvm::StringRef file, const llvm::json::Value &value,
                       const std::string &field);
  static std::vector<std::string> apply(const Step &step,
                                        std::vector<std::string> tokens);

  std::vector<Step> steps;
  bool present = false;
};

} // namespace phiq::tok

#endif // PHIQ_LIB_TOKENIZER_DECODER_H
