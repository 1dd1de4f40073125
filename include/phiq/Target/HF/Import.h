//===- Import.h - Hugging Face checkpoint to phi IR -------------*- C++ -*-===//
//
// Reads a Hugging Face model folder (config.json, generation_config.json,
// safetensors) and builds a `phi.model` whose weights are #phi.param
// references into the mapped safetensors files. Nothing but JSON headers is
// read.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_TARGET_HF_IMPORT_H
#define PHIQ_TARGET_HF_IMPORT_H

#include "phiq/Quant/BlockFormat.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/Error.h"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace phiq::hf {

struct ImportOptions {
  /// Name of the parameter store the weights are referenced through.
  std::string storeName = "model";
  /// Symbol name of the phi.model; derived from the folder name if empty.
  std::string modelName;
  /// config.json keys another format adds (mlx-lm's `quantization`) that
  /// do not change the math of the float model.
  std::vector<std::string> extraInertConfigKeys;
  /// For formats that choose each tensor's float type themselves (OpenVINO
  /// IR keeps norms f32 next to f16 matrices): config.json's dtype then
  /// names the source checkpoint's, not the tensors', and is not checked.
  bool floatTypesFromStore = false;
  /// For formats that store a tied model's head apart from its embedding
  /// (OpenVINO IR, when only the head is quantized): a tied config's
  /// lm_head then reads the store's lm_head.weight when it has one.
  bool tiedHeadFromStore = false;
  /// For formats whose store holds some weights in blocks (MLX): the block
  /// format of the tensor `name`, or nullopt for a float tensor. A blocked
  /// tensor's store entry is its packed bytes (U8), and it becomes a
  /// phiq.packed_weight + phiq.dequantize of the shape config.json implies.
  std::function<std::optional<::phiq::quant::BlockFormat>(llvm::StringRef)>
      packedFormat;
};

/// Imports the checkpoint in `modelDir`. Every config.json field that
/// changes the math is read and checked, unknown fields are rejected, and
/// every tensor is checked against the shapes and dtype config.json implies.
/// Errors name the file, the field or tensor, and what was expected.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
importCheckpoint(llvm::StringRef modelDir, mlir::MLIRContext *context,
                 const ImportOptions &options = {});

/// Registers `--import-hf` with mlir-translate's registry.
void registerImportHFTranslation();

} // namespace phiq::hf

#endif // PHIQ_TARGET_HF_IMPORT_H
