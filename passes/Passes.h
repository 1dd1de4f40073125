//===- Passes.h - PhiQ passes -----------------------------------*- C++ -*-===//
//
// Declarations generated from Passes.td, and the registration entry point.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_PASSES_PASSES_H
#define PHIQ_PASSES_PASSES_H

#include "dialects/Phi/PhiDialect.h"
#include "dialects/PhiQ/PhiQDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/Pass.h"

namespace phiq {

#define GEN_PASS_DECL
#include "passes/Passes.h.inc"

/// The rewrites of --phiq-emulate-llamacpp.
void populateEmulateLlamaCppPatterns(mlir::RewritePatternSet &patterns);

// Defines registerPhiQPasses(), which registers every PhiQ pass.
#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"

} // namespace phiq

#endif // PHIQ_PASSES_PASSES_H
