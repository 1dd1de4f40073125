//===- ImportMLX.h - mlx-lm model folder to phi IR --------------*- C++ -*-===//
//
// Reads a folder mlx-lm wrote (mlx_lm.convert, with or without -q) or that
// --phi-to-mlx wrote, and builds the phi.model --import-hf builds for the
// same checkpoint. Float tensors are referenced in the mapped safetensors
// file (PhiMoE's stacked switch_mlp tensors as per-expert slices of it);
// each quantized module becomes a phiq.packed_weight in an MLX affine
// format + phiq.dequantize, so the model evaluates in phi-run and
// re-targets to other formats.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_TARGET_MLX_IMPORTMLX_H
#define PHIQ_TARGET_MLX_IMPORTMLX_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/Error.h"

namespace phiq::mlx {

/// True for a folder with config.json and safetensors weights whose
/// metadata says "format": "mlx" (what mlx.core.save_safetensors writes).
bool isMLXFolder(llvm::StringRef dir);

/// Imports the mlx-lm folder `dir`. Errors name the file and the tensor or
/// config key, and what was expected.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
importMLX(llvm::StringRef dir, mlir::MLIRContext *context);

/// Makes MLX folders open as parameter stores (the IR refers to them).
void registerMLXStore();

/// Registers `--import-mlx` with mlir-translate's registry.
void registerImportMLXTranslation();

} // namespace phiq::mlx

#endif // PHIQ_TARGET_MLX_IMPORTMLX_H
