//===- NNCFTest.cpp - NNCF's INT4 groups for OpenVINO IR --------*- C++ -*-===//
//
// The NNCF formats: registry facts, and NNCF's data-free round to nearest
// against a slow restatement of nncf's weight_lowering.py (f32 scale, true
// division, half-to-even rounding, f16 stored scale), on random groups and
// on the ties where ONNX Runtime's rounding differs.
//
//===----------------------------------------------------------------------===//

#include "phiq/Quant/BlockFormat.h"
#include "phiq/Quant/Fp16.h"

#include <gtest/gtest.h>

#include <cfenv>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

using namespace phiq::quant;

namespace {

std::vector<uint8_t> quantizeRow(BlockFormat format,
                                 const std::vector<float> &row) {
  std::vector<uint8_t> out(
      size_t(llvm::cantFail(rowBytes(format, int64_t(row.size())))));
  llvm::cantFail(quantize(format, row, 1, int64_t(row.size()), out));
  return out;
}

/// numpy's np.round: half to even.
float roundHalfEven(float x) {
  float r = std::round(x);
  if (std::fabs(x - std::trunc(x)) == 0.5f)
    r = 2.0f * std::round(x / 2.0f);
  return r;
}

/// nncf: one group's (codes, zero point, f32 scale), spelled out.
struct Reference {
  std::vector<int> q;
  int zp = 0;
  float scale = 0;
};
Reference nncfGroup(const float *x, int n, bool symmetric) {
  float lo = x[0], hi = x[0];
  for (int i = 1; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  Reference r;
  if (symmetric) {
    r.scale = (std::fabs(lo) >= hi ? std::fabs(lo) : -hi) / 8.0f;
  } else {
    lo = std::min(lo, 0.0f);
    hi = std::max(hi, 0.0f);
    r.scale = (hi - lo) / 15.0f;
  }
  if (std::fabs(r.scale) < FLT_EPSILON)
    r.scale = FLT_EPSILON;
  if (!symmetric)
    r.zp = int(std::min(15.0f, std::max(0.0f, -roundHalfEven(lo / r.scale))));
  for (int i = 0; i < n; ++i) {
    float q = roundHalfEven(x[i] / r.scale + float(r.zp));
    q = symmetric ? std::min(7.0f, std::max(-8.0f, q))
                  : std::min(15.0f, std::max(0.0f, q));
    r.q.push_back(int(q));
  }
  return r;
}

TEST(NNCF, registry_maps_onto_matmulnbits_bytes) {
  ASSERT_EQ(nncfFormats().size(), 4u);
  for (BlockFormat format : nncfFormats()) {
    MatMulNBitsLayout l = *matMulNBitsLayout(format);
    EXPECT_EQ(l.bits, 4);
    EXPECT_TRUE(l.fp16Scales);
    EXPECT_EQ(nncfFormat(4, l.blockSize, l.symmetric), format);
    EXPECT_EQ(formatInfo(format).blockBytes,
              2 + (l.symmetric ? 0 : 1) + l.blockSize / 2);
  }
  EXPECT_EQ(nncfFormat(4, 64, false), BlockFormat::NNCF_U4_G64);
  EXPECT_EQ(nncfFormat(4, 128, true), BlockFormat::NNCF_I4_G128);
  EXPECT_FALSE(nncfFormat(4, 32, false));
  EXPECT_FALSE(nncfFormat(8, 64, false));
  // MatMulNBits' own list does not grow.
  EXPECT_EQ(matMulNBitsFormats().size(), 28u);
}

TEST(NNCF, codes_scales_and_zero_points_equal_nncf_rounding) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  for (BlockFormat format : nncfFormats()) {
    MatMulNBitsLayout l = *matMulNBitsLayout(format);
    std::vector<float> row(size_t(l.blockSize) * 6);
    for (float &v : row)
      v = normal(rng);
    // A group that is all positive and one that is all zero.
    for (int64_t i = 0; i < l.blockSize; ++i) {
      row[size_t(l.blockSize + i)] = std::fabs(row[size_t(l.blockSize + i)]);
      row[size_t(2 * l.blockSize + i)] = 0.0f;
    }
    std::vector<uint8_t> bytes = quantizeRow(format, row);
    std::vector<float> decoded(row.size());
    dequantize(format, bytes, 1, int64_t(row.size()), decoded);
    for (int64_t g = 0; g < 6; ++g) {
      Reference ref = nncfGroup(row.data() + g * l.blockSize, int(l.blockSize),
                                l.symmetric);
      const uint8_t *block = bytes.data() + g * l.blockBytes();
      uint16_t half;
      std::memcpy(&half, block, 2);
      EXPECT_EQ(half, fp32ToFp16Bits(ref.scale)) << "group " << g;
      if (!l.symmetric)
        EXPECT_EQ(int(block[2]), ref.zp) << "group " << g;
      const uint8_t *codes = block + l.scaleBytes() + l.zeroPointBytes();
      for (int64_t i = 0; i < l.blockSize; ++i) {
        int stored = (codes[i / 2] >> (4 * (i % 2))) & 15;
        int q = l.symmetric ? stored - 8 : stored;
        ASSERT_EQ(q, ref.q[size_t(i)]) << "group " << g << " element " << i;
        const float w = float(ref.q[size_t(i)] - ref.zp) *
                        fp16BitsToFp32(fp32ToFp16Bits(ref.scale));
        EXPECT_EQ(decoded[size_t(g * l.blockSize + i)], w);
      }
    }
  }
}

TEST(NNCF, ties_round_half_to_even_with_the_f32_scale) {
  // Symmetric group with max |x| = 8 at -8: scale 1, so 2.5 -> 2 and
  // 3.5 -> 4 (ONNX Runtime's roundf would give 3 and 4).
  std::vector<float> row(64, 0.0f);
  row[0] = -8.0f;
  row[1] = 2.5f;
  row[2] = 3.5f;
  row[3] = -0.5f;
  std::vector<uint8_t> b = quantizeRow(BlockFormat::NNCF_I4_G64, row);
  auto code = [&](int i) { return ((b[2 + i / 2] >> (4 * (i % 2))) & 15) - 8; };
  EXPECT_EQ(code(0), -8);
  EXPECT_EQ(code(1), 2);
  EXPECT_EQ(code(2), 4);
  EXPECT_EQ(code(3), 0);
  // Positive extreme larger: the scale is negative (-max / 8).
  row[0] = 8.0f;
  b = quantizeRow(BlockFormat::NNCF_I4_G64, row);
  uint16_t half;
  std::memcpy(&half, b.data(), 2);
  EXPECT_EQ(fp16BitsToFp32(half), -1.0f);
  EXPECT_EQ(code(0), -8);
}

} // namespace
