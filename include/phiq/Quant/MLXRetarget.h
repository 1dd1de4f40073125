//===- MLXRetarget.h - MLX affine groups in GGUF and ONNX forms --*- C++ -*-===//
//
// Exact re-encodings of Apple MLX's affine groups (w = scale * q + bias)
// into the block layouts of other runtimes, for re-targeting a folder
// mlx-lm wrote:
//   - GGUF's Q4_1 / Q5_1 blocks (32 weights, w = d * q + m, f16 d and m)
//     hold 4- / 5-bit groups of 32, 64 or 128 (a group becomes 1, 2 or 4
//     blocks with the same d and m) whenever every scale and bias is an f16
//     value: their to_float then decodes to the same floats, bit for bit.
//   - com.microsoft.MatMulNBits with float zero points (w = (q - zp) *
//     scale, the form ONNX Runtime's HQQ quantizer emits) holds 4-bit
//     groups with zp = -bias / scale, equal up to f32 rounding.
// Plain C++ over spans; the writers decide what to do where no exact form
// exists.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_QUANT_MLXRETARGET_H
#define PHIQ_QUANT_MLXRETARGET_H

#include "phiq/Quant/BlockFormat.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <optional>
#include <vector>

namespace phiq::quant {

/// The GGUF block format that can hold `layout`'s groups exactly (Q4_1
/// for 4 bits, Q5_1 for 5 bits); nullopt for the other widths.
std::optional<BlockFormat> ggufFormatForMLX(const MLXAffineLayout &layout);

/// Rewrites `rows` rows of `cols` MLX-format weights as blocks of
/// ggufFormatForMLX(layout) (`dst` holds rows * rowBytes of that format).
/// Fails, naming the row and group, when a scale or bias is not an f16
/// value (then no Q4_1 / Q5_1 block decodes to the same weights).
llvm::Error mlxToGGUFBlocks(const MLXAffineLayout &layout,
                            llvm::ArrayRef<uint8_t> src, int64_t rows,
                            int64_t cols, llvm::MutableArrayRef<uint8_t> dst);

/// MatMulNBits' planar inputs for 4-bit MLX groups, block size = group
/// size.
struct MLXNBits {
  /// uint8 [rows, cols / group, group / 2], low nibble first.
  std::vector<uint8_t> codes;
  /// f32 [rows * cols / group]: the scales widened exactly.
  std::vector<float> scales;
  /// f32 [rows * cols / group]: -bias / scale.
  std::vector<float> zeroPoints;
};

/// Splits `rows` rows of 4-bit MLX groups into MatMulNBits' inputs; fails
/// for other widths and for a zero scale with a non-zero bias (no zero
/// point gives it).
llvm::Expected<MLXNBits> mlxToMatMulNBits(const MLXAffineLayout &layout,
                                          llvm::ArrayRef<uint8_t> src,
                                          int64_t rows, int64_t cols);

} // namespace phiq::quant

#endif // PHIQ_QUANT_MLXRETARGET_H
