//===- AWQTest.cpp - AWQ scale search and its fold --------------*- C++ -*-===//
//
// The search never loses to plain quantization (alpha = 0 is on the grid),
// wins clearly when a few input channels carry outlier activations, and
// the fold (weights' columns times s, the norm weight divided by s) leaves
// the float layer's outputs unchanged.
//
//===----------------------------------------------------------------------===//

#include "phiq/Quant/AWQ.h"
#include "phiq/Quant/BlockFormat.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

using namespace phiq::quant;

namespace {

struct Calibration {
  std::vector<float> x;         // tokens x cols
  std::vector<float> magnitude; // RMS per channel
  std::vector<float> hessian;   // X^T X
  std::vector<float> sumsq;     // diag(X^T X)
};

/// Activations whose channels 3, 17 and 40 are 25x the others.
Calibration outlierActivations(int64_t tokens, int64_t cols) {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Calibration c;
  c.x.resize(static_cast<size_t>(tokens * cols));
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t k = 0; k < cols; ++k)
      c.x[t * cols + k] =
          normal(rng) * ((k == 3 || k == 17 || k == 40) ? 25.0f : 1.0f);
  c.hessian.assign(static_cast<size_t>(cols * cols), 0.0f);
  c.sumsq.assign(static_cast<size_t>(cols), 0.0f);
  c.magnitude.resize(static_cast<size_t>(cols));
  for (int64_t a = 0; a < cols; ++a) {
    for (int64_t b = 0; b < cols; ++b) {
      double s = 0.0;
      for (int64_t t = 0; t < tokens; ++t)
        s += double(c.x[t * cols + a]) * c.x[t * cols + b];
      c.hessian[a * cols + b] = float(s);
    }
    c.sumsq[a] = c.hessian[a * cols + a];
    c.magnitude[a] = std::sqrt(c.sumsq[a] / float(tokens));
  }
  return c;
}

std::vector<float> randomWeight(int64_t rows, int64_t cols) {
  std::mt19937 rng(8);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  std::vector<float> w(static_cast<size_t>(rows * cols));
  for (float &v : w)
    v = normal(rng);
  return w;
}

TEST(AWQ, search_beats_plain_quantization_on_outlier_channels) {
  const int64_t rows = 32, cols = 64;
  Calibration c = outlierActivations(256, cols);
  std::vector<float> w = randomWeight(rows, cols);
  for (BlockFormat format : {BlockFormat::Q4_0, BlockFormat::MNB4_G32_ASYM,
                             BlockFormat::IQ4_NL}) {
    for (bool full : {true, false}) {
      auto result = awqSearch(format, w, rows, cols, c.magnitude,
                              full ? c.hessian : c.sumsq, full);
      ASSERT_TRUE(bool(result)) << llvm::toString(result.takeError());
      EXPECT_LE(result->error, result->plainError);
      EXPECT_LT(result->error, 0.8 * result->plainError)
          << formatInfo(format).name.str() << (full ? " full" : " diagonal");
      EXPECT_GT(result->alpha, 0.0f);
      // The outlier channels are scaled up, the rest down.
      EXPECT_GT(result->scales[17], 1.0f);
      EXPECT_LT(result->scales[0], 1.0f);
    }
  }
}

TEST(AWQ, nothing_to_gain_when_activations_are_uniform) {
  const int64_t rows = 8, cols = 32;
  std::vector<float> w = randomWeight(rows, cols);
  std::vector<float> magnitude(cols, 2.0f), diag(cols, 4.0f);
  auto result = awqSearch(BlockFormat::Q4_0, w, rows, cols, magnitude, diag,
                          /*fullHessian=*/false);
  ASSERT_TRUE(bool(result));
  // Equal magnitudes give s = 1 (to rounding) at every alpha: nothing to
  // gain.
  EXPECT_NEAR(result->error, result->plainError, 1e-6 * result->plainError);
  for (float s : result->scales)
    EXPECT_FLOAT_EQ(s, 1.0f);
}

TEST(AWQ, fold_into_the_norm_keeps_float_outputs) {
  // y = W (g * n(x)) against (W diag(s)) ((g / s) * n(x)).
  const int64_t rows = 16, cols = 64, tokens = 8;
  Calibration c = outlierActivations(tokens, cols);
  std::vector<float> w = randomWeight(rows, cols);
  std::vector<float> g(cols);
  for (int64_t k = 0; k < cols; ++k)
    g[k] = 0.5f + 0.01f * float(k);
  auto result = awqSearch(BlockFormat::Q4_0, w, rows, cols, c.magnitude,
                          c.sumsq, false);
  ASSERT_TRUE(bool(result));
  std::vector<float> ws = w;
  scaleColumns(ws, rows, cols, result->scales);
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t r = 0; r < rows; ++r) {
      double before = 0.0, after = 0.0;
      for (int64_t k = 0; k < cols; ++k) {
        float xk = c.x[t * cols + k];
        before += double(w[r * cols + k]) * (g[k] * xk);
        after += double(ws[r * cols + k]) * ((g[k] / result->scales[k]) * xk);
      }
      EXPECT_NEAR(after, before, 1e-5 * (1.0 + std::fabs(before)));
    }
}

TEST(AWQ, scaled_hessian_is_the_hessian_of_scaled_activations) {
  const int64_t cols = 8, tokens = 16;
  Calibration c = outlierActivations(tokens, cols);
  std::vector<float> s = {0.5f, 2.0f, 1.0f, 3.0f, 0.25f, 1.5f, 1.0f, 0.75f};
  std::vector<float> h = c.hessian;
  scaleHessian(h, cols, s);
  for (int64_t a = 0; a < cols; ++a)
    for (int64_t b = 0; b < cols; ++b) {
      double direct = 0.0;
      for (int64_t t = 0; t < tokens; ++t)
        direct += double(c.x[t * cols + a] / s[a]) * (c.x[t * cols + b] / s[b]);
      EXPECT_NEAR(h[a * cols + b], direct, 1e-4 * (1.0 + std::fabs(direct)));
    }
}

TEST(AWQ, rejects_mismatched_statistics) {
  std::vector<float> w = randomWeight(2, 32);
  std::vector<float> magnitude(31, 1.0f), diag(32, 1.0f);
  auto result =
      awqSearch(BlockFormat::Q4_0, w, 2, 32, magnitude, diag, false);
  ASSERT_FALSE(bool(result));
  EXPECT_NE(llvm::toString(result.takeError()).find("31 activation"),
            std::string::npos);
}

} // namespace
