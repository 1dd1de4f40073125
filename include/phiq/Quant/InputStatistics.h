//===- InputStatistics.h - What a linear layer's inputs looked like -*- C++ -*-===//
//
// Calibration runs the model on sample text and, for every weight matrix,
// summarizes the activations it multiplied, per input channel (column of
// the weight):
//
//   sumsq[c]  = sum over tokens of x[c]^2   (llama.cpp's importance matrix
//               is sumsq / count: the mean squared activation)
//   absmax[c] = max over tokens of |x[c]|   (outlier channels, AWQ scales)
//   hessian   = X^T X, cols x cols          (GPTQ's second-order term;
//               optional, it is cols^2 floats per matrix)
//   count     = tokens seen
//
// Accumulation is in double, so a long calibration run does not lose the
// small contributions of late tokens; the results are exported as f32.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_QUANT_INPUTSTATISTICS_H
#define PHIQ_QUANT_INPUTSTATISTICS_H

#include "llvm/ADT/ArrayRef.h"

#include <cstdint>
#include <vector>

namespace phiq::quant {

class InputStatistics {
public:
  /// Statistics of `cols`-channel inputs; with `hessian`, X^T X as well.
  InputStatistics(int64_t cols, bool hessian);

  /// Adds `rows` inputs of `cols` channels each (row-major). Rows holding a
  /// non-finite value are counted but add nothing (one bad activation must
  /// not poison the whole matrix); their number is numNonFiniteRows().
  void accumulate(llvm::ArrayRef<float> input, int64_t rows);

  int64_t cols() const { return numCols; }
  int64_t count() const { return tokens; }
  int64_t numNonFiniteRows() const { return nonFinite; }
  bool hasHessian() const { return !xtx.empty(); }

  /// Per-channel sum of squares, abs-max and X^T X (row-major, symmetric),
  /// as f32.
  std::vector<float> sumOfSquares() const;
  std::vector<float> absMax() const;
  std::vector<float> hessian() const;

private:
  int64_t numCols;
  int64_t tokens = 0;
  int64_t nonFinite = 0;
  std::vector<double> sumsq;
  std::vector<float> amax;
  /// Upper triangle (j >= i) of X^T X, row-major cols x cols.
  std::vector<double> xtx;
};

} // namespace phiq::quant

#endif // PHIQ_QUANT_INPUTSTATISTICS_H
