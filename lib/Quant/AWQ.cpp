//===- AWQ.cpp - Activation-aware per-channel weight scaling --------------===//
//
// The grid search of AWQ.h. Each trial quantizes the whole scaled matrix
// (rows in parallel inside quantize()) and measures the output error in
// double, rows in parallel, summed in row order.
//
//===----------------------------------------------------------------------===//
#include "phiq/Quant/AWQ.h"

#include "phiq/Runtime/Kernels.h"

#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cmath>
#include <numeric>

using namespace phiq::quant;

namespace {

/// sum_r d_r^T H d_r with d = decoded / s - W.
double outputError(llvm::ArrayRef<float> weight, llvm::ArrayRef<float> decoded,
                   llvm::ArrayRef<float> scales, int64_t rows, int64_t cols,
                   llvm::ArrayRef<float> hessian, bool full) {
  std::vector<double> perRow(static_cast<size_t>(rows));
  phiq::rt::parallelFor(rows, 4, [&](int64_t begin, int64_t end) {
    std::vector<double> d(static_cast<size_t>(cols));
    for (int64_t r = begin; r < end; ++r) {
      for (int64_t c = 0; c < cols; ++c)
        d[c] = double(decoded[r * cols + c]) / double(scales[c]) -
               double(weight[r * cols + c]);
      double sum = 0.0;
      if (full) {
        for (int64_t a = 0; a < cols; ++a) {
          double s = 0.0;
          const float *h = &hessian[a * cols];
          for (int64_t b = 0; b < cols; ++b)
            s += double(h[b]) * d[b];
          sum += d[a] * s;
        }
      } else {
        for (int64_t c = 0; c < cols; ++c)
          sum += double(hessian[c]) * d[c] * d[c];
      }
      perRow[r] = sum;
    }
  });
  return std::accumulate(perRow.begin(), perRow.end(), 0.0);
}

} // namespace

void phiq::quant::scaleColumns(llvm::MutableArrayRef<float> weight,
                               int64_t rows, int64_t cols,
                               llvm::ArrayRef<float> scales) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      weight[r * cols + c] *= scales[c];
}

void phiq::quant::scaleHessian(llvm::MutableArrayRef<float> hessian,
                               int64_t cols, llvm::ArrayRef<float> scales) {
  for (int64_t a = 0; a < cols; ++a)
    for (int64_t b = 0; b < cols; ++b)
      hessian[a * cols + b] =
          float(double(hessian[a * cols + b]) / (double(scales[a]) * scales[b]));
}

llvm::Expected<AWQResult>
phiq::quant::awqSearch(BlockFormat format, llvm::ArrayRef<float> weight,
                       int64_t rows, int64_t cols,
                       llvm::ArrayRef<float> magnitude,
                       llvm::ArrayRef<float> hessian, bool fullHessian,
                       int gridSteps) {
  if (int64_t(weight.size()) != rows * cols)
    return llvm::createStringError("the weight does not hold rows x cols values");
  if (int64_t(magnitude.size()) != cols)
    return llvm::createStringError(llvm::formatv(
        "{0} activation magnitudes for {1} input channels", magnitude.size(),
        cols));
  if (int64_t(hessian.size()) != (fullHessian ? cols * cols : cols))
    return llvm::createStringError("the Hessian has the wrong size");
  if (gridSteps < 1)
    return llvm::createStringError("the alpha grid needs a step");
  llvm::Expected<int64_t> bytesPerRow = rowBytes(format, cols);
  if (!bytesPerRow)
    return bytesPerRow.takeError();
  for (float m : magnitude)
    if (!(m >= 0.0f) || !std::isfinite(m))
      return llvm::createStringError(
          "activation magnitudes must be finite and non-negative");

  // Channels never seen active get the smallest seen magnitude, so that
  // their scale stays finite (their error weighs nothing either way).
  float floor = 0.0f;
  for (float m : magnitude)
    if (m > 0.0f && (floor == 0.0f || m < floor))
      floor = m;
  if (floor == 0.0f)
    floor = 1.0f;

  std::vector<float> scaled(weight.size()), decoded(weight.size());
  std::vector<uint8_t> blocks(static_cast<size_t>(rows * *bytesPerRow));
  std::vector<float> s(static_cast<size_t>(cols));
  AWQResult best;
  for (int step = 0; step < gridSteps; ++step) {
    const double alpha = double(step) / double(gridSteps);
    double lo = INFINITY, hi = 0.0;
    for (int64_t c = 0; c < cols; ++c) {
      double v = std::pow(double(std::max(magnitude[c], floor)), alpha);
      s[c] = float(v);
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    const double norm = std::sqrt(lo * hi);
    for (float &v : s)
      v = float(double(v) / norm);
    std::copy(weight.begin(), weight.end(), scaled.begin());
    scaleColumns(scaled, rows, cols, s);
    if (llvm::Error e = quantize(format, scaled, rows, cols, blocks))
      return std::move(e);
    dequantize(format, blocks, rows, cols, decoded);
    double error =
        outputError(weight, decoded, s, rows, cols, hessian, fullHessian);
    if (step == 0)
      best.plainError = error;
    if (step == 0 || error < best.error) {
      best.error = error;
      best.alpha = float(alpha);
      best.scales = s;
    }
  }
  return best;
}
