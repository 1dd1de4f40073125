//===- PhiParams.h - Resolving #phi.param to mapped bytes -------*- C++ -*-===//
//
// A #phi.param names a store and a tensor; this finds the bytes. Stores are
// opened once per process (by canonical path) and stay mapped, so any number
// of modules and tools share one mapping of a checkpoint.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_DIALECTS_PHI_PHIPARAMS_H
#define PHIQ_DIALECTS_PHI_PHIPARAMS_H

#include "dialects/Phi/PhiOps.h"
#include "phiq/Params/ParamStore.h"

namespace mlir::phi {

/// Opens the store at `path` or returns the one already open.
llvm::Expected<const phiq::params::ParamStore *>
getOrOpenStore(llvm::StringRef path);

/// The tensor `param` (used by `user`, inside a phi.model that lists the
/// store) refers to, checked against the attribute's type (shape and
/// element type).
llvm::Expected<const phiq::params::TensorRef *>
resolveParam(ParamAttr param, Operation *user);

/// resolveParam for a phi.weight whose value is a #phi.param.
llvm::Expected<const phiq::params::TensorRef *> resolveParam(WeightOp op);

/// The element type a parameter dtype becomes in IR (nullptr if none).
Type dtypeToElementType(MLIRContext *ctx, phiq::params::DType dtype);

} // namespace mlir::phi

#endif // PHIQ_DIALECTS_PHI_PHIPARAMS_H
