//===- ImportGGUF.h - llama.cpp GGUF file to phi IR -------------*- C++ -*-===//
//
// Reads a GGUF file of llama.cpp's `phi3` or `phimoe` architecture (ours or
// one llama.cpp wrote) and builds the same `phi.model` the Hugging Face
// importer builds for the checkpoint it came from. Weights stay in the
// mapped file: float tensors become `phi.weight`s and block-quantized ones
// `phiq.packed_weight` + `phiq.dequantize`, all referencing the file by
// GGUF tensor name through the store `gguf`.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_TARGET_GGUF_IMPORTGGUF_H
#define PHIQ_TARGET_GGUF_IMPORTGGUF_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/Error.h"

#include <string>

namespace phiq::gguf {

struct ImportOptions {
  /// Name of the parameter store the weights are referenced through.
  std::string storeName = "gguf";
  /// Symbol name of the phi.model; general.name (or the file name) if
  /// empty.
  std::string modelName;
};

/// Imports the GGUF file at `path`. Every key that changes the math is read
/// and checked, unknown keys of the architecture are rejected, and every
/// tensor is checked against the shape the keys imply; tensors the keys do
/// not account for are errors too. Errors name the file, the key or
/// tensor, and what was expected.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
importGGUF(llvm::StringRef path, mlir::MLIRContext *context,
           const ImportOptions &options = {});

/// True when `path` is a regular file that starts with the GGUF magic.
bool isGGUFFile(llvm::StringRef path);

/// Registers `--import-gguf` with mlir-translate's registry.
void registerImportGGUFTranslation();

} // namespace phiq::gguf

#endif // PHIQ_TARGET_GGUF_IMPORTGGUF_H
