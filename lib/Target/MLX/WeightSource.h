//===- WeightSource.h - The bytes behind a phi/phiq weight ------*- C++ -*-===//
//
// A weight reaches a consumer from phi.weight (float), phiq.packed_weight
// (blocks in a store) or a deferred phiq.quantize (blocks packed on demand).
// The MLX writer reads each one tensor at a time through these helpers.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_LIB_TARGET_MLX_WEIGHTSOURCE_H
#define PHIQ_LIB_TARGET_MLX_WEIGHTSOURCE_H

#include "phiq/Params/ParamStore.h"
#include "phiq/Quant/BlockFormat.h"

#include "mlir/IR/Operation.h"
#include "llvm/Support/Error.h"

#include <optional>
#include <string>
#include <vector>

namespace phiq::mlx {

/// The checkpoint name of a weight op ("" for inline weights).
std::string weightName(mlir::Operation *dataOp);

/// The logical shape (a packed weight's unpacked shape).
llvm::ArrayRef<int64_t> weightShape(mlir::Operation *dataOp);

/// The block format of a packed or deferred weight; nullopt for phi.weight.
std::optional<quant::BlockFormat> blockFormat(mlir::Operation *dataOp);

/// The dtype a float phi.weight is stored in (F32 for inline values).
params::DType floatDType(mlir::Operation *dataOp);

/// The blocks of a packed or deferred weight, checked against its shape;
/// deferred ones are packed into `storage`.
llvm::Expected<llvm::ArrayRef<uint8_t>>
readBlocks(mlir::Operation *dataOp, std::vector<uint8_t> &storage);

/// Every element as fp32, row-major (blocks decoded as phi-run decodes
/// them).
llvm::Expected<std::vector<float>> readAsFloats(mlir::Operation *dataOp);

} // namespace phiq::mlx

#endif // PHIQ_LIB_TARGET_MLX_WEIGHTSOURCE_H
