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

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/Error.h"

namespace phiq::hf {

struct ImportOptions {
  /// Name of the parameter store the weights are referenced through.
  std::string storeName = "model";
  /// Symbol name of the phi.model; derived from the folder name if empty.
  std::string modelName;
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
