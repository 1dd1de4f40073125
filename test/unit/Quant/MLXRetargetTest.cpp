//===- MLXRetargetTest.cpp - MLX groups as Q4_1/Q5_1 and MatMulNBits -*- C++ -*-=//
//
// The re-encodings of MLXRetarget.h against the straightforward reference:
// the MLX row decoded by its own dequantizer. Q4_1 / Q5_1 must decode to
// the same floats bit for bit; MatMulNBits' (q - zp) * scale to within f32
// rounding; and the cases with no exact form must fail with the group.
//
//===----------------------------------------------------------------------===//

#include "phiq/Quant/BlockFormat.h"
#include "phiq/Quant/MLXRetarget.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

using namespace phiq::quant;

namespace {

struct Quantized {
  std::vector<uint8_t> bytes;
  std::vector<float> decoded;
};

Quantized quantizeRows(BlockFormat format, int64_t rows, int64_t cols,
                       float spread, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, spread);
  std::vector<float> w(size_t(rows * cols));
  for (float &v : w)
    v = normal(rng);
  Quantized q;
  q.bytes.resize(size_t(rows * llvm::cantFail(rowBytes(format, cols))));
  llvm::cantFail(quantize(format, w, rows, cols, q.bytes));
  q.decoded.resize(w.size());
  dequantize(format, q.bytes, rows, cols, q.decoded);
  return q;
}

void expectExactInGGUF(BlockFormat mlx, BlockFormat gguf) {
  const int64_t rows = 3, cols = 256;
  Quantized q = quantizeRows(mlx, rows, cols, 0.02f, 7);
  MLXAffineLayout layout = *mlxAffineLayout(mlx);
  ASSERT_EQ(ggufFormatForMLX(layout), gguf);
  std::vector<uint8_t> blocks(
      size_t(rows * llvm::cantFail(rowBytes(gguf, cols))));
  llvm::cantFail(mlxToGGUFBlocks(layout, q.bytes, rows, cols, blocks));
  std::vector<float> decoded(size_t(rows * cols));
  dequantize(gguf, blocks, rows, cols, decoded);
  for (size_t i = 0; i < decoded.size(); ++i)
    ASSERT_EQ(decoded[i], q.decoded[i]) << "element " << i;
}

TEST(MLXRetarget, FourBitGroupsAreQ4_1) {
  expectExactInGGUF(BlockFormat::MLX4_G32_F16, BlockFormat::Q4_1);
  expectExactInGGUF(BlockFormat::MLX4_G64_BF16, BlockFormat::Q4_1);
  expectExactInGGUF(BlockFormat::MLX4_G128_F16, BlockFormat::Q4_1);
}

TEST(MLXRetarget, FiveBitGroupsAreQ5_1) {
  expectExactInGGUF(BlockFormat::MLX5_G32_BF16, BlockFormat::Q5_1);
  expectExactInGGUF(BlockFormat::MLX5_G64_F16, BlockFormat::Q5_1);
}

TEST(MLXRetarget, ConstantGroupWithTinyScaleIsExact) {
  // A zero row (a padding token's embedding): mx.quantize's scale is
  // -1e-7, no f16 value, but every code is 0, so d = 0 decodes the same.
  for (BlockFormat format :
       {BlockFormat::MLX4_G64_BF16, BlockFormat::MLX5_G32_F32}) {
    std::vector<float> zeros(64, 0.0f);
    std::vector<uint8_t> bytes(
        size_t(llvm::cantFail(rowBytes(format, 64))));
    llvm::cantFail(quantize(format, zeros, 1, 64, bytes));
    BlockFormat gguf = *ggufFormatForMLX(*mlxAffineLayout(format));
    std::vector<uint8_t> blocks(size_t(llvm::cantFail(rowBytes(gguf, 64))));
    llvm::cantFail(
        mlxToGGUFBlocks(*mlxAffineLayout(format), bytes, 1, 64, blocks));
    std::vector<float> mlx(64), ours(64);
    dequantize(format, bytes, 1, 64, mlx);
    dequantize(gguf, blocks, 1, 64, ours);
    for (size_t i = 0; i < 64; ++i)
      ASSERT_EQ(std::memcmp(&mlx[i], &ours[i], 4), 0) << "element " << i;
  }
}

TEST(MLXRetarget, OtherWidthsHaveNoGGUFForm) {
  EXPECT_FALSE(ggufFormatForMLX(*mlxAffineLayout(BlockFormat::MLX8_G64_F16)));
  EXPECT_FALSE(ggufFormatForMLX(*mlxAffineLayout(BlockFormat::MLX3_G64_F16)));
}

TEST(MLXRetarget, ScaleOutsideF16IsRefusedWithItsGroup) {
  // bf16 and f32 scales of weights ~1e6 exceed f16's range (65504).
  for (BlockFormat format :
       {BlockFormat::MLX4_G64_BF16, BlockFormat::MLX4_G64_F32}) {
    Quantized q = quantizeRows(format, 2, 128, 1e6f, 3);
    std::vector<uint8_t> blocks(size_t(2 * 4 * 20));
    llvm::Error e = mlxToGGUFBlocks(*mlxAffineLayout(format), q.bytes, 2, 128,
                                    blocks);
    ASSERT_TRUE(bool(e));
    EXPECT_NE(llvm::toString(std::move(e))
                  .find("row 0, group 0: scale"),
              std::string::npos);
  }
  // f32 scales with more precision than f16 holds.
  Quantized q = quantizeRows(BlockFormat::MLX4_G32_F32, 1, 32, 0.02f, 5);
  std::vector<uint8_t> blocks(20);
  EXPECT_TRUE(bool(llvm::errorToBool(mlxToGGUFBlocks(
      *mlxAffineLayout(BlockFormat::MLX4_G32_F32), q.bytes, 1, 32, blocks))));
}

TEST(MLXRetarget, FourBitGroupsAreMatMulNBitsWithFloatZeroPoints) {
  const int64_t rows = 4, cols = 128;
  for (BlockFormat format :
       {BlockFormat::MLX4_G64_BF16, BlockFormat::MLX4_G32_F16,
        BlockFormat::MLX4_G128_F32}) {
    MLXAffineLayout layout = *mlxAffineLayout(format);
    Quantized q = quantizeRows(format, rows, cols, 0.02f, 11);
    MLXNBits nbits =
        llvm::cantFail(mlxToMatMulNBits(layout, q.bytes, rows, cols));
    const int64_t groups = cols / layout.groupSize;
    ASSERT_EQ(nbits.codes.size(), size_t(rows * cols / 2));
    ASSERT_EQ(nbits.scales.size(), size_t(rows * groups));
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) {
        const size_t i = size_t(r * cols + c);
        const uint8_t code = (nbits.codes[i / 2] >> (4 * (i % 2))) & 15;
        const size_t g = size_t(r * groups + c / layout.groupSize);
        const float w = (float(code) - nbits.zeroPoints[g]) * nbits.scales[g];
        // Equal up to the rounding of zp (and of the product).
        EXPECT_NEAR(w, q.decoded[i], 1e-6f * (std::fabs(q.decoded[i]) + 0.02f))
            << "row " << r << " col " << c;
      }
  }
}

TEST(MLXRetarget, EightBitGroupsHaveNoFloatZeroPointForm) {
  Quantized q = quantizeRows(BlockFormat::MLX8_G64_F16, 1, 64, 0.02f, 1);
  auto nbits = mlxToMatMulNBits(*mlxAffineLayout(BlockFormat::MLX8_G64_F16),
                                q.bytes, 1, 64);
  ASSERT_FALSE(bool(nbits));
  EXPECT_NE(llvm::toString(nbits.takeError()).find("4 bits only"),
            std::string::npos);
}

} // namespace
