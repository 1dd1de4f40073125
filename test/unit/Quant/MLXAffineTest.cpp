//===- MLXAffineTest.cpp - Apple MLX affine groups --------------*- C++ -*-===//
//
// The MLX formats: registry facts, the group layout ({scale; bias; codes as
// an LSB-first bit stream}), mx.quantize's rounding rules on hand-computed
// groups (the expected words below were worked out by hand from the rules
// in MLXAffine.cpp; test/e2e/mlx-quantize-bytes.test compares whole
// tensors with mx.quantize itself), and round-trip error bounds.
//
//===----------------------------------------------------------------------===//

#include "phiq/Quant/BlockFormat.h"
#include "phiq/Quant/Fp16.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

using namespace phiq::quant;

namespace {

std::vector<uint8_t> quantizeOne(BlockFormat format,
                                 const std::vector<float> &row) {
  std::vector<uint8_t> out(
      size_t(llvm::cantFail(rowBytes(format, int64_t(row.size())))));
  llvm::cantFail(quantize(format, row, 1, int64_t(row.size()), out));
  return out;
}

float f32At(const std::vector<uint8_t> &bytes, size_t offset) {
  float f;
  std::memcpy(&f, bytes.data() + offset, 4);
  return f;
}

uint32_t u32At(const std::vector<uint8_t> &bytes, size_t offset) {
  uint32_t w;
  std::memcpy(&w, bytes.data() + offset, 4);
  return w;
}

TEST(MLXAffine, registry_names_layouts_and_sizes) {
  ASSERT_EQ(mlxAffineFormats().size(), 6u * 3u * 3u);
  for (BlockFormat format : mlxAffineFormats()) {
    const FormatInfo &info = formatInfo(format);
    std::optional<MLXAffineLayout> l = mlxAffineLayout(format);
    ASSERT_TRUE(l) << info.name.str();
    EXPECT_EQ(info.ggmlType, -1) << "GGUF cannot store " << info.name.str();
    EXPECT_FALSE(matMulNBitsLayout(format)) << info.name.str();
    EXPECT_EQ(info.blockElements, l->groupSize);
    EXPECT_EQ(info.blockBytes, l->blockBytes());
    // MLX's uint32 rows: every group is a whole number of words.
    EXPECT_EQ(l->codeBytes() % 4, 0) << info.name.str();
    EXPECT_EQ(mlxAffineFormat(l->bits, l->groupSize, l->scaleType), format);
    EXPECT_EQ(parseBlockFormat(info.name.lower()), format);
  }
  EXPECT_EQ(matMulNBitsFormats().size(), 28u);
  EXPECT_FALSE(mlxAffineLayout(BlockFormat::Q4_1));
  EXPECT_FALSE(mlxAffineLayout(BlockFormat::MNB4_G64_ASYM));
  EXPECT_FALSE(mlxAffineFormat(7, 64, MLXScaleType::BF16));
  EXPECT_FALSE(mlxAffineFormat(4, 16, MLXScaleType::BF16));
  MLXAffineLayout l = *mlxAffineLayout(BlockFormat::MLX6_G128_BF16);
  EXPECT_EQ(l.bits, 6);
  EXPECT_EQ(l.groupSize, 128);
  EXPECT_EQ(l.scaleType, MLXScaleType::BF16);
  EXPECT_EQ(l.blockBytes(), 2 + 2 + 96);
}

// x = 0..15 then 15s: the larger edge is hi = 15, so scale = -1, bias = 15
// and q = 15 - x; element i sits at bits 4i of the little-endian words.
TEST(MLXAffine, packs_4bit_codes_low_bits_first) {
  std::vector<float> x(32, 15.0f);
  for (int i = 0; i < 16; ++i)
    x[size_t(i)] = float(i);
  std::vector<uint8_t> b = quantizeOne(BlockFormat::MLX4_G32_F32, x);
  ASSERT_EQ(b.size(), 4u + 4u + 16u);
  EXPECT_EQ(f32At(b, 0), -1.0f);
  EXPECT_EQ(f32At(b, 4), 15.0f);
  EXPECT_EQ(u32At(b, 8), 0x89abcdefu);
  EXPECT_EQ(u32At(b, 12), 0x01234567u);
  EXPECT_EQ(u32At(b, 16), 0u);
  EXPECT_EQ(u32At(b, 20), 0u);
}

// 3-bit codes 7, 6, ..., 0 run across byte boundaries: 8 codes fill 3 bytes
// 0x77 0x39 0x05 (bit 3k..3k+2 holds code k).
TEST(MLXAffine, packs_3bit_codes_across_bytes) {
  std::vector<float> x(32);
  for (int i = 0; i < 32; ++i)
    x[size_t(i)] = float(i % 8);
  std::vector<uint8_t> b = quantizeOne(BlockFormat::MLX3_G32_F32, x);
  ASSERT_EQ(b.size(), 4u + 4u + 12u);
  EXPECT_EQ(f32At(b, 0), -1.0f);
  EXPECT_EQ(f32At(b, 4), 7.0f);
  for (int k = 0; k < 4; ++k) {
    EXPECT_EQ(b[size_t(8 + 3 * k)], 0x77);
    EXPECT_EQ(b[size_t(9 + 3 * k)], 0x39);
    EXPECT_EQ(b[size_t(10 + 3 * k)], 0x05);
  }
}

// lo = -3 dominates: scale = 4/3 first, q0 = rint(-2.25) = -2, so the scale
// becomes -3 / -2 = 1.5 and the bias -3; 1 maps to rint(4 / 1.5) = 3.
TEST(MLXAffine, snaps_the_scale_so_the_edge_is_exact) {
  std::vector<float> x(32, 1.0f);
  x[0] = -3.0f;
  std::vector<uint8_t> b = quantizeOne(BlockFormat::MLX2_G32_F32, x);
  ASSERT_EQ(b.size(), 4u + 4u + 8u);
  EXPECT_EQ(f32At(b, 0), 1.5f);
  EXPECT_EQ(f32At(b, 4), -3.0f);
  EXPECT_EQ(u32At(b, 8), 0xfffffffcu);
  EXPECT_EQ(u32At(b, 12), 0xffffffffu);
  std::vector<float> decoded(32);
  dequantize(BlockFormat::MLX2_G32_F32, b, 1, 32, decoded);
  EXPECT_EQ(decoded[0], -3.0f);
  EXPECT_EQ(decoded[1], 1.5f);
}

// A zero group: the scale is -1e-7 (the floor, negated), bias 0, codes 0.
TEST(MLXAffine, zero_group_keeps_the_floor_scale) {
  std::vector<uint8_t> b =
      quantizeOne(BlockFormat::MLX8_G32_F32, std::vector<float>(32, 0.0f));
  EXPECT_EQ(f32At(b, 0), -1e-7f);
  EXPECT_EQ(f32At(b, 4), 0.0f);
  for (size_t i = 8; i < b.size(); ++i)
    EXPECT_EQ(b[i], 0);
}

// bf16 scale and bias are the fp32 ones rounded to nearest even; the codes
// come from the unrounded fp32 values.
TEST(MLXAffine, stores_bf16_scale_and_bias_rounded) {
  std::vector<float> x(64);
  for (int i = 0; i < 64; ++i)
    x[size_t(i)] = 0.013f * float(i) - 0.3f;
  std::vector<uint8_t> f32 = quantizeOne(BlockFormat::MLX4_G64_F32, x);
  std::vector<uint8_t> bf16 = quantizeOne(BlockFormat::MLX4_G64_BF16, x);
  ASSERT_EQ(bf16.size(), 2u + 2u + 32u);
  uint16_t s, bias;
  std::memcpy(&s, bf16.data(), 2);
  std::memcpy(&bias, bf16.data() + 2, 2);
  EXPECT_EQ(s, fp32ToBf16Bits(f32At(f32, 0)));
  EXPECT_EQ(bias, fp32ToBf16Bits(f32At(f32, 4)));
  EXPECT_EQ(0, std::memcmp(bf16.data() + 4, f32.data() + 8, 32));
}

// Every format round-trips random rows within one step s = (hi - lo) /
// (2^bits - 1) per element: |edge / s| >= n / 2, so the snapped scale
// s' = edge / rint(edge / s) lies within s * n / (n +- 1); an interior
// element is off by at most s' / 2 and the far edge, which may clamp, by
// at most (hi - lo) - n * s' <= s * n / (n + 1).
TEST(MLXAffine, round_trip_error_is_at_most_one_step) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  for (BlockFormat format : mlxAffineFormats()) {
    MLXAffineLayout l = *mlxAffineLayout(format);
    if (l.scaleType != MLXScaleType::F32)
      continue;
    const int64_t rows = 3, cols = 256;
    std::vector<float> x(size_t(rows * cols));
    for (float &v : x)
      v = normal(rng);
    std::vector<uint8_t> packed(
        size_t(rows * llvm::cantFail(rowBytes(format, cols))));
    llvm::cantFail(quantize(format, x, rows, cols, packed));
    std::vector<float> y(x.size());
    dequantize(format, packed, rows, cols, y);
    for (int64_t g = 0; g < rows * cols / l.groupSize; ++g) {
      float lo = INFINITY, hi = -INFINITY;
      for (int64_t i = 0; i < l.groupSize; ++i) {
        lo = std::min(lo, x[size_t(g * l.groupSize + i)]);
        hi = std::max(hi, x[size_t(g * l.groupSize + i)]);
      }
      float step = (hi - lo) / float((1 << l.bits) - 1);
      for (int64_t i = 0; i < l.groupSize; ++i) {
        size_t k = size_t(g * l.groupSize + i);
        EXPECT_LE(std::fabs(x[k] - y[k]), step + 1e-6f)
            << formatInfo(format).name.str() << " element " << k;
      }
    }
  }
}

} // namespace
