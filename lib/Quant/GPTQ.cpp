//===- GPTQ.cpp - Error-compensating quantization (GPTQ) ------------------===//
//
// The algorithm box of GPTQ.h, row by row: every row of W sees the same
// factor U, so rows run in parallel with no shared state but U. The factor
// is computed in double (H's entries span many orders of magnitude for
// real activations, and the inverse squares the condition number).
//
//===----------------------------------------------------------------------===//
#include "phiq/Quant/GPTQ.h"

#include "RowCodecs.h"

#include "phiq/Quant/CodeGrid.h"
#include "phiq/Runtime/Kernels.h"

#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <numeric>

using namespace phiq::quant;

namespace {

/// In-place lower Cholesky factor of the n x n row-major `a` (the upper part
/// is left as it was); false when a pivot is not positive.
bool choleskyLower(std::vector<double> &a, int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    double *rowJ = &a[j * n];
    double d = rowJ[j];
    for (int64_t k = 0; k < j; ++k)
      d -= rowJ[k] * rowJ[k];
    if (!(d > 0.0) || !std::isfinite(d))
      return false;
    d = std::sqrt(d);
    rowJ[j] = d;
    for (int64_t i = j + 1; i < n; ++i) {
      double *rowI = &a[i * n];
      double s = rowI[j];
      for (int64_t k = 0; k < j; ++k)
        s -= rowI[k] * rowJ[k];
      rowI[j] = s / d;
    }
  }
  return true;
}

} // namespace

std::vector<int64_t> phiq::quant::gptqColumnOrder(llvm::ArrayRef<float> hessian,
                                                  int64_t cols, bool actOrder) {
  std::vector<int64_t> order(static_cast<size_t>(cols));
  std::iota(order.begin(), order.end(), 0);
  if (actOrder)
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return hessian[a * cols + a] > hessian[b * cols + b];
    });
  return order;
}

llvm::Expected<std::vector<double>>
phiq::quant::gptqInverseFactor(llvm::ArrayRef<float> hessian, int64_t cols,
                               llvm::ArrayRef<int64_t> order, double damp) {
  if (int64_t(hessian.size()) != cols * cols)
    return llvm::createStringError(llvm::formatv(
        "the Hessian holds {0} values, a {1}x{1} matrix needs {2}",
        hessian.size(), cols, cols * cols));
  if (!(damp >= 0.0))
    return llvm::createStringError("dampening must be non-negative");
  const int64_t n = cols;
  std::vector<double> h(static_cast<size_t>(n * n));
  double meanDiagonal = 0.0;
  for (int64_t a = 0; a < n; ++a) {
    for (int64_t b = 0; b < n; ++b) {
      float v = hessian[order[a] * n + order[b]];
      if (!std::isfinite(v))
        return llvm::createStringError("the Hessian has a non-finite entry");
      h[a * n + b] = v;
    }
    // A column no calibration input ever touched: any value is exact for
    // it; a unit diagonal keeps the factor defined (as GPTQ does).
    if (h[a * n + a] == 0.0)
      h[a * n + a] = 1.0;
    meanDiagonal += h[a * n + a];
  }
  meanDiagonal /= double(n);
  for (int64_t a = 0; a < n; ++a)
    h[a * n + a] += damp * meanDiagonal;

  // H = L L^T.
  if (!choleskyLower(h, n))
    return llvm::createStringError(
        "the Hessian is not positive definite after dampening (raise "
        "gptq-damp)");
  // Linv = L^-1 (lower), by forward substitution column by column.
  std::vector<double> linv(static_cast<size_t>(n * n), 0.0);
  for (int64_t j = 0; j < n; ++j) {
    linv[j * n + j] = 1.0 / h[j * n + j];
    for (int64_t i = j + 1; i < n; ++i) {
      double s = 0.0;
      for (int64_t k = j; k < i; ++k)
        s += h[i * n + k] * linv[k * n + j];
      linv[i * n + j] = -s / h[i * n + i];
    }
  }
  // H^-1 = Linv^T Linv (symmetric; only the lower part is needed below).
  std::vector<double> inv(static_cast<size_t>(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j <= i; ++j) {
      double s = 0.0;
      for (int64_t k = i; k < n; ++k)
        s += linv[k * n + i] * linv[k * n + j];
      inv[i * n + j] = s;
    }
  // H^-1 = C C^T with C lower, so U = C^T.
  if (!choleskyLower(inv, n))
    return llvm::createStringError(
        "the inverse Hessian lost positive definiteness in rounding (raise "
        "gptq-damp)");
  std::vector<double> u(static_cast<size_t>(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j <= i; ++j)
      u[j * n + i] = inv[i * n + j];
  return u;
}

llvm::Error phiq::quant::gptqQuantize(BlockFormat format,
                                      llvm::ArrayRef<float> weight,
                                      int64_t rows, int64_t cols,
                                      llvm::ArrayRef<float> hessian,
                                      const GPTQOptions &options,
                                      llvm::MutableArrayRef<uint8_t> dst) {
  const FormatInfo &info = formatInfo(format);
  if (!hasCodeGrid(format))
    return llvm::createStringError(
        llvm::formatv("GPTQ needs a block format, not {0}", info.name));
  llvm::Expected<int64_t> bytesPerRow = rowBytes(format, cols);
  if (!bytesPerRow)
    return bytesPerRow.takeError();
  if (int64_t(weight.size()) != rows * cols)
    return llvm::createStringError(
        llvm::formatv("the weight holds {0} values, {1}x{2} needs {3}",
                      weight.size(), rows, cols, rows * cols));
  if (int64_t(dst.size()) != rows * *bytesPerRow)
    return llvm::createStringError("the output buffer has the wrong size");
  if (options.block < 1)
    return llvm::createStringError("the GPTQ block must be positive");
  for (float v : weight)
    if (!std::isfinite(v))
      return llvm::createStringError("the weight has a non-finite value");

  std::vector<int64_t> order = gptqColumnOrder(hessian, cols, options.actOrder);
  llvm::Expected<std::vector<double>> factor =
      gptqInverseFactor(hessian, cols, order, options.damp);
  if (!factor)
    return factor.takeError();
  const std::vector<double> &u = *factor;
  std::vector<int64_t> position(static_cast<size_t>(cols));
  for (int64_t i = 0; i < cols; ++i)
    position[order[i]] = i;
  std::vector<float> importance(static_cast<size_t>(cols));
  for (int64_t c = 0; c < cols; ++c)
    importance[c] = hessian[c * cols + c];

  const int64_t blockElements = info.blockElements;
  const int64_t blockBytes = info.blockBytes;
  const int64_t numBlocks = cols / blockElements;
  const detail::QuantizeRowFn quantizeBlock = detail::rowQuantizer(format);
  const int64_t lazy = options.block;

  // The importance of a column's rounding error inside the sweep: diag(H),
  // or 1 / U_ii^2, the error's true cost once the earlier columns have
  // absorbed what they can (the Schur complement of H).
  if (options.importance == GPTQImportance::Schur)
    for (int64_t i = 0; i < cols; ++i)
      importance[order[i]] = float(1.0 / (u[i * cols + i] * u[i * cols + i]));

  phiq::rt::parallelFor(rows, 1, [&](int64_t begin, int64_t end) {
    std::vector<double> w(static_cast<size_t>(cols)), err(static_cast<size_t>(lazy));
    std::vector<float> values(static_cast<size_t>(blockElements));
    std::vector<float> target(static_cast<size_t>(cols)),
        lastTarget(static_cast<size_t>(cols));
    std::vector<int> codes(static_cast<size_t>(cols));
    std::vector<char> chosen(static_cast<size_t>(numBlocks));
    std::vector<uint8_t> trial(static_cast<size_t>(*bytesPerRow));
    std::vector<double> d(static_cast<size_t>(cols));
    CodeGrid grid, blockGrid;
    grid.scale.resize(static_cast<size_t>(cols));
    grid.offset.resize(static_cast<size_t>(cols));
    grid.shift.resize(static_cast<size_t>(cols));

    // One GPTQ sweep of row r into `bytes`. Sweep 0 chooses a block's
    // scales from its values when the sweep reaches it; a refit sweep from
    // the values the previous sweep rounded (`lastTarget`: compensated by
    // every earlier column, also those inside the block). Returns the row's
    // output error (w - q)^T H (w - q).
    auto sweep = [&](int64_t r, bool refit, uint8_t *bytes) {
      for (int64_t i = 0; i < cols; ++i)
        w[i] = weight[r * cols + order[i]];
      std::fill(chosen.begin(), chosen.end(), 0);
      for (int64_t b0 = 0; b0 < cols; b0 += lazy) {
        const int64_t b1 = std::min(b0 + lazy, cols);
        for (int64_t i = b0; i < b1; ++i) {
          const int64_t col = order[i];
          const int64_t blk = col / blockElements;
          if (!chosen[blk]) {
            const int64_t first = blk * blockElements;
            for (int64_t k = 0; k < blockElements; ++k) {
              if (refit) {
                values[k] = lastTarget[first + k];
                continue;
              }
              // Columns past this lazy block still owe the errors of its
              // columns before i: settle them for the scale choice.
              const int64_t p = position[first + k];
              double v = w[p];
              if (p >= b1)
                for (int64_t m = b0; m < i; ++m)
                  v -= err[m - b0] * u[m * cols + p];
              values[k] = float(v);
            }
            uint8_t *block = bytes + blk * blockBytes;
            quantizeBlock(values.data(), blockElements,
                          importance.data() + first, block);
            codeGrid(format, block, blockElements, blockGrid);
            std::copy(blockGrid.scale.begin(), blockGrid.scale.end(),
                      grid.scale.begin() + first);
            std::copy(blockGrid.offset.begin(), blockGrid.offset.end(),
                      grid.offset.begin() + first);
            std::copy(blockGrid.shift.begin(), blockGrid.shift.end(),
                      grid.shift.begin() + first);
            grid.numCodes = blockGrid.numCodes;
            grid.table = blockGrid.table;
            chosen[blk] = 1;
          }
          target[col] = float(w[i]);
          const int code = grid.nearestCode(col, float(w[i]));
          codes[col] = code;
          const double e = (w[i] - double(grid.value(code, col))) / u[i * cols + i];
          err[i - b0] = e;
          const double *ui = &u[i * cols];
          for (int64_t j = i + 1; j < b1; ++j)
            w[j] -= e * ui[j];
        }
        // The block's errors onto every later column at once.
        for (int64_t i = b0; i < b1; ++i) {
          const double e = err[i - b0];
          const double *ui = &u[i * cols];
          for (int64_t j = b1; j < cols; ++j)
            w[j] -= e * ui[j];
        }
      }
      setCodes(format, bytes, cols, codes.data());
      if (options.refits == 0)
        return 0.0;
      for (int64_t c = 0; c < cols; ++c)
        d[c] = double(weight[r * cols + c]) - double(grid.value(codes[c], c));
      double sum = 0.0;
      for (int64_t a = 0; a < cols; ++a) {
        const float *ha = &hessian[a * cols];
        double s = 0.0;
        for (int64_t b = 0; b < cols; ++b)
          s += double(ha[b]) * d[b];
        sum += d[a] * s;
      }
      return sum;
    };

    for (int64_t r = begin; r < end; ++r) {
      uint8_t *out = dst.data() + r * *bytesPerRow;
      double best = sweep(r, /*refit=*/false, out);
      // Refits: keep a sweep only when it lowers the row's output error.
      for (int64_t pass = 0; pass < options.refits; ++pass) {
        lastTarget.swap(target);
        double error = sweep(r, /*refit=*/true, trial.data());
        if (!(error < best))
          break;
        best = error;
        std::copy(trial.begin(), trial.end(), out);
      }
    }
  });
  return llvm::Error::success();
}

double phiq::quant::hessianWeightedError(BlockFormat format,
                                         llvm::ArrayRef<float> weight,
                                         int64_t rows, int64_t cols,
                                         llvm::ArrayRef<float> hessian,
                                         llvm::ArrayRef<uint8_t> quantized) {
  std::vector<float> decoded(static_cast<size_t>(rows * cols));
  dequantize(format, quantized, rows, cols, decoded);
  std::vector<double> perRow(static_cast<size_t>(rows));
  phiq::rt::parallelFor(rows, 1, [&](int64_t begin, int64_t end) {
    std::vector<double> d(static_cast<size_t>(cols));
    for (int64_t r = begin; r < end; ++r) {
      for (int64_t c = 0; c < cols; ++c)
        d[c] = double(weight[r * cols + c]) - double(decoded[r * cols + c]);
      double sum = 0.0;
      for (int64_t a = 0; a < cols; ++a) {
        double s = 0.0;
        for (int64_t b = 0; b < cols; ++b)
          s += double(hessian[a * cols + b]) * d[b];
        sum += d[a] * s;
      }
      perRow[r] = sum;
    }
  });
  return std::accumulate(perRow.begin(), perRow.end(), 0.0);
}
