//===- Rotation.h - Orthogonal rotations of a residual stream ---*- C++ -*-===//
//
// QuaRot-style rotation (Ashkboos et al., 2024) without online ops: every
// vector in a transformer's residual stream is replaced by x Q with Q
// orthogonal. RMS normalization commutes with Q (it only divides by the
// vector's norm) once its per-channel weight g is folded into the linears
// that read it, so the whole network computes the same function when
//
//   a linear that reads the (normed) stream:  W  -> W diag(g) Q
//   a linear that writes into the stream:     W  -> Q^T W,  b -> Q^T b
//   the token embedding table (rows):         E  -> E Q
//
// Rotating spreads a channel's outliers over all channels, which makes the
// weights' rows and columns easier to round on a block grid.
//
// Q is a randomized Hadamard matrix when n is a power of two, and in
// general H_{2^k} D (x) R_m / sqrt(2^k) for n = 2^k m with m odd: D random
// signs, R_m a random orthogonal m x m matrix (Gram-Schmidt of a Gaussian
// matrix). Deterministic in the seed.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_QUANT_ROTATION_H
#define PHIQ_QUANT_ROTATION_H

#include "llvm/ADT/ArrayRef.h"

#include <cstdint>
#include <vector>

namespace phiq::quant {

/// The n x n orthogonal rotation (row-major, double) for `seed`; n > 0.
std::vector<double> residualRotation(int64_t n, uint64_t seed);

/// out = W diag(g) Q for W [rows, n] (g empty: all ones), in double.
void rotateInputs(llvm::ArrayRef<float> weight, int64_t rows, int64_t n,
                  llvm::ArrayRef<float> g, llvm::ArrayRef<double> q,
                  llvm::MutableArrayRef<float> out);

/// out = Q^T W for W [n, cols] (a bias: cols = 1), in double.
void rotateOutputs(llvm::ArrayRef<float> weight, int64_t n, int64_t cols,
                   llvm::ArrayRef<double> q, llvm::MutableArrayRef<float> out);

} // namespace phiq::quant

#endif // PHIQ_QUANT_ROTATION_H
