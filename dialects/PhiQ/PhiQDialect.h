//===- PhiQDialect.h - The phiq dialect -------------------------*- C++ -*-===//
//
// Declares the dialect of quantized weights. Include PhiQOps.h for the ops,
// PhiQAttrs.h / PhiQTypes.h for #phiq.scheme and !phiq.blocks.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_DIALECTS_PHIQ_PHIQDIALECT_H
#define PHIQ_DIALECTS_PHIQ_PHIQDIALECT_H

#include "mlir/IR/Dialect.h"

#include "dialects/PhiQ/PhiQDialect.h.inc"

#endif // PHIQ_DIALECTS_PHIQ_PHIQDIALECT_H
