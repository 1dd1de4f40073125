//===- Tokenizer.h - Checkpoint tokenizers and chat templates ---*- C++ -*-===//
//
// Text <-> token ids the way the checkpoint's own tokenizer does it
// (transformers with tokenizer.json), for the two kinds Phi models ship:
// SentencePiece BPE (`tokenizer.model`, Phi-3/3.5, PhiMoE) and byte-level
// BPE (`tokenizer.json`, Phi-4-mini), both with added special tokens.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_TOKENIZER_TOKENIZER_H
#define PHIQ_TOKENIZER_TOKENIZER_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace phiq::tok {

struct ChatMessage {
  std::string role; // "system", "user", "assistant"
  std::string content;
  /// Tool definitions (JSON text) of a system message; only the Phi-4 style
  /// template renders them (between `<|tool|>` and `<|/tool|>`).
  std::optional<std::string> tools = std::nullopt;
};

class Tokenizer {
public:
  virtual ~Tokenizer();

  /// Loads the tokenizer of a Hugging Face model folder: tokenizer.model
  /// (SentencePiece) when the folder's tokenizer.json says its model is a
  /// SentencePiece-style BPE with byte fallback and tokenizer.model exists,
  /// byte-level BPE from tokenizer.json otherwise; added tokens and the chat
  /// template from tokenizer_config.json. Errors name the file and field.
  static llvm::Expected<std::unique_ptr<Tokenizer>>
  load(llvm::StringRef modelDir);

  /// Ids for `text` as transformers' tok(text, add_special_tokens=False)
  /// gives them: added/special tokens in the text are recognised.
  virtual std::vector<int32_t> encode(llvm::StringRef text) const = 0;

  /// Text for `ids` as transformers' tok.decode(ids) gives it (special
  /// tokens kept unless skipSpecial).
  virtual std::string decode(llvm::ArrayRef<int32_t> ids,
                             bool skipSpecial = false) const = 0;

  /// Id of a token spelled exactly `piece` (added tokens included).
  virtual std::optional<int32_t> tokenToId(llvm::StringRef piece) const = 0;

  /// Spelling of `id` (added tokens included), as transformers'
  /// convert_ids_to_tokens gives it; std::nullopt for an unknown id.
  virtual std::optional<llvm::StringRef> idToToken(int32_t id) const = 0;

  /// Number of ids the tokenizer knows (base vocabulary + added tokens).
  virtual int64_t size() const = 0;

  /// Renders messages with the checkpoint's chat template
  /// (apply_chat_template(tokenize=False, add_generation_prompt=...)).
  /// Fails if the folder's template is not one this library knows.
  virtual llvm::Expected<std::string>
  applyChatTemplate(llvm::ArrayRef<ChatMessage> messages,
                    bool addGenerationPrompt) const = 0;
};

} // namespace phiq::tok

#endif // PHIQ_TOKENIZER_TOKENIZER_H
