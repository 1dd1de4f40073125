//===- ImportOpenVINO.h - OpenVINO IR folder to phi IR ----------*- C++ -*-===//
//
// Imports the OpenVINO IR folders PhiQ writes (--phi-to-openvino,
// phi-quantize --to openvino), and the same IR after NNCF's
// nncf.compress_weights, which keeps the graph and its Const names.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_TARGET_OPENVINO_IMPORTOPENVINO_H
#define PHIQ_TARGET_OPENVINO_IMPORTOPENVINO_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/Error.h"

namespace phiq::openvino {

/// True for a folder holding openvino_model.xml.
bool isOpenVINOFolder(llvm::StringRef dir);

/// Imports the IR folder `dir` (openvino_model.xml, .bin and the
/// config.json the writer copies next to them). Errors name the file and
/// the layer, and what was expected.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
importOpenVINO(llvm::StringRef dir, mlir::MLIRContext *context);

/// Makes OpenVINO IR folders open as parameter stores (the IR refers to
/// them).
void registerOpenVINOStore();

/// Registers `--import-openvino` with mlir-translate's registry.
void registerImportOpenVINOTranslation();

} // namespace phiq::openvino

#endif // PHIQ_TARGET_OPENVINO_IMPORTOPENVINO_H
