//===- ActivationQuantTest.cpp - INT8 activations (W8A8) --------*- C++ -*-===//
//
// DynamicQuantizeLinear's parameters and rounding against a restatement of
// the ONNX operator's definition (in double, with an explicit half-to-even
// rounder), exact ties at the zero point and at the codes, the integer
// matmul against int64 sums, and SmoothQuant's scales against the formula
// and its balancing property (alpha = 1/2 gives equal activation and weight
// maxima per channel).
//
//===----------------------------------------------------------------------===//

#include "phiq/Quant/ActivationQuant.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

using namespace phiq::quant;

namespace {

/// Half to even, spelled out.
double roundHalfEven(double x) {
  double f = std::floor(x);
  double d = x - f;
  if (d > 0.5)
    return f + 1;
  if (d < 0.5)
    return f;
  return std::fmod(f, 2.0) == 0.0 ? f : f + 1;
}

/// The ONNX DynamicQuantizeLinear definition, step by step.
struct Reference {
  float scale;
  int zp;
  std::vector<int> q;
};
Reference dynamicReference(const std::vector<float> &x) {
  float lo = 0, hi = 0;
  for (float v : x) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  Reference r;
  r.scale = hi == lo ? 1.0f : (hi - lo) / 255.0f;
  float initial = 0.0f - lo / r.scale;
  r.zp = int(roundHalfEven(std::clamp(initial, 0.0f, 255.0f)));
  for (float v : x) {
    double q = roundHalfEven(double(v / r.scale)) + r.zp;
    r.q.push_back(int(std::clamp(q, 0.0, 255.0)));
  }
  return r;
}

TEST(ActivationQuant, DynamicMatchesDefinitionOnRandomTensors) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 20; ++trial) {
    std::normal_distribution<float> dist(trial % 3 == 0 ? 2.0f : 0.0f,
                                         0.1f + float(trial));
    std::vector<float> x(static_cast<size_t>(997));
    for (float &v : x)
      v = dist(rng);
    Reference ref = dynamicReference(x);
    ActivationQuantParams p = dynamicQuantParamsU8(x);
    EXPECT_EQ(p.scale, ref.scale);
    EXPECT_EQ(p.zeroPoint, ref.zp);
    std::vector<uint8_t> q(x.size());
    quantizeU8(x, p, q);
    for (size_t i = 0; i < x.size(); ++i)
      ASSERT_EQ(int(q[i]), ref.q[i]) << "element " << i;
  }
}

TEST(ActivationQuant, TiesRoundHalfToEven) {
  // Range [-127.5, 127.5]: scale 1, zero point 127.5 -> 128 (even).
  std::vector<float> x = {-127.5f, 127.5f, 0.5f, 1.5f, 2.5f, -0.5f, -1.5f};
  ActivationQuantParams p = dynamicQuantParamsU8(x);
  EXPECT_EQ(p.scale, 1.0f);
  EXPECT_EQ(p.zeroPoint, 128);
  std::vector<uint8_t> q(x.size());
  quantizeU8(x, p, q);
  // -127.5 -> -128 + 128 = 0; 127.5 -> 128 + 128 saturates at 255.
  std::vector<int> expected = {0, 255, 128, 130, 130, 128, 126};
  for (size_t i = 0; i < x.size(); ++i)
    EXPECT_EQ(int(q[i]), expected[i]) << "x = " << x[i];
}

TEST(ActivationQuant, RangeAlwaysHoldsZero) {
  // All positive: lo widens to 0, zero point 0; all zero: scale 1.
  std::vector<float> pos = {1.0f, 2.0f, 51.0f};
  ActivationQuantParams p = dynamicQuantParamsU8(pos);
  EXPECT_EQ(p.zeroPoint, 0);
  EXPECT_EQ(p.scale, 51.0f / 255.0f);
  std::vector<float> neg = {-3.0f, -1.0f};
  EXPECT_EQ(dynamicQuantParamsU8(neg).zeroPoint, 255);
  std::vector<float> zeros(5, 0.0f);
  ActivationQuantParams z = dynamicQuantParamsU8(zeros);
  EXPECT_EQ(z.scale, 1.0f);
  EXPECT_EQ(z.zeroPoint, 0);
  // 1 / (2 / 255) rounds below 127.5 in f32: the zero point is 127.
  EXPECT_EQ(rangeQuantParamsU8(-1.0f, 1.0f).zeroPoint,
            dynamicReference({-1.0f, 1.0f}).zp);
}

TEST(ActivationQuant, IntegerMatmulIsExactThenScaled) {
  std::mt19937 rng(3);
  const int64_t rows = 5, k = 777, outs = 9;
  std::uniform_int_distribution<int> u8(0, 255), s8(-127, 127);
  std::vector<uint8_t> a(static_cast<size_t>(rows * k));
  std::vector<int8_t> w(static_cast<size_t>(outs * k));
  for (uint8_t &v : a)
    v = uint8_t(u8(rng));
  for (int8_t &v : w)
    v = int8_t(s8(rng));
  // Worst case for saturating int16 pair sums: 255 against 127.
  std::fill(a.begin(), a.begin() + k, 255);
  std::fill(w.begin(), w.begin() + k, 127);
  std::vector<float> wScales(static_cast<size_t>(outs));
  for (int64_t n = 0; n < outs; ++n)
    wScales[size_t(n)] = 0.001f * float(n + 1);
  ActivationQuantParams p{0.0173f, 3};
  std::vector<float> y(static_cast<size_t>(rows * outs));
  matmulU8S8(a.data(), rows, k, p, w.data(), wScales.data(), outs, y.data(),
             outs);
  for (int64_t m = 0; m < rows; ++m)
    for (int64_t n = 0; n < outs; ++n) {
      int64_t acc = 0;
      for (int64_t j = 0; j < k; ++j)
        acc += (int64_t(a[m * k + j]) - 3) * int64_t(w[n * k + j]);
      float expected = float(acc) * (p.scale * wScales[size_t(n)]);
      ASSERT_EQ(y[m * outs + n], expected) << m << "," << n;
    }
}

TEST(ActivationQuant, SmoothQuantScalesFollowTheFormula) {
  std::vector<float> x = {4.0f, 0.25f, 9.0f, 0.0f, 1.0f};
  std::vector<float> w = {1.0f, 4.0f, 0.5f, 2.0f, 0.0f};
  for (double alpha : {0.0, 0.5, 0.8, 1.0}) {
    std::vector<float> s(x.size());
    smoothQuantScales(x, w, alpha, s);
    for (size_t j = 0; j < x.size(); ++j) {
      double expected = (x[j] == 0 || w[j] == 0)
                            ? 1.0
                            : std::pow(double(x[j]), alpha) /
                                  std::pow(double(w[j]), 1 - alpha);
      EXPECT_FLOAT_EQ(s[j], float(expected)) << "alpha " << alpha;
    }
  }
}

TEST(ActivationQuant, SmoothQuantHalfBalancesChannels) {
  // alpha = 1/2: max|x_j / s_j| == max|W_j * s_j| for every channel.
  std::mt19937 rng(11);
  const int64_t rows = 6, cols = 8;
  std::normal_distribution<float> dist(0, 1);
  std::vector<float> weight(static_cast<size_t>(rows * cols));
  for (float &v : weight)
    v = dist(rng);
  std::vector<float> actMax(static_cast<size_t>(cols)), wMax(actMax), s(actMax);
  for (int64_t c = 0; c < cols; ++c)
    actMax[size_t(c)] = std::fabs(dist(rng)) * float(1 + 10 * (c % 3));
  columnAbsMax(weight, rows, cols, wMax);
  for (int64_t c = 0; c < cols; ++c) {
    float m = 0;
    for (int64_t r = 0; r < rows; ++r)
      m = std::max(m, std::fabs(weight[r * cols + c]));
    EXPECT_EQ(wMax[size_t(c)], m);
  }
  smoothQuantScales(actMax, wMax, 0.5, s);
  for (int64_t c = 0; c < cols; ++c)
    EXPECT_NEAR(actMax[size_t(c)] / s[size_t(c)], wMax[size_t(c)] * s[size_t(c)],
                1e-5 * actMax[size_t(c)] / s[size_t(c)]);
}

} // namespace
