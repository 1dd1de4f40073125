//===- PhiDialect.h - The phi dialect ---------------------------*- C++ -*-===//
//
// Declares the dialect that holds Phi model graphs. Include PhiOps.h for the
// operations and PhiAttrs.h for the attributes.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_DIALECTS_PHI_PHIDIALECT_H
#define PHIQ_DIALECTS_PHI_PHIDIALECT_H

#include "mlir/IR/Dialect.h"

#include "dialects/Phi/PhiDialect.h.inc"

#endif // PHIQ_DIALECTS_PHI_PHIDIALECT_H
