//===- InitAll.cpp - Register everything PhiQ provides ----------*- C++ -*-===//
//
// The single registration point used by phi-opt, phi-translate, phi-run and
// the mlir-opt plugin.
//
//===----------------------------------------------------------------------===//
#include "phiq/InitAll.h"

#include "dialects/Phi/PhiDialect.h"
#include "dialects/PhiQ/PhiQDialect.h"
#include "passes/Passes.h"
#include "phiq/Target/GGUF/ExportGGUF.h"
#include "phiq/Target/GGUF/GGUFStore.h"
#include "phiq/Target/GGUF/ImportGGUF.h"
#include "phiq/Target/HF/Import.h"
#include "phiq/Target/MLX/ExportMLX.h"
#include "phiq/Target/MLX/ImportMLX.h"
#include "phiq/Target/ONNX/ExportONNX.h"
#include "phiq/Target/ONNX/ImportONNX.h"
#include "phiq/Target/ONNX/ONNXStore.h"
#include "phiq/Target/OpenVINO/ExportOpenVINO.h"
#include "phiq/Target/OpenVINO/ImportOpenVINO.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Transforms/Passes.h"

void phiq::registerAllDialects(mlir::DialectRegistry &registry) {
  // func hosts ops outside a phi.model (tests, and later lowering).
  registry.insert<mlir::phi::PhiDialect, mlir::phiq_ir::PhiQDialect,
                  mlir::func::FuncDialect>();
  registerAllParamStores();
}

void phiq::registerAllParamStores() {
  phiq::gguf::registerGGUFStore();
  phiq::onnx::registerONNXStore();
  phiq::mlx::registerMLXStore();
  phiq::openvino::registerOpenVINOStore();
}

void phiq::registerAllPasses() {
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  mlir::registerSymbolDCEPass();
  phiq::registerPhiQPasses();
}

void phiq::registerAllTranslations() {
  static bool once = [] {
    phiq::hf::registerImportHFTranslation();
    phiq::gguf::registerPhiToGGUFTranslation();
    phiq::onnx::registerPhiToONNXTranslation();
    phiq::openvino::registerPhiToOpenVINOTranslation();
    phiq::openvino::registerImportOpenVINOTranslation();
    phiq::gguf::registerImportGGUFTranslation();
    phiq::onnx::registerImportONNXTranslation();
    phiq::mlx::registerPhiToMLXTranslation();
    phiq::mlx::registerImportMLXTranslation();
    registerAllParamStores();
    return true;
  }();
  (void)once;
}
