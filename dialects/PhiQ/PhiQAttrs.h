//===- PhiQAttrs.h - phiq dialect attributes --------------------*- C++ -*-===//
//
// #phiq.scheme, which names and describes a block format.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_DIALECTS_PHIQ_PHIQATTRS_H
#define PHIQ_DIALECTS_PHIQ_PHIQATTRS_H

#include "phiq/Quant/BlockFormat.h"

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectImplementation.h"

#define GET_ATTRDEF_CLASSES
#include "dialects/PhiQ/PhiQAttrs.h.inc"

#endif // PHIQ_DIALECTS_PHIQ_PHIQATTRS_H
