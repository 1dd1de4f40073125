//===- ExportONNX.h - phi IR to an ONNX Runtime GenAI folder ----*- C++ -*-===//
//
// Writes a phi.model (float, or with phiq Q4_0/Q8_0 packed linears) as a
// folder that ONNX Runtime and ONNX Runtime GenAI load: model.onnx, its
// external weights model.onnx.data, genai_config.json and the tokenizer
// files of the checkpoint.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_TARGET_ONNX_EXPORTONNX_H
#define PHIQ_TARGET_ONNX_EXPORTONNX_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <functional>
#include <string>

namespace phiq::onnx {

struct ExportOptions {
  /// Activation and float-weight type of the graph: "fp32" or "fp16".
  /// "bf16" is recognised and rejected: ONNX Runtime's CPU provider has no
  /// bf16 kernels for the elementwise ops a decoder needs.
  std::string precision = "fp32";
  /// MatMulNBits' accuracy_level (0: the provider's default, fp32-exact on
  /// CPU; 4: int8 activations, faster and about 1e-2 less accurate).
  int64_t accuracyLevel = 0;
  /// Folder with the tokenizer files; the model's checkpoint if empty.
  std::string tokenizerDir;
  /// Imported MLX linears with no exact MatMulNBits form (widths other
  /// than 4 bits, or an fp16 graph) are quantized again as 4-bit groups
  /// instead of refused.
  bool allowRequantize = false;
  /// Called for each weight quantized again: its name, old and new form,
  /// and the relative RMS error added.
  std::function<void(llvm::StringRef tensor, llvm::StringRef from,
                     llvm::StringRef to, double relativeRmse)>
      onRequantize;
};

/// Writes `module`'s single phi.model into the folder `outDir`. Everything
/// is written into a temporary sibling folder that replaces `outDir` only
/// once complete, so a failure leaves no partial output. An existing
/// `outDir` is replaced only if it is empty or holds a previous export.
llvm::Error exportONNX(mlir::ModuleOp module, llvm::StringRef outDir,
                       const ExportOptions &options = {});

/// The options set by phi-translate's --onnx-* flags.
ExportOptions exportOptionsFromCommandLine();

/// Registers `--phi-to-onnx` with mlir-translate's registry.
void registerPhiToONNXTranslation();

} // namespace phiq::onnx

#endif // PHIQ_TARGET_ONNX_EXPORTONNX_H
