//===- EdgeCaseTest.cpp - Tokenizer corner cases ----------------*- C++ -*-===//
//
// Behaviour the reference strings do not reach but transformers defines:
// how undecodable bytes become U+FFFD (per byte for byte fallback, per
// maximal subpart for byte-level), ids outside the vocabulary, invalid UTF-8
// input, which whitespace an rstrip token swallows, per-run normalization
// around added tokens, and exact round trips over a real corpus.
//
//===----------------------------------------------------------------------===//
#include "TestUtil.h"

#include <algorithm>

using namespace phiq::tok;
using namespace phiq::tok::test;

namespace {

const std::string kReplacement = "\xEF\xBF\xBD"; // U+FFFD

std::unique_ptr<Tokenizer> load(llvm::StringRef model) {
  auto tok = Tokenizer::load(modelDir(model));
  if (!tok) {
    ADD_FAILURE() << llvm::toString(tok.takeError());
    return nullptr;
  }
  return std::move(*tok);
}

std::vector<int32_t> concat(std::initializer_list<std::vector<int32_t>> parts) {
  std::vector<int32_t> all;
  for (const auto &p : parts)
    all.insert(all.end(), p.begin(), p.end());
  return all;
}

TEST(TokenizerEdgeCases, ByteFallbackDecodeReplacesEachInvalidByte) {
  auto tok = load("phi35-tiny");
  ASSERT_TRUE(tok);
  int32_t e6 = *tok->tokenToId("<0xE6>"), x96 = *tok->tokenToId("<0x96>");
  int32_t c3 = *tok->tokenToId("<0xC3>"), a9 = *tok->tokenToId("<0xA9>");
  // A truncated 3-byte sequence: one U+FFFD per byte token.
  EXPECT_EQ(tok->decode({e6, x96}), kReplacement + kReplacement);
  // Byte tokens that together form a character decode to it.
  EXPECT_EQ(tok->decode({c3, a9}), "\xC3\xA9");
}

TEST(TokenizerEdgeCases, ByteLevelDecodeReplacesMaximalInvalidSubparts) {
  auto tok = load("phi4-mini-tiny");
  ASSERT_TRUE(tok);
  // Bytes E6 96 (spelled "æ", "ĸ"): one truncated sequence, one U+FFFD.
  int32_t e6 = *tok->tokenToId("\xC3\xA6"), x96 = *tok->tokenToId("\xC4\xB8");
  EXPECT_EQ(tok->decode({e6, x96}), kReplacement);
  // C3 followed by "(": the lead byte alone is replaced.
  int32_t c3 = *tok->tokenToId("\xC3\x83"), paren = *tok->tokenToId("(");
  EXPECT_EQ(tok->decode({c3, paren}), kReplacement + "(");
}

TEST(TokenizerEdgeCases, DecodeDropsIdsOutsideTheVocabulary) {
  for (const char *model : {"phi35-tiny", "phi4-mini-tiny"}) {
    auto tok = load(model);
    ASSERT_TRUE(tok);
    std::vector<int32_t> ids = tok->encode("Hello world");
    // Padded embedding rows past len(tokenizer), and negative ids.
    int32_t padded = static_cast<int32_t>(tok->size()) + 3;
    EXPECT_FALSE(tok->idToToken(padded).has_value());
    EXPECT_FALSE(tok->idToToken(-1).has_value());
    std::vector<int32_t> noisy = concat({{padded}, ids, {-1}});
    EXPECT_EQ(tok->decode(noisy), "Hello world") << model;
  }
}

TEST(TokenizerEdgeCases, EncodeReadsInvalidUtf8AsReplacementCharacters) {
  for (const char *model : {"phi35-tiny", "phi4-mini-tiny"}) {
    auto tok = load(model);
    ASSERT_TRUE(tok);
    EXPECT_EQ(tok->encode("a\xFF b\xE6\x96"),
              tok->encode("a" + kReplacement + " b" + kReplacement))
        << model;
  }
}

TEST(TokenizerEdgeCases, RstripSwallowsUnicodeWhitespaceOnly) {
  auto tok = load("phi35-tiny");
  ASSERT_TRUE(tok);
  int32_t end = *tok->tokenToId("<|end|>");
  // NBSP, thin space, newline and space are White_Space...
  EXPECT_EQ(tok->encode("<|end|>\xC2\xA0\xE2\x80\x89\n x"),
            concat({{end}, tok->encode("x")}));
  // ...a zero-width space is not, so it stays in the text.
  EXPECT_EQ(tok->encode("<|end|>\xE2\x80\x8Bx"),
            concat({{end}, tok->encode("\xE2\x80\x8Bx")}));
  // <|endoftext|> has rstrip=false: the space after it is text.
  int32_t eot = *tok->tokenToId("<|endoftext|>");
  EXPECT_EQ(tok->encode("<|endoftext|> x"), concat({{eot}, tok->encode(" x")}));
}

TEST(TokenizerEdgeCases, TextBetweenAddedTokensIsNormalizedPerRun) {
  auto tok = load("phi35-tiny");
  ASSERT_TRUE(tok);
  int32_t eot = *tok->tokenToId("<|endoftext|>");
  // Each run gets its own "▁" prefix, as tokenizers' Prepend normalizer
  // applies per run.
  EXPECT_EQ(tok->encode("a<|endoftext|>b"),
            concat({tok->encode("a"), {eot}, tok->encode("b")}));
  // An unfinished special token is plain text.
  std::vector<int32_t> unfinished = tok->encode("<|endoftext|");
  EXPECT_EQ(std::count(unfinished.begin(), unfinished.end(), eot), 0);
  EXPECT_EQ(tok->decode(unfinished), "<|endoftext|");
}

TEST(TokenizerEdgeCases, TokenToIdKnowsAddedByteAndMissingPieces) {
  auto tok = load("phi35-tiny");
  ASSERT_TRUE(tok);
  EXPECT_EQ(tok->tokenToId("<0x0A>"), std::optional<int32_t>(13));
  EXPECT_EQ(tok->tokenToId("<|user|>"), std::optional<int32_t>(3510));
  EXPECT_EQ(tok->tokenToId("<s>"), std::optional<int32_t>(1));
  EXPECT_FALSE(tok->tokenToId("no such piece").has_value());
}

TEST(TokenizerEdgeCases, RoundTripsTheEvalCorpusExactly) {
  std::string corpus = PHIQ_CORPUS_DIR;
  if (!llvm::sys::fs::exists(corpus + "/eval.txt"))
    GTEST_SKIP() << "no corpus at " << corpus;
  std::string text = readFile(corpus + "/eval.txt");
  for (const char *model : {"phi35-tiny", "phi4-mini-tiny"}) {
    auto tok = load(model);
    ASSERT_TRUE(tok);
    EXPECT_TRUE(tok->decode(tok->encode(text)) == text) << model;
  }
}

TEST(TokenizerEdgeCases, EncodesLongRunsOfOneCharacter) {
  // One pre-token (byte-level) or one SentencePiece run of 200k bytes. A
  // quadratic merge loop would take minutes here and hit ctest's per-test
  // timeout; speed itself is measured in bench/, not asserted.
  for (const char *model : {"phi35-tiny", "phi4-mini-tiny"}) {
    auto tok = load(model);
    ASSERT_TRUE(tok);
    for (char c : {'a', ' ', '='}) {
      std::string text(200000, c);
      std::vector<int32_t> ids = tok->encode(text);
      EXPECT_EQ(tok->decode(ids), text) << model << " '" << c << "'";
    }
  }
}

} // namespace
