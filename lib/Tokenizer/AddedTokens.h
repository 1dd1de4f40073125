//===- AddedTokens.h - Added tokens and text splitting ----------*- C++ -*-===//
//
// Special tokens such as `<|user|>` never go through the BPE model: the text
// is first cut at every occurrence of an added token, and only the pieces in
// between are tokenized. How the cut is made decides the ids around it
// (`<|end|>` with rstrip=true swallows the "\n" after it), so this file
// reproduces the `tokenizers` library's rules: leftmost-longest matching,
// lstrip/rstrip over Unicode whitespace, tokens with normalized=false first.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_LIB_TOKENIZER_ADDEDTOKENS_H
#define PHIQ_LIB_TOKENIZER_ADDEDTOKENS_H

#include "JsonFile.h"
#include "Vocab.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace phiq::tok {

struct AddedToken {
  int32_t id = -1;
  std::string content;
  bool singleWord = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
  bool special = false;
};

/// A piece of input text: an added token (id >= 0) or text to tokenize.
struct Segment {
  llvm::StringRef text;
  int32_t id = -1;
  bool isAddedToken() const { return id >= 0; }
};

/// Finds one group of added tokens in text.
class AddedTokenMatcher {
public:
  AddedTokenMatcher() { startsToken.fill(false); }
  explicit AddedTokenMatcher(const std::vector<const AddedToken *> &tokens);

  /// Appends the segments of `text` to `out`: text runs and matched tokens
  /// (with the whitespace their lstrip/rstrip flags absorb).
  void split(llvm::StringRef text, std::vector<Segment> &out) const;

private:
  std::vector<const AddedToken *> tokens; // Longest first.
  std::array<bool, 256> startsToken;
};

/// The added tokens of a tokenizer: those of tokenizer.json's `added_tokens`
/// plus entries of tokenizer_config.json (`added_tokens_decoder`, the named
/// special tokens) that tokenizer.json lacks, which transformers adds the
/// same way when it loads the folder.
class AddedVocabulary {
public:
  static llvm::Expected<AddedVocabulary>
  fromFiles(const JsonFile &tokenizerJson, const JsonFile *config,
            const Vocab &vocab);

  // The matchers point into `tokens`; moving the vector keeps its storage,
  // copying would not.
  AddedVocabulary() = default;
  AddedVocabulary(AddedVocabulary &&) = default;
  AddedVocabulary &operator=(AddedVocabulary &&) = default;
  AddedVocabulary(const AddedVocabulary &) = delete;
  AddedVocabulary &operator=(const AddedVocabulary &) = delete;

  /// Cuts `text` at added tokens: first those with normalized=false, then,
  /// inside the remaining text, those with normalized=true.
  void split(llvm::StringRef text, std::vector<Segment> &out) const;

  const AddedToken *byId(int32_t id) const {
    auto it = idToIndex.find(id);
    return it == idToIndex.end() ? nullptr : &tokens[it->second];
  }
  const AddedToken *byContent(llvm::StringRef content) const {
    auto it = contentToIndex.find(content);
    return it == contentToIndex.end() ? nullptr : &tokens[it->second];
  }
  llvm::ArrayRef<AddedToken> all() const { return tokens; }

private:
  void buildMatchers();

  std::vector<AddedToken> tokens;
  llvm::DenseMap<int32_t, size_t> idToIndex;
  llvm::StringMap<size_t> contentToIndex;
  AddedTokenMatcher rawMatcher;        // normalized=false
  AddedTokenMatcher normalizedMatcher; // normalized=true
};

} // namespace phiq::tok

#endif // PHIQ_LIB_TOKENIZER_ADDEDTOKENS_H
