//===- Weights.h - Reading phi/phiq weights for the ONNX writer -*- C++ -*-===//
//
// Finds the op holding a weight's bytes (phi.weight, or phiq.packed_weight
// behind a phiq.dequantize), reads it as floats, and repacks GGUF Q4_0 and
// Q8_0 blocks into com.microsoft.MatMulNBits' layout. One tensor at a time.
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

/// phi.weight or phiq.packed_weight: the op whose bytes `weight` stands for.
mlir::Operation *weightDataOp(mlir::Value weight);

/// The checkpoint name of the weight (or "inline weight" for dense<>).
std::string weightName(mlir::Operation *dataOp);

/// The logical shape (a packed weight's unpacked shape).
llvm::ArrayRef<int64_t> weightShape(mlir::Operation *dataOp);

/// The block format of a packed weight; nullopt for a float phi.weight.
std::optional<::phiq::quant::BlockFormat> packedFormat(mlir::Operation *dataOp);

/// Every element as fp32, row-major (packed weights decoded exactly as
/// phi-run decodes them).
llvm::Expected<std::vector<float>> readWeightAsFloats(mlir::Operation *dataOp);

/// [rows, cols] -> [cols, rows].
std::vector<float> transposeMatrix(llvm::ArrayRef<float> values, int64_t rows,
                                   int64_t cols);

/// True for the packed formats MatMulNBits represents exactly: Q4_0 (bits 4,
/// block 32, symmetric, zero point 8) and Q8_0 (bits 8, zero point 128).
bool mapsOntoMatMulNBits(::phiq::quant::BlockFormat format);

/// The inputs of one MatMulNBits for a packed [N, K] weight.
struct NBitsWeight {
  int64_t bits = 0, blockSize = 32, n = 0, k = 0;
  /// uint8 [N, K / blockSize, blockSize * bits / 8], low nibble first.
  std::vector<uint8_t> codes;
  /// [N * K / blockSize], the blocks' fp16 scales widened exactly.
  std::vector<float> scales;
};

/// Repacks a Q4_0 or Q8_0 phiq.packed_weight for MatMulNBits.
llvm::Expected<NBitsWeight> repackForMatMulNBits(mlir::Operation *packedOp);

} // namespace phiq::onnx

#endif // PHIQ_LIB_TARGET_ONNX_WEIGHTS_H
