//===- TokenizerBase.cpp - What both tokenizer kinds share ------*- C++ -*-===//
//
// encode/decode follow `tokenizers`' TokenizerImpl: encode cuts at added
// tokens and tokenizes each text run on its own (so a Prepend normalizer adds
// its "▁" per run); decode spells each id (added tokens first, unknown ids
// dropped, special ones optionally skipped) and runs the decoder over the
// whole list. Input that is not valid UTF-8 is first decoded lossily, as
// Python would have to before it could call the tokenizer.
//
//===----------------------------------------------------------------------===//
#include "TokenizerBase.h"
#include "Utf8.h"

#include "llvm/ADT/StringSet.h"

using namespace phiq::tok;
using llvm::StringRef;

TokenizerBase::TokenizerBase(TokenizerParts p) : parts(std::move(p)) {
  // transformers' len(): distinct spellings over the vocabulary and the
  // added tokens.
  numTokens = static_cast<int64_t>(parts.vocab.size());
  llvm::StringSet<> counted;
  for (const AddedToken &t : parts.added.all())
    if (!parts.vocab.idOf(t.content) && counted.insert(t.content).second)
      ++numTokens;
}

std::vector<int32_t> TokenizerBase::encode(StringRef text) const {
  std::string repaired;
  if (!utf8::isValid(text)) {
    repaired = utf8::decodeLossy(text);
    text = repaired;
  }
  std::vector<Segment> segments;
  parts.added.split(text, segments);
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 1);
  for (const Segment &s : segments) {
    if (s.isAddedToken())
      ids.push_back(s.id);
    else
      encodeText(s.text, ids);
  }
  return ids;
}

std::string TokenizerBase::decode(llvm::ArrayRef<int32_t> ids,
                                  bool skipSpecial) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    if (const AddedToken *t = parts.added.byId(id)) {
      if (!(skipSpecial && t->special))
        tokens.push_back(t->content);
      continue;
    }
    if (std::optional<StringRef> piece = parts.vocab.pieceOf(id)) {
      // A vocabulary piece spelled like a special added token is skipped
      // too: `tokenizers` decides by spelling.
      const AddedToken *t = parts.added.byContent(*piece);
      if (!(skipSpecial && t && t->special))
        tokens.push_back(piece->str());
    }
  }
  std::string text = parts.decoder.decode(std::move(tokens));
  if (!parts.cleanUpSpaces)
    return text;
  // transformers' clean_up_tokenization, in its order.
  static const std::pair<const char *, const char *> rules[] = {
      {" .", "."},     {" ?", "?"},     {" !", "!"},   {" ,", ","},
      {" ' ", "'"},    {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"},
      {" 've", "'ve"}, {" 're", "'re"}};
  for (const auto &[from, to] : rules) {
    std::string out;
    StringRef rest = text, pattern = from;
    for (size_t at; (at = rest.find(pattern)) != StringRef::npos;) {
      out += rest.take_front(at);
      out += to;
      rest = rest.drop_front(at + pattern.size());
    }
    out += rest;
    text = std::move(out);
  }
  return text;
}

std::optional<int32_t> TokenizerBase::tokenToId(StringRef piece) const {
  if (const AddedToken *t = parts.added.byContent(piece))
    return t->id;
  return parts.vocab.idOf(piece);
}

std::optional<StringRef> TokenizerBase::idToToken(int32_t id) const {
  if (const AddedToken *t = parts.added.byId(id))
    return StringRef(t->content);
  return parts.vocab.pieceOf(id);
}

int64_t TokenizerBase::size() const { return numTokens; }

llvm::Expected<std::string>
TokenizerBase::applyChatTemplate(llvm::ArrayRef<ChatMessage> messages,
                                 bool addGenerationPrompt) const {
  return parts.chat.render(messages, addGenerationPrompt);
}
