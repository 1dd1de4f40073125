//===- Weights.h - Reading phi/phiq weights for the ONNX writer -*- C++ -*-===//
//
// Finds the op holding a weight's bytes (phi.weight, or phiq.packed_weight
// or a deferred phiq.quantize behind a phiq.dequantize), reads it as
// floats, and lays MatMulNBits blocks (and GGUF's Q4_0 and Q8_0) out as
// com.microsoft.MatMulNBits' inputs. Deferred weights are packed on the
// fly, as the GGUF writer does. One tensor at a time.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_LIB_TARGET_ONNX_WEIGHTS_H
#define PHIQ_LIB_TARGET_ONNX_WEIGHTS_H

#include "phiq/Quant/BlockFormat.h"

#include "mlir/IR/Operation.h"
#include "mlir/IR/Value.h"
#include "llvm/Support/Error.h"

#include <optional>
#include <string>
#include <vector>

namespace phiq::onnx {

/// phi.weight, phiq.packed_weight or phiq.quantize: the op whose bytes
/// `weight` stands for.
mlir::Operation *weightDataOp(mlir::Value weight);

/// The checkpoint name of the weight (or "inline weight" for dense<>).
std::string weightName(mlir::Operation *dataOp);

/// The logical shape (a packed weight's unpacked shape).
llvm::ArrayRef<int64_t> weightShape(mlir::Operation *dataOp);

/// The block format of a packed or deferred weight; nullopt for a float
/// phi.weight.
std::optional<::phiq::quant::BlockFormat> packedFormat(mlir::Operation *dataOp);

/// The packed bytes of a phiq.packed_weight (mapped) or of a deferred
/// phiq.quantize (packed now into `storage`).
llvm::Expected<llvm::ArrayRef<uint8_t>>
packedBytes(mlir::Operation *dataOp, std::vector<uint8_t> &storage);

/// Every element as fp32, row-major (packed weights decoded exactly as
/// phi-run decodes them).
llvm::Expected<std::vector<float>> readWeightAsFloats(mlir::Operation *dataOp);

/// True for the formats MatMulNBits represents exactly: its own (MNB*),
/// Q4_0 (bits 4, block 32, symmetric, zero point 8) and Q8_0 (bits 8, zero
/// point 128).
bool mapsOntoMatMulNBits(::phiq::quant::BlockFormat format);

/// MatMulNBits' attributes for a weight in such a format.
struct NBitsShape {
  int64_t bits = 0, blockSize = 32, n = 0, k = 0;
  bool hasZeroPoints = false;
  int64_t blocksPerRow() const { return k / blockSize; }
  /// Bytes of one row of zero points: ceil(blocks * bits / 8).
  int64_t zeroPointRowBytes() const { return (blocksPerRow() * bits + 7) / 8; }
};
std::optional<NBitsShape> nbitsShape(mlir::Operation *dataOp);

/// The inputs of one MatMulNBits for a packed [N, K] weight.
struct NBitsWeight {
  NBitsShape shape;
  /// uint8 [N, K / blockSize, blockSize * bits / 8], low nibble first.
  std::vector<uint8_t> codes;
  /// [N * K / blockSize], the blocks' scales widened exactly.
  std::vector<float> scales;
  /// uint8 [N, zeroPointRowBytes()], low nibble first, each row padded;
  /// empty when the zero point is implicit.
  std::vector<uint8_t> zeroPoints;
};

/// Lays a packed or deferred weight in a MatMulNBits format out as
/// MatMulNBits' inputs.
llvm::Expected<NBitsWeight> repackForMatMulNBits(mlir::Operation *dataOp);

/// The inputs of one DequantizeLinear(axis=0) for a QDQ8_CHANNEL weight
/// (rows = every dimension but the last).
struct QDQChannelWeight {
  /// int8 [rows, cols], row-major, as stored.
  std::vector<uint8_t> codes;
  /// [rows], one f32 scale per row (zero point 0).
  std::vector<float> scales;
};

/// Splits a packed or deferred QDQ8_CHANNEL weight into its codes and
/// per-row scales.
llvm::Expected<QDQChannelWeight> splitQDQChannel(mlir::Operation *dataOp);

} // namespace phiq::onnx

#endif // PHIQ_LIB_TARGET_ONNX_WEIGHTS_H
