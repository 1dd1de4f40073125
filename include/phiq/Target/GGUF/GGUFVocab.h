//===- GGUFVocab.h - A checkpoint's tokenizer as GGUF metadata --*- C++ -*-===//
//
// llama.cpp carries the tokenizer inside the GGUF file: the token strings,
// their SentencePiece scores or BPE merges, each token's type, the special
// ids and the chat template. This reads them from a Hugging Face folder.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_TARGET_GGUF_GGUFVOCAB_H
#define PHIQ_TARGET_GGUF_GGUFVOCAB_H

#include "llvm/ADT/StringRef.h"
#include "phiq/Target/GGUF/GGUFReader.h"

#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace phiq::gguf {

/// llama.cpp's token types (llama_token_type).
enum class TokenType : int32_t {
  Normal = 1,
  Unknown = 2,
  Control = 3,
  UserDefined = 4,
  Unused = 5,
  Byte = 6,
};

struct Vocab {
  /// "llama" (SentencePiece) or "gpt2" (byte-level BPE).
  std::string model;
  /// Pre-tokenizer name for gpt2 vocabularies ("gpt-4o"); "default" else.
  std::string pre = "default";
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<int32_t> types;
  /// BPE merges "a b" (gpt2 only).
  std::vector<std::string> merges;
  std::optional<int64_t> unknownId;
  bool addBos = false, addEos = false;
  std::optional<std::string> chatTemplate;
  /// Token ids by text, for the special ids llama.cpp wants by name.
  std::optional<int64_t> idOf(llvm::StringRef text) const;
};

/// Reads the tokenizer of `modelDir`, padded to `vocabSize` entries (the
/// embedding's row count) with unused [PADn] tokens.
llvm::Expected<Vocab> readVocab(llvm::StringRef modelDir, int64_t vocabSize);

/// Reads the tokenizer a GGUF file carries (its tokenizer.* keys), so a model
/// imported from GGUF is written back with the same vocabulary. Errors name
/// the file and the key that is missing or mistyped.
llvm::Expected<Vocab> readVocab(const GGUFFile &file, int64_t vocabSize);

} // namespace phiq::gguf

#endif // PHIQ_TARGET_GGUF_GGUFVOCAB_H
