//===- PhiAttrs.h - phi dialect attributes ----------------------*- C++ -*-===//
//
// #phi.param, #phi.rope, #phi.config and the dialect's enums.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_DIALECTS_PHI_PHIATTRS_H
#define PHIQ_DIALECTS_PHI_PHIATTRS_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Attributes.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/SmallVector.h"

#include "dialects/Phi/PhiEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/Phi/PhiAttrs.h.inc"

#endif // PHIQ_DIALECTS_PHI_PHIATTRS_H
