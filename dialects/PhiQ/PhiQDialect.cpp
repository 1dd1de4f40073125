//===- PhiQDialect.cpp - The phiq dialect -----------------------*- C++ -*-===//
//
// Registers the phiq dialect's operations, attributes and types.
//
//===----------------------------------------------------------------------===//
#include "dialects/PhiQ/PhiQDialect.h"
#include "dialects/PhiQ/PhiQOps.h"

using namespace mlir;
using namespace mlir::phiq_ir;

#include "dialects/PhiQ/PhiQDialect.cpp.inc"

void PhiQDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/PhiQ/PhiQOps.cpp.inc"
      >();
  registerAttributes();
  registerTypes();
}
