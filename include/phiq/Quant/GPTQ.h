//===- GPTQ.h - Error-compensating quantization (GPTQ) ----------*- C++ -*-===//
//
// GPTQ (Frantar et al., 2022) quantizes W [rows, cols] one input column at
// a time and moves each column's rounding error onto the columns not yet
// quantized, so that the layer's output error on calibration inputs X,
// ||(W - Q) X^T||^2 = sum_r (w_r - q_r)^T H (w_r - q_r) with H = X^T X, is
// small rather than the weight error. With U the upper Cholesky factor of
// H^-1 (H dampened by `damp` times its mean diagonal), after column i
//
//   e = (w_i - q_i) / U_ii,   w_j -= e * U_ij   for every later column j,
//
// applied lazily: inside a block of `block` columns at once, to the rest of
// the row once per block. Rows are independent and run in parallel.
//
// The target is a real block format: a block's scales (for the K-quants the
// whole 256-element super-block's) are chosen by the format's own
// quantizer, with importance diag(H), from the block's current, already
// compensated values when the sweep first reaches one of its columns; its
// columns are then rounded on that fixed grid (CodeGrid.h). The result is
// the format's packed bytes. With activation order, columns are visited by
// decreasing diag(H); blocks still keep their stored (natural) columns, so
// the bytes are the format's unchanged.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_QUANT_GPTQ_H
#define PHIQ_QUANT_GPTQ_H

#include "phiq/Quant/BlockFormat.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <vector>

namespace phiq::quant {

/// The importance the format's scale search weights a block's error by.
enum class GPTQImportance {
  /// diag(H): the error's cost were the other columns left alone.
  Diagonal,
  /// 1 / [H^-1]_ii in visiting order (1 / U_ii^2): its cost after the
  /// later columns compensate, which is what GPTQ leaves behind.
  Schur,
};

struct GPTQOptions {
  /// Added to H's diagonal, as a fraction of its mean diagonal.
  double damp = 0.01;
  /// Visit columns by decreasing diag(H).
  bool actOrder = false;
  /// Columns per lazy update.
  int64_t block = 128;
  /// Scale refits: after a sweep, choose every block's scales again from
  /// the compensated values that sweep rounded and sweep again with them,
  /// up to this many times, keeping a row's sweep only while its output
  /// error (w - q)^T H (w - q) falls.
  int64_t refits = 0;
  GPTQImportance importance = GPTQImportance::Diagonal;
};

/// The column visiting order: identity, or by decreasing diag(H) (stable,
/// so equal diagonals keep their natural order).
std::vector<int64_t> gptqColumnOrder(llvm::ArrayRef<float> hessian,
                                     int64_t cols, bool actOrder);

/// The upper Cholesky factor U (row-major, cols x cols, lower part zero) of
/// the inverse of the dampened, permuted Hessian: H' = P (H + damp * mean
/// diag(H) * I) P^T with dead columns (diag 0) set to 1, H'^-1 = U^T U.
/// Computed in double. Errors when H is not square, not finite, or not
/// positive definite after dampening.
llvm::Expected<std::vector<double>>
gptqInverseFactor(llvm::ArrayRef<float> hessian, int64_t cols,
                  llvm::ArrayRef<int64_t> order, double damp);

/// GPTQ of `weight` (rows x cols, row-major) into `dst`, which holds rows *
/// rowBytes(format, cols) bytes. `hessian` is X^T X (cols x cols, any
/// positive scale). Float formats (F32/F16/BF16) are rejected: they have
/// no rounding error worth compensating.
llvm::Error gptqQuantize(BlockFormat format, llvm::ArrayRef<float> weight,
                         int64_t rows, int64_t cols,
                         llvm::ArrayRef<float> hessian,
                         const GPTQOptions &options,
                         llvm::MutableArrayRef<uint8_t> dst);

/// sum_r (w_r - q_r)^T H (w_r - q_r): the output error on the calibration
/// inputs of the packed `quantized` (rows x cols of `format`), in double.
double hessianWeightedError(BlockFormat format, llvm::ArrayRef<float> weight,
                            int64_t rows, int64_t cols,
                            llvm::ArrayRef<float> hessian,
                            llvm::ArrayRef<uint8_t> quantized);

} // namespace phiq::quant

#endif // PHIQ_QUANT_GPTQ_H
