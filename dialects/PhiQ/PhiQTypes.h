//===- PhiQTypes.h - phiq dialect types -------------------------*- C++ -*-===//
//
// !phiq.blocks, a weight packed in a block format.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_DIALECTS_PHIQ_PHIQTYPES_H
#define PHIQ_DIALECTS_PHIQ_PHIQTYPES_H

#include "dialects/PhiQ/PhiQAttrs.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Types.h"

#define GET_TYPEDEF_CLASSES
#include "dialects/PhiQ/PhiQTypes.h.inc"

#endif // PHIQ_DIALECTS_PHIQ_PHIQTYPES_H
