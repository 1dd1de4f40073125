//===- ExportMLX.h - phi IR to an mlx-lm model folder -----------*- C++ -*-===//
//
// Writes a phi.model as the folder mlx-lm loads (`mlx_lm.load`): config.json
// with mlx-lm's `quantization` entry, model.safetensors in mlx-lm's tensor
// names for phi3 and phimoe (PhiMoE's experts stacked as switch_mlp), each
// MLX-quantized matrix as a packed uint32 `weight` with per-group `scales`
// and `biases`, and the checkpoint's tokenizer and generation config.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_TARGET_MLX_EXPORTMLX_H
#define PHIQ_TARGET_MLX_EXPORTMLX_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <functional>
#include <string>

namespace phiq::mlx {

struct ExportOptions {
  /// Type of the float tensors: "auto" keeps each tensor's own type; "f32",
  /// "f16" or "bf16" converts (quantized tensors keep their scale type).
  std::string dtype = "auto";
  /// Weights in block formats MLX cannot hold exactly (GGUF's, ONNX
  /// Runtime's) are refused unless this is set; then they are decoded and
  /// re-quantized to MLX affine groups of `requantizeBits` and
  /// `requantizeGroupSize`, and `onRequantize` hears the error it adds.
  bool allowRequantize = false;
  int requantizeBits = 4;
  int64_t requantizeGroupSize = 64;
  std::function<void(llvm::StringRef tensor, llvm::StringRef from,
                     double relativeRmse)>
      onRequantize;
  /// Folder with config.json and the tokenizer files; the model's checkpoint
  /// if empty.
  std::string checkpointDir;
};

/// Writes `module`'s single phi.model into the folder `outDir`, through a
/// temporary sibling folder that replaces `outDir` only once complete. An
/// existing `outDir` is replaced only if it is empty or holds an earlier
/// MLX export.
llvm::Error exportMLX(mlir::ModuleOp module, llvm::StringRef outDir,
                      const ExportOptions &options = {});

/// The options set by phi-translate's --mlx-* flags.
ExportOptions exportOptionsFromCommandLine();

/// Registers `--phi-to-mlx` with mlir-translate's registry.
void registerPhiToMLXTranslation();

} // namespace phiq::mlx

#endif // PHIQ_TARGET_MLX_EXPORTMLX_H
