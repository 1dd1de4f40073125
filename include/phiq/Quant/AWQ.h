//===- AWQ.h - Activation-aware per-channel weight scaling ------*- C++ -*-===//
//
// AWQ (Lin et al., 2023): before quantizing W [rows, cols], multiply its
// input channels by s and divide the activations by s (folded into the op
// that produces them), so the channels that see large activations lose less
// to rounding. The float product is unchanged: (W diag(s)) (x / s) = W x.
// The scale is searched on a grid,
//
//   s = m^alpha / sqrt(max(m^alpha) * min(m^alpha)),  alpha = 0, 1/20, ..., 19/20,
//
// with m the per-channel activation magnitude, keeping the alpha with the
// least output error
//
//   E(s) = sum_r d_r^T H d_r,  d = Q(W diag(s)) diag(1/s) - W,
//
// where H = X^T X when the calibration store has it (the exact output error
// on the calibration tokens), else diag(sum of x^2) (the same error with
// the channels taken as uncorrelated). alpha = 0 is plain quantization, so
// the search never does worse than it on the calibration data.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_QUANT_AWQ_H
#define PHIQ_QUANT_AWQ_H

#include "phiq/Quant/BlockFormat.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <vector>

namespace phiq::quant {

struct AWQResult {
  /// cols scales (all ones when alpha = 0 wins).
  std::vector<float> scales;
  float alpha = 0.0f;
  /// E at the chosen alpha and at alpha = 0.
  double error = 0.0, plainError = 0.0;
};

/// The grid search. `magnitude` holds cols per-channel activation
/// magnitudes (RMS: sqrt(sum x^2 / tokens)); `hessian` is cols x cols
/// (X^T X) or, when `fullHessian` is false, cols values diag(X^T X).
/// The trial quantizations use `format`'s round-to-nearest quantize().
llvm::Expected<AWQResult> awqSearch(BlockFormat format,
                                    llvm::ArrayRef<float> weight, int64_t rows,
                                    int64_t cols,
                                    llvm::ArrayRef<float> magnitude,
                                    llvm::ArrayRef<float> hessian,
                                    bool fullHessian, int gridSteps = 20);

/// W[r, c] *= s[c]: the weight side of the fold.
void scaleColumns(llvm::MutableArrayRef<float> weight, int64_t rows,
                  int64_t cols, llvm::ArrayRef<float> scales);

/// H[a, b] /= s[a] s[b]: the Hessian of the activations x / s.
void scaleHessian(llvm::MutableArrayRef<float> hessian, int64_t cols,
                  llvm::ArrayRef<float> scales);

} // namespace phiq::quant

#endif // PHIQ_QUANT_AWQ_H
