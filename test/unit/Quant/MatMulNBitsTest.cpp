//===- MatMulNBitsTest.cpp - ONNX Runtime MatMulNBits blocks ----*- C++ -*-===//
//
// The MatMulNBits formats: registry facts, the exact block layout (scale,
// zero point, codes low nibble first), ONNX Runtime's round-to-nearest
// rules on hand-made blocks (test/Quant/ort-matmulnbits.test checks the
// bytes against ORT's own quantizer), and round-trip error bounds.
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

TEST(MatMulNBits, registry_names_layouts_and_sizes) {
  ASSERT_EQ(matMulNBitsFormats().size(), 28u);
  for (BlockFormat format : matMulNBitsFormats()) {
    const FormatInfo &info = formatInfo(format);
    std::optional<MatMulNBitsLayout> l = matMulNBitsLayout(format);
    ASSERT_TRUE(l) << info.name.str();
    EXPECT_EQ(info.ggmlType, -1) << "GGUF cannot store " << info.name.str();
    EXPECT_EQ(info.blockElements, l->blockSize);
    EXPECT_EQ(info.blockBytes, l->blockBytes());
    EXPECT_EQ(matMulNBitsFormat(l->bits, l->blockSize, l->symmetric,
                                l->fp16Scales),
              format);
    EXPECT_EQ(parseBlockFormat(info.name.lower()), format);
  }
  EXPECT_FALSE(matMulNBitsLayout(BlockFormat::Q4_0));
  EXPECT_FALSE(matMulNBitsFormat(8, 16, true, false));
  EXPECT_FALSE(matMulNBitsFormat(4, 256, true, false));
  MatMulNBitsLayout l = *matMulNBitsLayout(BlockFormat::MNB4_G32_ASYM_F16);
  EXPECT_EQ(l.bits, 4);
  EXPECT_EQ(l.blockSize, 32);
  EXPECT_FALSE(l.symmetric);
  EXPECT_TRUE(l.fp16Scales);
  EXPECT_EQ(l.blockBytes(), 2 + 1 + 16);
  EXPECT_EQ(formatInfo(BlockFormat::MNB8_G128_SYM).blockBytes, 4 + 128);
  // GGUF's list stays GGUF's.
  for (BlockFormat format : allBlockFormats())
    EXPECT_GE(formatInfo(format).ggmlType, 0);
}

// Asymmetric: lo = 0 (clamped), hi = 1.5, scale = 1.5 / 15 = 0.1, zp = 0;
// codes are the indices, two per byte, element 2i in the low nibble.
TEST(MatMulNBits, asymmetric_block_layout_is_scale_zero_point_codes) {
  std::vector<float> row(16);
  for (int i = 0; i < 16; ++i)
    row[i] = 0.1f * float(i);
  std::vector<uint8_t> b = quantizeOne(BlockFormat::MNB4_G16_ASYM, row);
  ASSERT_EQ(b.size(), 4u + 1u + 8u);
  EXPECT_EQ(f32At(b, 0), (1.5f - 0.0f) / 15.0f);
  EXPECT_EQ(b[4], 0); // zero point
  for (int i = 0; i < 8; ++i)
    EXPECT_EQ(b[5 + i], uint8_t((2 * i) | (2 * i + 1) << 4)) << i;
}

// Symmetric: the value of largest magnitude m = -0.8 maps to code 0,
// scale = -m / 8 = 0.1, implicit zero point 8; no zero point byte.
TEST(MatMulNBits, symmetric_scale_maps_largest_magnitude_to_code_zero) {
  std::vector<float> row(16, 0.0f);
  row[0] = -0.8f;
  row[1] = 0.7f;
  row[2] = 0.25f; // 0.25 / 0.1 + 8 = 10.5 rounds away from zero: 11
  std::vector<uint8_t> b = quantizeOne(BlockFormat::MNB4_G16_SYM, row);
  ASSERT_EQ(b.size(), 4u + 8u);
  EXPECT_EQ(f32At(b, 0), 0.8f / 8.0f);
  EXPECT_EQ(b[4] & 15, 0);
  EXPECT_EQ(b[4] >> 4, 15);
  EXPECT_EQ(b[5] & 15, int(std::roundf(0.25f * (1.0f / (0.8f / 8.0f)) + 8)));
  EXPECT_EQ(b[5] >> 4, 8);
  // A positive extreme gives a negative scale: it still maps to code 0.
  row.assign(16, 0.0f);
  row[3] = 1.6f;
  b = quantizeOne(BlockFormat::MNB4_G16_SYM, row);
  EXPECT_EQ(f32At(b, 0), -1.6f / 8.0f);
  EXPECT_EQ(b[5] >> 4, 0);
  EXPECT_EQ(b[4] & 15, 8);
}

TEST(MatMulNBits, zero_points_clamp_for_one_signed_blocks) {
  std::vector<float> positive(32), negative(32), zeros(32, 0.0f);
  for (int i = 0; i < 32; ++i) {
    positive[i] = 1.0f + float(i);
    negative[i] = -1.0f - float(i);
  }
  // lo is clamped to 0: zero point 0; hi to 0: zero point 15 / 255.
  EXPECT_EQ(quantizeOne(BlockFormat::MNB4_G32_ASYM, positive)[4], 0);
  EXPECT_EQ(quantizeOne(BlockFormat::MNB4_G32_ASYM, negative)[4], 15);
  EXPECT_EQ(quantizeOne(BlockFormat::MNB8_G32_ASYM, negative)[4], 255);
  // An all-zero block: scale 0, every code its zero point, decodes to 0.
  for (BlockFormat format :
       {BlockFormat::MNB4_G32_ASYM, BlockFormat::MNB4_G32_SYM,
        BlockFormat::MNB8_G32_SYM, BlockFormat::MNB8_G32_ASYM_F16}) {
    std::vector<uint8_t> b = quantizeOne(format, zeros);
    std::vector<float> back(32, 1.0f);
    dequantize(format, b, 1, 32, back);
    for (float v : back)
      EXPECT_EQ(v, 0.0f) << formatInfo(format).name.str();
  }
  std::vector<uint8_t> sym = quantizeOne(BlockFormat::MNB8_G32_SYM, zeros);
  for (int i = 0; i < 32; ++i)
    EXPECT_EQ(sym[4 + i], 128);
}

TEST(MatMulNBits, fp16_scales_are_rounded_before_the_codes) {
  std::vector<float> row(32);
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  for (float &v : row)
    v = normal(rng);
  std::vector<uint8_t> b = quantizeOne(BlockFormat::MNB4_G32_ASYM_F16, row);
  uint16_t h;
  std::memcpy(&h, b.data(), 2);
  float lo = 0, hi = 0;
  for (float v : row) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  EXPECT_EQ(h, fp32ToFp16Bits((hi - lo) / 15.0f));
  const float scale = fp16BitsToFp32(h);
  const int zp = b[2];
  EXPECT_EQ(zp, int(std::roundf(-lo / ((hi - lo) / 15.0f))));
  for (int i = 0; i < 32; ++i) {
    int code = (b[3 + i / 2] >> (4 * (i % 2))) & 15;
    float expected = std::clamp(std::roundf(row[i] * (1.0f / scale) + zp),
                                0.0f, 15.0f);
    EXPECT_EQ(code, int(expected)) << i;
  }
}

// Round trip: every in-range element is within half a step; the one
// clamped code of a symmetric block is within a whole step.
TEST(MatMulNBits, round_trip_error_is_within_a_step) {
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const int64_t rows = 8, cols = 256;
  std::vector<float> x(rows * cols);
  for (float &v : x)
    v = normal(rng);
  for (BlockFormat format : matMulNBitsFormats()) {
    MatMulNBitsLayout l = *matMulNBitsLayout(format);
    std::vector<uint8_t> q(size_t(rows * llvm::cantFail(rowBytes(format, cols))));
    ASSERT_FALSE(llvm::errorToBool(quantize(format, x, rows, cols, q)));
    std::vector<float> y(x.size());
    dequantize(format, q, rows, cols, y);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t b = 0; b < cols / l.blockSize; ++b) {
        float lo = 0, hi = 0;
        for (int64_t i = 0; i < l.blockSize; ++i) {
          lo = std::min(lo, x[r * cols + b * l.blockSize + i]);
          hi = std::max(hi, x[r * cols + b * l.blockSize + i]);
        }
        float step = l.symmetric ? std::max(-lo, hi) / float(l.midCode())
                                 : (hi - lo) / float((1 << l.bits) - 1);
        // fp16 scales and a rounded zero point add a little.
        float bound = (l.symmetric ? 1.0f : 0.5f) * step * 1.01f +
                      (l.symmetric ? 0.0f : 0.5f * step);
        for (int64_t i = 0; i < l.blockSize; ++i) {
          int64_t at = r * cols + b * l.blockSize + i;
          ASSERT_LE(std::fabs(x[at] - y[at]), bound)
              << formatInfo(format).name.str() << " row " << r << " col "
              << b * l.blockSize + i;
        }
      }
    // 8 bits are far closer than 4.
    double err = weightedSquaredError(format, x, rows, cols, q);
    EXPECT_LT(err / double(x.size()), l.bits == 8 ? 1e-4 : 0.03)
        << formatInfo(format).name.str();
  }
}

TEST(MatMulNBits, planar_layout_decodes_like_the_interleaved_blocks) {
  // ONNX Runtime keeps codes, scales and zero points in three tensors; the
  // planar decoder must give exactly what the interleaved blocks give.
  std::mt19937 rng(7);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  const int64_t rows = 3, cols = 256;
  for (BlockFormat format : matMulNBitsFormats()) {
    MatMulNBitsLayout l = *matMulNBitsLayout(format);
    std::vector<float> w(size_t(rows * cols));
    for (float &x : w)
      x = dist(rng) + 0.3f;
    std::vector<uint8_t> blocks(
        size_t(rows * llvm::cantFail(rowBytes(format, cols))));
    llvm::cantFail(quantize(format, w, rows, cols, blocks));
    const int64_t perRow = cols / l.blockSize;
    const int64_t zpRow = (perRow * l.bits + 7) / 8;
    std::vector<uint8_t> codes, scales,
        zps(l.symmetric ? 0 : size_t(rows * zpRow), 0);
    for (int64_t b = 0; b < rows * perRow; ++b) {
      const uint8_t *block = blocks.data() + b * l.blockBytes();
      scales.insert(scales.end(), block, block + l.scaleBytes());
      codes.insert(codes.end(), block + l.scaleBytes() + l.zeroPointBytes(),
                   block + l.blockBytes());
      if (!l.symmetric) {
        const uint8_t zp = block[l.scaleBytes()];
        const int64_t r = b / perRow, j = b % perRow;
        if (l.bits == 8)
          zps[size_t(r * zpRow + j)] = zp;
        else
          zps[size_t(r * zpRow + j / 2)] |= uint8_t(zp << (4 * (j % 2)));
      }
    }
    std::vector<float> interleaved(w.size()), planar(w.size());
    dequantize(format, blocks, rows, cols, interleaved);
    dequantizeMatMulNBitsPlanar(l, codes, scales, zps, rows, cols, planar);
    EXPECT_EQ(0, std::memcmp(interleaved.data(), planar.data(),
                             planar.size() * sizeof(float)))
        << formatInfo(format).name.str();
  }
}

TEST(MatMulNBits, rows_must_be_whole_blocks) {
  auto bytes = rowBytes(BlockFormat::MNB4_G128_SYM, 192);
  ASSERT_FALSE(bool(bytes));
  EXPECT_NE(llvm::toString(bytes.takeError()).find("blocks of 128"),
            std::string::npos);
  EXPECT_EQ(llvm::cantFail(rowBytes(BlockFormat::MNB4_G64_ASYM, 256)),
            4 * (4 + 1 + 32));
}

} // namespace
