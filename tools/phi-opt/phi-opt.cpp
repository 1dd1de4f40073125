//===- phi-opt.cpp - mlir-opt for PhiQ --------------------------*- C++ -*-===//
//
// Parses, verifies, transforms and prints phi/phiq IR with PhiQ's passes and
// pipelines. Weights stay references: round-tripping an imported model
// touches no weight bytes.
//
//===----------------------------------------------------------------------===//
#include "phiq/InitAll.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  phiq::registerAllPasses();
  mlir::DialectRegistry registry;
  phiq::registerAllDialects(registry);
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "PhiQ optimizer driver\n", registry));
}
