//===- FormatRegistryTest.cpp - Format table and argument checks -*- C++
//-*-===//
//
// The registry's facts are ggml's (type ids are what GGUF stores, block
// sizes decide every offset), and bad arguments must come back as errors
// that say what to do, never as crashes or silent garbage.
//
//===----------------------------------------------------------------------===//

#include "phiq/Quant/BlockFormat.h"

#include "llvm/Support/Error.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

using namespace phiq::quant;

namespace {

std::string errorText(llvm::Error err) {
  return err ? llvm::toString(std::move(err)) : std::string();
}

TEST(FormatRegistry, names_ids_and_block_geometry_are_ggmls) {
  struct Expected {
    BlockFormat format;
    const char *name;
    int type;
    int64_t elements, bytes;
    bool kQuant;
  };
  const Expected table[] = {
      {BlockFormat::F32, "F32", 0, 1, 4, false},
      {BlockFormat::F16, "F16", 1, 1, 2, false},
      {BlockFormat::BF16, "BF16", 30, 1, 2, false},
      {BlockFormat::Q8_0, "Q8_0", 8, 32, 34, false},
      {BlockFormat::Q4_0, "Q4_0", 2, 32, 18, false},
      {BlockFormat::Q4_1, "Q4_1", 3, 32, 20, false},
      {BlockFormat::Q5_0, "Q5_0", 6, 32, 22, false},
      {BlockFormat::Q5_1, "Q5_1", 7, 32, 24, false},
      {BlockFormat::Q2_K, "Q2_K", 10, 256, 84, true},
      {BlockFormat::Q3_K, "Q3_K", 11, 256, 110, true},
      {BlockFormat::Q4_K, "Q4_K", 12, 256, 144, true},
      {BlockFormat::Q5_K, "Q5_K", 13, 256, 176, true},
      {BlockFormat::Q6_K, "Q6_K", 14, 256, 210, true},
      {BlockFormat::IQ4_NL, "IQ4_NL", 20, 32, 18, false},
  };
  ASSERT_EQ(allBlockFormats().size(), std::size(table));
  for (const Expected &e : table) {
    const FormatInfo &info = formatInfo(e.format);
    EXPECT_EQ(info.name, e.name);
    EXPECT_EQ(info.ggmlType, e.type) << e.name;
    EXPECT_EQ(info.blockElements, e.elements) << e.name;
    EXPECT_EQ(info.blockBytes, e.bytes) << e.name;
    EXPECT_EQ(info.kQuant, e.kQuant) << e.name;
  }
}

TEST(FormatRegistry, parses_names_case_insensitively) {
  EXPECT_EQ(parseBlockFormat("q4_k"), BlockFormat::Q4_K);
  EXPECT_EQ(parseBlockFormat("Q4_K"), BlockFormat::Q4_K);
  EXPECT_EQ(parseBlockFormat("iq4_nl"), BlockFormat::IQ4_NL);
  EXPECT_EQ(parseBlockFormat("bf16"), BlockFormat::BF16);
  EXPECT_EQ(parseBlockFormat("q4"), std::nullopt);
  EXPECT_EQ(parseBlockFormat(""), std::nullopt);
  for (BlockFormat format : allBlockFormats())
    EXPECT_EQ(parseBlockFormat(formatInfo(format).name), format);
}

TEST(FormatRegistry, row_bytes_counts_whole_blocks) {
  EXPECT_EQ(*rowBytes(BlockFormat::Q4_K, 512), 288);
  EXPECT_EQ(*rowBytes(BlockFormat::Q8_0, 64), 68);
  EXPECT_EQ(*rowBytes(BlockFormat::F16, 3), 6);
  EXPECT_EQ(*rowBytes(BlockFormat::IQ4_NL, 32), 18);
}

TEST(FormatRegistry, rejects_row_length_not_a_multiple_of_the_block) {
  llvm::Expected<int64_t> bytes = rowBytes(BlockFormat::Q4_K, 384);
  ASSERT_FALSE(bytes);
  std::string message = llvm::toString(bytes.takeError());
  EXPECT_NE(message.find("blocks of 256"), std::string::npos) << message;
  EXPECT_NE(message.find("384"), std::string::npos) << message;
  EXPECT_NE(message.find("pad the row"), std::string::npos) << message;

  std::vector<float> src(2 * 48, 1.0f);
  std::vector<uint8_t> dst(1000);
  std::string quantizeMessage =
      errorText(quantize(BlockFormat::Q4_0, src, 2, 48, dst));
  EXPECT_NE(quantizeMessage.find("blocks of 32"), std::string::npos)
      << quantizeMessage;
  EXPECT_FALSE(rowBytes(BlockFormat::Q8_0, 0));
}

TEST(FormatRegistry, rejects_buffers_of_the_wrong_size) {
  std::vector<float> src(256, 0.5f);
  std::vector<uint8_t> dst(143);
  std::string message =
      errorText(quantize(BlockFormat::Q4_K, src, 1, 256, dst));
  EXPECT_NE(message.find("needs 144 bytes"), std::string::npos) << message;
  std::vector<uint8_t> right(144);
  message = errorText(quantize(BlockFormat::Q4_K, src, 2, 256, right));
  EXPECT_NE(message.find("needs 512 floats"), std::string::npos) << message;
}

TEST(FormatRegistry, rejects_non_finite_inputs_with_their_position) {
  std::vector<float> src(2 * 32, 0.25f);
  src[32 + 5] = NAN;
  std::vector<uint8_t> dst(2 * 18);
  std::string message = errorText(quantize(BlockFormat::Q4_0, src, 2, 32, dst));
  EXPECT_NE(message.find("row 1 column 5"), std::string::npos) << message;
  src[32 + 5] = INFINITY;
  EXPECT_FALSE(
      errorText(quantize(BlockFormat::IQ4_NL, src, 2, 32, dst)).empty());
  // The float formats store whatever they are given.
  std::vector<uint8_t> halves(2 * 32 * 2);
  EXPECT_TRUE(
      errorText(quantize(BlockFormat::F16, src, 2, 32, halves)).empty());
}

TEST(FormatRegistry, rejects_negative_or_non_finite_importance) {
  std::vector<float> src(256, 0.5f), importance(256, 1.0f);
  std::vector<uint8_t> dst(144);
  importance[7] = -1.0f;
  std::string message = errorText(
      quantize(BlockFormat::Q4_K, src, 1, 256, dst, importance.data()));
  EXPECT_NE(message.find("importance[7]"), std::string::npos) << message;
  importance[7] = NAN;
  EXPECT_FALSE(errorText(quantize(BlockFormat::Q4_K, src, 1, 256, dst,
                                  importance.data()))
                   .empty());
}

TEST(FormatRegistry, zero_rows_is_an_empty_matrix) {
  std::vector<float> src;
  std::vector<uint8_t> dst;
  EXPECT_TRUE(errorText(quantize(BlockFormat::Q6_K, src, 0, 256, dst)).empty());
}

} // namespace
