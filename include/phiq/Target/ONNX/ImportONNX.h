//===- ImportONNX.h - ONNX decoder to phi IR --------------------*- C++ -*-===//
//
// Reads a Phi-3-family decoder from an ONNX file (PhiQ's own exports, fp32,
// fp16 and MatMulNBits) back into a phi.model whose weights are references
// into the ONNX file's initializers (external data mapped, not copied).
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_TARGET_ONNX_IMPORTONNX_H
#define PHIQ_TARGET_ONNX_IMPORTONNX_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/Error.h"

#include <string>

namespace phiq::onnx {

struct ImportOptions {
  /// Name of the parameter store the weights are referenced through.
  std::string storeName = "onnx";
};

/// Imports `path` (a model.onnx, or a folder holding one). The decoder's
/// structure is recovered from the graph, anchored on the weight
/// initializers (checkpoint names such as
/// `model.layers.0.self_attn.qkv_proj.weight`); the settings that change
/// the math (head counts and size, norm epsilons, rotary tables, softmax
/// scale, sliding window) are read from the graph's constants and checked
/// against config.json / genai_config.json beside it where present. Errors
/// name the file, node or initializer; nothing is returned on error.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
importONNX(llvm::StringRef path, mlir::MLIRContext *context,
           const ImportOptions &options = {});

/// True when `path` is a `.onnx` file, or a folder with a model.onnx and no
/// config.json (an ONNX Runtime GenAI folder).
bool isONNXModel(llvm::StringRef path);

/// Registers `--import-onnx` with mlir-translate's registry.
void registerImportONNXTranslation();

} // namespace phiq::onnx

#endif // PHIQ_TARGET_ONNX_IMPORTONNX_H
