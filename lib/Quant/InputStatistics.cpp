//===- InputStatistics.cpp - What a linear layer's inputs looked like ----===//
#include "phiq/Quant/InputStatistics.h"

#include "phiq/Runtime/Kernels.h"

#include <algorithm>
#include <cassert>
#include <cmath>

using namespace phiq::quant;

InputStatistics::InputStatistics(int64_t cols, bool hessian)
    : numCols(cols), sumsq(size_t(cols), 0.0), amax(size_t(cols), 0.0f) {
  if (hessian)
    xtx.assign(size_t(cols * cols), 0.0);
}

void InputStatistics::accumulate(llvm::ArrayRef<float> input, int64_t rows) {
  assert(int64_t(input.size()) >= rows * numCols && "input too short");
  const int64_t n = numCols;
  std::vector<const float *> finiteRows;
  finiteRows.reserve(size_t(rows));
  for (int64_t r = 0; r < rows; ++r) {
    const float *x = input.data() + r * n;
    bool finite = std::all_of(x, x + n, [](float v) { return std::isfinite(v); });
    if (!finite) {
      ++nonFinite;
      continue;
    }
    finiteRows.push_back(x);
    for (int64_t c = 0; c < n; ++c) {
      sumsq[c] += double(x[c]) * double(x[c]);
      amax[c] = std::max(amax[c], std::fabs(x[c]));
    }
  }
  tokens += rows;
  if (xtx.empty() || finiteRows.empty())
    return;
  // X^T X is the expensive part (cols^2 per token): rows of the triangle
  // are independent, so spread them over the worker threads.
  phiq::rt::parallelFor(n, 8, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      double *out = xtx.data() + i * n;
      for (const float *x : finiteRows) {
        const double xi = x[i];
        if (xi == 0.0)
          continue;
        for (int64_t j = i; j < n; ++j)
          out[j] += xi * double(x[j]);
      }
    }
  });
}

std::vector<float> InputStatistics::sumOfSquares() const {
  return std::vector<float>(sumsq.begin(), sumsq.end());
}

std::vector<float> InputStatistics::absMax() const { return amax; }

std::vector<float> InputStatistics::hessian() const {
  std::vector<float> full(xtx.size());
  const int64_t n = numCols;
  for (int64_t i = 0; i < n && !xtx.empty(); ++i)
    for (int64_t j = i; j < n; ++j)
      full[i * n + j] = full[j * n + i] = float(xtx[i * n + j]);
  return full;
}
