//===- PhiDialect.cpp - The phi dialect -------------------------*- C++ -*-===//
//
// Registers the phi dialect's operations and attributes with a context.
//
//===----------------------------------------------------------------------===//
#include "dialects/Phi/PhiDialect.h"
#include "dialects/Phi/PhiAttrs.h"
#include "dialects/Phi/PhiOps.h"

using namespace mlir;
using namespace mlir::phi;

#include "dialects/Phi/PhiDialect.cpp.inc"

void PhiDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/Phi/PhiOps.cpp.inc"
      >();
  registerAttributes();
}
