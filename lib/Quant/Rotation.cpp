//===- Rotation.cpp - Orthogonal rotations of a residual stream -----------===//
//
// Rotation.h's Q and the two products the folds need, row-parallel on the
// runtime's pool.
//
//===----------------------------------------------------------------------===//
#include "phiq/Quant/Rotation.h"

#include "phiq/Runtime/Kernels.h"

#include <cassert>
#include <cmath>
#include <random>

using namespace phiq::quant;

namespace {

/// A random orthogonal m x m matrix: Gram-Schmidt (twice, for accuracy) on
/// the rows of a Gaussian matrix.
std::vector<double> randomOrthogonal(int64_t m, std::mt19937_64 &rng) {
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> r(static_cast<size_t>(m * m));
  for (double &v : r)
    v = normal(rng);
  for (int64_t i = 0; i < m; ++i) {
    double *ri = &r[i * m];
    for (int pass = 0; pass < 2; ++pass)
      for (int64_t k = 0; k < i; ++k) {
        const double *rk = &r[k * m];
        double dot = 0.0;
        for (int64_t j = 0; j < m; ++j)
          dot += ri[j] * rk[j];
        for (int64_t j = 0; j < m; ++j)
          ri[j] -= dot * rk[j];
      }
    double norm = 0.0;
    for (int64_t j = 0; j < m; ++j)
      norm += ri[j] * ri[j];
    norm = std::sqrt(norm);
    for (int64_t j = 0; j < m; ++j)
      ri[j] /= norm;
  }
  return r;
}

} // namespace

std::vector<double> phiq::quant::residualRotation(int64_t n, uint64_t seed) {
  assert(n > 0 && "a rotation needs a dimension");
  int64_t h = 1;
  while (n % (2 * h) == 0)
    h *= 2;
  const int64_t m = n / h;
  std::mt19937_64 rng(seed);
  std::vector<double> sign(static_cast<size_t>(h));
  for (double &s : sign)
    s = (rng() & 1) ? -1.0 : 1.0;
  std::vector<double> r = m > 1 ? randomOrthogonal(m, rng)
                                : std::vector<double>{1.0};
  // Sylvester's Hadamard: H[a][b] = (-1)^popcount(a & b).
  const double norm = 1.0 / std::sqrt(double(h));
  std::vector<double> q(static_cast<size_t>(n * n));
  for (int64_t a = 0; a < h; ++a)
    for (int64_t b = 0; b < h; ++b) {
      double hab = (__builtin_popcountll(uint64_t(a & b)) & 1 ? -norm : norm) *
                   sign[b];
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < m; ++j)
          q[(a * m + i) * n + b * m + j] = hab * r[i * m + j];
    }
  return q;
}

void phiq::quant::rotateInputs(llvm::ArrayRef<float> weight, int64_t rows,
                               int64_t n, llvm::ArrayRef<float> g,
                               llvm::ArrayRef<double> q,
                               llvm::MutableArrayRef<float> out) {
  phiq::rt::parallelFor(rows, 1, [&](int64_t begin, int64_t end) {
    std::vector<double> scaled(static_cast<size_t>(n)), acc(static_cast<size_t>(n));
    for (int64_t r = begin; r < end; ++r) {
      for (int64_t k = 0; k < n; ++k)
        scaled[k] = double(weight[r * n + k]) * (g.empty() ? 1.0 : double(g[k]));
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t k = 0; k < n; ++k) {
        const double s = scaled[k];
        const double *qk = &q[k * n];
        for (int64_t j = 0; j < n; ++j)
          acc[j] += s * qk[j];
      }
      for (int64_t j = 0; j < n; ++j)
        out[r * n + j] = float(acc[j]);
    }
  });
}

void phiq::quant::rotateOutputs(llvm::ArrayRef<float> weight, int64_t n,
                                int64_t cols, llvm::ArrayRef<double> q,
                                llvm::MutableArrayRef<float> out) {
  // (Q^T W)[i][c] = sum_k Q[k][i] W[k][c]: output row i at a time.
  phiq::rt::parallelFor(n, 1, [&](int64_t begin, int64_t end) {
    std::vector<double> acc(static_cast<size_t>(cols));
    for (int64_t i = begin; i < end; ++i) {
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t k = 0; k < n; ++k) {
        const double s = q[k * n + i];
        const float *wk = &weight[k * cols];
        for (int64_t c = 0; c < cols; ++c)
          acc[c] += s * double(wk[c]);
      }
      for (int64_t c = 0; c < cols; ++c)
        out[i * cols + c] = float(acc[c]);
    }
  });
}
