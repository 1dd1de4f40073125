//===- QDQTest.cpp - ONNX QDQ per-channel symmetric int8 --------*- C++ -*-===//
//
// QDQ8_CHANNEL against a slow restatement of onnxruntime.quantization's
// per-channel symmetric int8 weight rule (quant_utils.py: range widened to
// include 0, scale = f32(2 * absmax / 254) in f64, codes rint(x / s) in f32
// clipped to [-128, 127], zero point 0), on random rows, on exact ties
// (half to even) and on a zero row (scale 1).
//
//===----------------------------------------------------------------------===//

#include "phiq/Quant/BlockFormat.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

using namespace phiq::quant;

namespace {

std::vector<uint8_t> quantizeRow(const std::vector<float> &row) {
  std::vector<uint8_t> out(size_t(llvm::cantFail(
      rowBytes(BlockFormat::QDQ8_CHANNEL, int64_t(row.size())))));
  llvm::cantFail(
      quantize(BlockFormat::QDQ8_CHANNEL, row, 1, int64_t(row.size()), out));
  return out;
}

/// numpy's round: half to even.
float roundHalfEven(float x) {
  float r = std::round(x);
  if (std::fabs(x - std::trunc(x)) == 0.5f)
    r = 2.0f * std::round(x / 2.0f);
  return r;
}

struct Reference {
  float scale;
  std::vector<int> q;
};

Reference ortPerChannel(const std::vector<float> &x) {
  float rmin = 0.0f, rmax = 0.0f;
  for (float v : x) {
    rmin = std::min(rmin, v);
    rmax = std::max(rmax, v);
  }
  float absmax = std::max(std::fabs(rmin), std::fabs(rmax));
  double dr = double(absmax) - double(-absmax);
  double dq = 127.0 - -127.0;
  double scale = dr / dq;
  Reference r;
  r.scale = scale < double(std::numeric_limits<float>::min()) ? 1.0f
                                                             : float(scale);
  for (float v : x) {
    float q = roundHalfEven(v / r.scale);
    r.q.push_back(int(std::min(127.0f, std::max(-128.0f, q))));
  }
  return r;
}

void expectMatches(const std::vector<float> &row) {
  std::vector<uint8_t> bytes = quantizeRow(row);
  ASSERT_EQ(bytes.size(), 4 + row.size());
  Reference ref = ortPerChannel(row);
  float scale;
  std::memcpy(&scale, bytes.data(), 4);
  EXPECT_EQ(scale, ref.scale);
  for (size_t i = 0; i < row.size(); ++i)
    ASSERT_EQ(int(int8_t(bytes[4 + i])), ref.q[i]) << "element " << i;
  // Decoding is q * s.
  std::vector<float> decoded(row.size());
  dequantize(BlockFormat::QDQ8_CHANNEL, bytes, 1, int64_t(row.size()),
             decoded);
  for (size_t i = 0; i < row.size(); ++i)
    ASSERT_EQ(decoded[i], float(ref.q[i]) * ref.scale);
}

TEST(QDQTest, RegistryFacts) {
  const FormatInfo &info = formatInfo(BlockFormat::QDQ8_CHANNEL);
  EXPECT_EQ(info.name, "QDQ8_CHANNEL");
  EXPECT_EQ(info.ggmlType, -1);
  EXPECT_EQ(info.rowHeaderBytes, 4);
  EXPECT_EQ(llvm::cantFail(rowBytes(BlockFormat::QDQ8_CHANNEL, 256)), 260);
  EXPECT_EQ(parseBlockFormat("qdq8_channel"), BlockFormat::QDQ8_CHANNEL);
}

TEST(QDQTest, RandomRowsMatchOrt) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<float> row(size_t(64 + trial));
    for (float &v : row)
      v = normal(rng) * (trial % 3 == 0 ? 50.0f : 1.0f);
    if (trial % 5 == 0)
      for (float &v : row)
        v = std::fabs(v); // all positive: the range still includes 0
    expectMatches(row);
  }
}

TEST(QDQTest, TiesRoundHalfToEven) {
  // absmax 127 gives scale 1: x / s lands exactly on the halves.
  std::vector<float> row = {127.0f, 0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f};
  expectMatches(row);
  std::vector<uint8_t> bytes = quantizeRow(row);
  EXPECT_EQ(int8_t(bytes[4 + 1]), 0);
  EXPECT_EQ(int8_t(bytes[4 + 2]), 2);
  EXPECT_EQ(int8_t(bytes[4 + 3]), 2);
  EXPECT_EQ(int8_t(bytes[4 + 6]), -2);
}

TEST(QDQTest, ZeroRowHasScaleOne) {
  std::vector<float> row(32, 0.0f);
  expectMatches(row);
  std::vector<uint8_t> bytes = quantizeRow(row);
  float scale;
  std::memcpy(&scale, bytes.data(), 4);
  EXPECT_EQ(scale, 1.0f);
}

} // namespace
