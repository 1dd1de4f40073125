//===- PhiOps.h - phi dialect operations ------------------------*- C++ -*-===//
//
// The operations of a Phi model graph; see PhiOps.td for their semantics.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_DIALECTS_PHI_PHIOPS_H
#define PHIQ_DIALECTS_PHI_PHIOPS_H

#include "dialects/Phi/PhiAttrs.h"
#include "dialects/Phi/PhiDialect.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/RegionKindInterface.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define GET_OP_CLASSES
#include "dialects/Phi/PhiOps.h.inc"

#endif // PHIQ_DIALECTS_PHI_PHIOPS_H
