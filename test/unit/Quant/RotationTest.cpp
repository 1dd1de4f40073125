//===- RotationTest.cpp - Residual-stream rotation folds --------*- C++ -*-===//
//
// Q is orthogonal for power-of-two, mixed and odd widths; the two products
// match a dense reference; and a small transformer-shaped network
// (embedding, rms_norm -> linear, linear added back, final rms_norm ->
// lm_head) gives the same logits with the rotation folded into its weights.
//
//===----------------------------------------------------------------------===//

#include "phiq/Quant/Rotation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

using namespace phiq::quant;

namespace {

std::vector<float> randomVector(int64_t n, unsigned seed, float offset = 0.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float &x : v)
    x = offset + normal(rng);
  return v;
}

TEST(Rotation, is_orthogonal_and_deterministic) {
  for (int64_t n : {1, 7, 64, 96, 256}) {
    std::vector<double> q = residualRotation(n, 5);
    ASSERT_EQ(int64_t(q.size()), n * n);
    for (int64_t a = 0; a < n; ++a)
      for (int64_t b = 0; b < n; ++b) {
        double s = 0.0;
        for (int64_t k = 0; k < n; ++k)
          s += q[k * n + a] * q[k * n + b];
        ASSERT_NEAR(s, a == b ? 1.0 : 0.0, 1e-12) << n << ": " << a << "," << b;
      }
    EXPECT_EQ(q, residualRotation(n, 5));
    if (n > 1) {
      EXPECT_NE(q, residualRotation(n, 6));
    }
  }
  // A power of two is a Hadamard matrix: every entry is +-1/sqrt(n).
  std::vector<double> h = residualRotation(64, 1);
  for (double v : h)
    ASSERT_NEAR(std::fabs(v), 1.0 / 8.0, 1e-15);
}

TEST(Rotation, products_match_the_dense_reference) {
  const int64_t n = 24, rows = 5, cols = 3;
  std::vector<double> q = residualRotation(n, 2);
  std::vector<float> w = randomVector(rows * n, 1), g = randomVector(n, 2, 1.0f);
  std::vector<float> out(static_cast<size_t>(rows * n));
  rotateInputs(w, rows, n, g, q, out);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < n; ++j) {
      double s = 0.0;
      for (int64_t k = 0; k < n; ++k)
        s += double(w[r * n + k]) * double(g[k]) * q[k * n + j];
      ASSERT_NEAR(out[r * n + j], s, 1e-5);
    }
  std::vector<float> v = randomVector(n * cols, 3), vOut(static_cast<size_t>(n * cols));
  rotateOutputs(v, n, cols, q, vOut);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < cols; ++c) {
      double s = 0.0;
      for (int64_t k = 0; k < n; ++k)
        s += q[k * n + i] * double(v[k * cols + c]);
      ASSERT_NEAR(vOut[i * cols + c], s, 1e-5);
    }
}

/// y = W x for W [rows, cols].
std::vector<float> matvec(const std::vector<float> &w, int64_t rows,
                          int64_t cols, const std::vector<float> &x) {
  std::vector<float> y(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    double s = 0.0;
    for (int64_t c = 0; c < cols; ++c)
      s += double(w[r * cols + c]) * double(x[c]);
    y[r] = float(s);
  }
  return y;
}

std::vector<float> rmsNorm(const std::vector<float> &x,
                           const std::vector<float> &g) {
  double ss = 0.0;
  for (float v : x)
    ss += double(v) * v;
  double inv = 1.0 / std::sqrt(ss / double(x.size()) + 1e-5);
  std::vector<float> y(x.size());
  for (size_t i = 0; i < x.size(); ++i)
    y[i] = float(double(x[i]) * inv * double(g[i]));
  return y;
}

/// The network of the file comment for token `t`: h = E[t];
/// h += Wo silu(Wi rms(h, g1)); logits = L rms(h, g2).
struct Net {
  int64_t n, vocab, inner;
  std::vector<float> e, g1, wi, wo, g2, l;

  std::vector<float> logits(int64_t t) const {
    std::vector<float> h(e.begin() + t * n, e.begin() + (t + 1) * n);
    std::vector<float> a = matvec(wi, inner, n, rmsNorm(h, g1));
    for (float &v : a)
      v = v / (1.0f + std::exp(-v));
    std::vector<float> o = matvec(wo, n, inner, a);
    for (int64_t i = 0; i < n; ++i)
      h[i] += o[i];
    return matvec(l, vocab, n, rmsNorm(h, g2));
  }
};

TEST(Rotation, folded_network_computes_the_same_logits) {
  for (int64_t n : {32, 48}) {
    Net net{n, 11, 20, {}, {}, {}, {}, {}, {}};
    net.e = randomVector(net.vocab * n, 1);
    net.g1 = randomVector(n, 2, 1.0f);
    net.wi = randomVector(net.inner * n, 3);
    net.wo = randomVector(n * net.inner, 4);
    net.g2 = randomVector(n, 5, 1.0f);
    net.l = randomVector(net.vocab * n, 6);
    // An outlier channel, the case rotation is for.
    for (int64_t t = 0; t < net.vocab; ++t)
      net.e[t * n + 3] *= 30.0f;

    std::vector<double> q = residualRotation(n, 9);
    Net rot = net;
    rotateInputs(net.e, net.vocab, n, {}, q, rot.e);
    rotateInputs(net.wi, net.inner, n, net.g1, q, rot.wi);
    rotateOutputs(net.wo, n, net.inner, q, rot.wo);
    rotateInputs(net.l, net.vocab, n, net.g2, q, rot.l);
    rot.g1.assign(size_t(n), 1.0f);
    rot.g2.assign(size_t(n), 1.0f);
    for (int64_t t = 0; t < net.vocab; ++t) {
      std::vector<float> a = net.logits(t), b = rot.logits(t);
      for (int64_t v = 0; v < net.vocab; ++v)
        ASSERT_NEAR(a[v], b[v], 1e-3 * (1.0 + std::fabs(a[v])))
            << "n " << n << " token " << t << " logit " << v;
    }
    // The rotated table has no outlier channel left.
    double maxAbs = 0.0, maxAbsRotated = 0.0;
    for (size_t i = 0; i < net.e.size(); ++i) {
      maxAbs = std::max(maxAbs, double(std::fabs(net.e[i])));
      maxAbsRotated = std::max(maxAbsRotated, double(std::fabs(rot.e[i])));
    }
    EXPECT_LT(maxAbsRotated, 0.5 * maxAbs) << n;
  }
}

} // namespace
