//===- SingleModel.h - The one phi.model a module-level pass works on -----===//
//
// The quantization passes run on a module holding exactly one phi.model;
// this finds it or reports, in the pass's name, how many there were.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_PASSES_SINGLEMODEL_H
#define PHIQ_PASSES_SINGLEMODEL_H

#include "dialects/Phi/PhiOps.h"

#include "mlir/IR/BuiltinOps.h"

namespace phiq {

inline mlir::FailureOr<mlir::phi::ModelOp>
getSingleModel(mlir::ModuleOp module, llvm::StringRef passArgument) {
  auto models = llvm::to_vector(module.getOps<mlir::phi::ModelOp>());
  if (models.size() == 1)
    return models.front();
  module.emitError() << passArgument << " expects exactly one phi.model, found "
                     << models.size();
  return mlir::failure();
}

} // namespace phiq

#endif // PHIQ_PASSES_SINGLEMODEL_H
