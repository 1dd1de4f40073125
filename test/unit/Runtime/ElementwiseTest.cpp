//===- ElementwiseTest.cpp - Row-wise kernel tests --------------*- C++ -*-===//
//
// exp, the norms, SiLU gating, add, rotary embedding and logsumexp, each on
// lengths that leave vector-loop tails, against double references written
// as the PyTorch formulas read.
//
//===----------------------------------------------------------------------===//

#include "KernelTestSupport.h"

#include <cmath>
#include <cstring>
#include <limits>

namespace phiq::rt::test {
namespace {

/// Distance in representable floats (same-sign finite values).
int64_t ulpDistance(float a, float b) {
  int32_t ia, ib;
  std::memcpy(&ia, &a, 4);
  std::memcpy(&ib, &b, 4);
  return std::llabs(int64_t(ia) - int64_t(ib));
}

class Elementwise : public AtCpuLevel {};

TEST_P(Elementwise, ExpIsWithinOneUlpOverTheWholeRange) {
  // Dense sweep through underflow, subnormal results, [-1, 1] and overflow.
  std::vector<float> x;
  for (float v = -106.0f; v < 90.0f; v += 0.00123f)
    x.push_back(v);
  for (float v = -1e-6f; v < 1e-6f; v += 1.7e-9f)
    x.push_back(v);
  std::vector<float> y(x.size());
  expElementwise(x.data(), y.data(), int64_t(x.size()));
  int64_t worst = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const float ref = float(std::exp(double(x[i])));
    if (std::isinf(ref)) {
      ASSERT_TRUE(std::isinf(y[i]) && y[i] > 0) << "x=" << x[i];
      continue;
    }
    worst = std::max(worst, ulpDistance(y[i], ref));
    ASSERT_LE(ulpDistance(y[i], ref), 1)
        << "x=" << x[i] << " got " << y[i] << " want " << ref;
  }
  RecordProperty("worst_ulp", int(worst));
}

TEST_P(Elementwise, ExpHandlesSpecialValues) {
  const float inf = std::numeric_limits<float>::infinity();
  // exp(-103.9) = 7.5e-46 still rounds up to the smallest subnormal;
  // exp(-104.5) rounds to 0.
  std::vector<float> x = {0.0f,  -0.0f, -inf,    inf,    std::nanf(""),
                          88.7f, 89.0f, -104.5f, -87.5f, -103.9f};
  std::vector<float> y(x.size());
  expElementwise(x.data(), y.data(), int64_t(x.size()));
  EXPECT_EQ(y[0], 1.0f);
  EXPECT_EQ(y[1], 1.0f);
  EXPECT_EQ(y[2], 0.0f);
  EXPECT_EQ(y[3], inf);
  EXPECT_TRUE(std::isnan(y[4]));
  EXPECT_LE(ulpDistance(y[5], float(std::exp(double(88.7f)))), 1);
  EXPECT_EQ(y[6], inf);
  EXPECT_EQ(y[7], 0.0f);
  EXPECT_LE(ulpDistance(y[8], float(std::exp(-87.5))), 1);
  EXPECT_EQ(y[9], std::numeric_limits<float>::denorm_min());
}

TEST_P(Elementwise, RmsNormMatchesPhi3RmsNorm) {
  for (int64_t dim : {1, 7, 64, 257}) {
    const int64_t rows = 5;
    std::vector<float> x = randomFloats(rows * dim, 11, -3.0f, 3.0f);
    std::vector<float> w = randomFloats(dim, 12, 0.5f, 1.5f);
    std::vector<float> y(rows * dim);
    rmsNorm(x.data(), w.data(), y.data(), rows, dim, 1e-5f);
    for (int64_t r = 0; r < rows; ++r) {
      double ss = 0;
      for (int64_t i = 0; i < dim; ++i)
        ss += double(x[r * dim + i]) * x[r * dim + i];
      const double inv = 1.0 / std::sqrt(ss / dim + 1e-5);
      for (int64_t i = 0; i < dim; ++i) {
        const double ref = double(w[i]) * x[r * dim + i] * inv;
        ASSERT_NEAR(y[r * dim + i], ref, 2e-6 * std::fabs(ref) + 1e-7)
            << "dim=" << dim << " r=" << r << " i=" << i;
      }
    }
  }
}

TEST_P(Elementwise, LayerNormMatchesReferenceWithAndWithoutBias) {
  for (bool withBias : {false, true}) {
    const int64_t rows = 4, dim = 131;
    std::vector<float> x = randomFloats(rows * dim, 21, 2.0f, 5.0f);
    std::vector<float> w = randomFloats(dim, 22);
    std::vector<float> b = randomFloats(dim, 23);
    std::vector<float> y(rows * dim);
    layerNorm(x.data(), w.data(), withBias ? b.data() : nullptr, y.data(), rows,
              dim, 1e-5f);
    for (int64_t r = 0; r < rows; ++r) {
      double mu = 0, var = 0;
      for (int64_t i = 0; i < dim; ++i)
        mu += x[r * dim + i];
      mu /= dim;
      for (int64_t i = 0; i < dim; ++i)
        var += (x[r * dim + i] - mu) * (x[r * dim + i] - mu);
      const double rstd = 1.0 / std::sqrt(var / dim + 1e-5);
      for (int64_t i = 0; i < dim; ++i) {
        const double ref =
            (x[r * dim + i] - mu) * rstd * w[i] + (withBias ? b[i] : 0.0);
        ASSERT_NEAR(y[r * dim + i], ref, 1e-5)
            << "bias=" << withBias << " r=" << r << " i=" << i;
      }
    }
  }
}

TEST_P(Elementwise, SiluGateIsUpTimesGateOverOnePlusExpMinusGate) {
  const int64_t rows = 3, inter = 37;
  std::vector<float> in = randomFloats(rows * 2 * inter, 31, -12.0f, 12.0f);
  in[0] = -200.0f; // exp(200) overflows: silu must be -0, not NaN
  in[1] = 200.0f;
  std::vector<float> out(rows * inter);
  siluGate(in.data(), out.data(), rows, inter);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t i = 0; i < inter; ++i) {
      const double g = in[r * 2 * inter + i], u = in[r * 2 * inter + inter + i];
      const double ref = u * (g / (1.0 + std::exp(-g)));
      ASSERT_NEAR(out[r * inter + i], ref, 3e-7 * std::fabs(ref) + 1e-30)
          << "r=" << r << " i=" << i;
    }
  }
  EXPECT_FALSE(std::isnan(out[0]));
}

TEST_P(Elementwise, AddIsElementwiseSum) {
  for (int64_t n : {1, 15, 1000, 70001}) {
    std::vector<float> a = randomFloats(n, 41), b = randomFloats(n, 42);
    std::vector<float> out(n);
    add(a.data(), b.data(), out.data(), n);
    for (int64_t i = 0; i < n; ++i)
      ASSERT_EQ(out[i], a[i] + b[i]) << "n=" << n << " i=" << i;
  }
}

/// applyRotary on [tokens, numHeads * headDim] rows of stride ld against
/// rotate_half in double; the angle is the fp32 product, as torch forms it.
void checkRotary(int64_t tokens, int64_t numHeads, int64_t headDim,
                 int64_t rotaryDim, int64_t ld, int64_t firstPos, float scale) {
  SCOPED_TRACE(::testing::Message() << "headDim=" << headDim << " rotaryDim="
                                    << rotaryDim << " firstPos=" << firstPos);
  const int64_t half = rotaryDim / 2;
  std::vector<float> invFreq(half);
  for (int64_t i = 0; i < half; ++i)
    invFreq[i] = float(1.0 / std::pow(10000.0, 2.0 * i / rotaryDim));
  std::vector<float> x = randomFloats(tokens * ld, 51);
  std::vector<float> y = x;
  applyRotary(y.data(), ld, tokens, numHeads, headDim, rotaryDim,
              invFreq.data(), scale, firstPos);
  for (int64_t t = 0; t < tokens; ++t) {
    for (int64_t h = 0; h < numHeads; ++h) {
      const float *xh = x.data() + t * ld + h * headDim;
      const float *yh = y.data() + t * ld + h * headDim;
      for (int64_t i = 0; i < half; ++i) {
        const float angle = float(firstPos + t) * invFreq[i];
        const double c = std::cos(double(angle)) * scale;
        const double s = std::sin(double(angle)) * scale;
        const double x1 = xh[i], x2 = xh[i + half];
        const double tol = 1e-6 * (std::fabs(x1) + std::fabs(x2)) + 1e-7;
        ASSERT_NEAR(yh[i], x1 * c - x2 * s, tol) << "t=" << t << " i=" << i;
        ASSERT_NEAR(yh[i + half], x2 * c + x1 * s, tol)
            << "t=" << t << " i=" << i;
      }
      for (int64_t i = rotaryDim; i < headDim; ++i)
        ASSERT_EQ(yh[i], xh[i]) << "pass-through feature changed, i=" << i;
    }
    for (int64_t i = numHeads * headDim; i < ld; ++i)
      ASSERT_EQ(y[t * ld + i], x[t * ld + i]) << "row padding changed";
  }
}

TEST_P(Elementwise, RotaryRotatesHalvesOfEveryHead) {
  checkRotary(9, 4, 32, 32, 4 * 32, 0, 1.0f);
}

TEST_P(Elementwise, PartialRotaryLeavesTrailingFeaturesAlone) {
  // Phi-4-mini: rotary over 3/4 of each head.
  checkRotary(5, 3, 32, 24, 3 * 32 + 5, 17, 1.0f);
  checkRotary(4, 2, 20, 6, 41, 3, 1.0f);
}

TEST_P(Elementwise, RotaryAtLargePositionsUsesScaledFp32Angles) {
  checkRotary(3, 2, 64, 64, 128, 5000, 1.1902f);
}

TEST_P(Elementwise, LogSumExpMatchesReference) {
  for (int64_t n : {1, 5, 33, 4032}) {
    std::vector<float> x = randomFloats(n, 61, -30.0f, 30.0f);
    double m = -INFINITY;
    for (float v : x)
      m = std::max(m, double(v));
    double s = 0;
    for (float v : x)
      s += std::exp(v - m);
    const double ref = m + std::log(s);
    EXPECT_NEAR(logSumExp(x.data(), n), ref, 2e-6 * std::fabs(ref) + 1e-6)
        << "n=" << n;
  }
}

TEST_P(Elementwise, LogSumExpIsStableForHugeLogits) {
  std::vector<float> x = {1e4f, 1e4f - 1.0f, -1e4f};
  const double ref = 1e4 + std::log(1.0 + std::exp(-1.0));
  EXPECT_NEAR(logSumExp(x.data(), 3), ref, 1e-3);
}

TEST_P(Elementwise, LogSumExpPropagatesInfinitiesAndNaN) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> allNegInf(19, -inf);
  EXPECT_EQ(logSumExp(allNegInf.data(), 19), -inf);
  std::vector<float> withInf = randomFloats(19, 71);
  withInf[17] = inf;
  EXPECT_EQ(logSumExp(withInf.data(), 19), inf);
  std::vector<float> withNaN = randomFloats(19, 72);
  withNaN[3] = std::nanf("");
  EXPECT_TRUE(std::isnan(logSumExp(withNaN.data(), 19)));
  withNaN[3] = 0.0f;
  withNaN[18] = std::nanf("");
  EXPECT_TRUE(std::isnan(logSumExp(withNaN.data(), 19)));
}

PHIQ_INSTANTIATE_AT_EVERY_CPU_LEVEL(Elementwise);

} // namespace
} // namespace phiq::rt::test
