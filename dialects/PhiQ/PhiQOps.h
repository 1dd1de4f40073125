//===- PhiQOps.h - phiq dialect operations ----------------------*- C++ -*-===//
//
// Packed weights and the ops that unpack or consume them.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_DIALECTS_PHIQ_PHIQOPS_H
#define PHIQ_DIALECTS_PHIQ_PHIQOPS_H

#include "dialects/Phi/PhiAttrs.h"
#include "dialects/PhiQ/PhiQDialect.h"
#include "dialects/PhiQ/PhiQTypes.h"

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define GET_OP_CLASSES
#include "dialects/PhiQ/PhiQOps.h.inc"

#endif // PHIQ_DIALECTS_PHIQ_PHIQOPS_H
