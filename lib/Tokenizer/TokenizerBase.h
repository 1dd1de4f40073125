//===- TokenizerBase.h - What both tokenizer kinds share --------*- C++ -*-===//
//
// SentencePiece BPE and byte-level BPE differ only in how a run of ordinary
// text becomes ids. Cutting text at added tokens, mapping ids back to
// spellings, the decoder chain and the chat template are the same for both
// and live in this base class; subclasses implement encodeText.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_LIB_TOKENIZER_TOKENIZERBASE_H
#define PHIQ_LIB_TOKENIZER_TOKENIZERBASE_H

#include "AddedTokens.h"
#include "ChatTemplate.h"
#include "Decoder.h"
#include "Vocab.h"

#include "phiq/Tokenizer/Tokenizer.h"

namespace phiq::tok {

/// The parts of a tokenizer read from the folder's JSON files.
struct TokenizerParts {
  Vocab vocab;
  AddedVocabulary added;
  Decoder decoder;
  ChatTemplate chat = ChatTemplate::missing("");
  /// transformers' clean_up_tokenization_spaces.
  bool cleanUpSpaces = false;
};

class TokenizerBase : public Tokenizer {
public:
  explicit TokenizerBase(TokenizerParts parts);

  std::vector<int32_t> encode(llvm::StringRef text) const final;
  std::string decode(llvm::ArrayRef<int32_t> ids,
                     bool skipSpecial = false) const final;
  std::optional<int32_t> tokenToId(llvm::StringRef piece) const final;
  std::optional<llvm::StringRef> idToToken(int32_t id) const final;
  int64_t size() const final;
  llvm::Expected<std::string>
  applyChatTemplate(llvm::ArrayRef<ChatMessage> messages,
                    bool addGenerationPrompt) const final;

protected:
  /// Appends the ids of `text`, valid UTF-8 that contains no added token.
  virtual void encodeText(llvm::StringRef text,
                          std::vector<int32_t> &ids) const = 0;

  TokenizerParts parts;

private:
  int64_t numTokens;
};

} // namespace phiq::tok

#endif // PHIQ_LIB_TOKENIZER_TOKENIZERBASE_H
