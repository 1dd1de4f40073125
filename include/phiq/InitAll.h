//===- InitAll.h - Register everything PhiQ provides ------------*- C++ -*-===//
//
// One place that registers PhiQ's dialects, passes and translations, so
// that every tool (and every mlir-opt plugin) sees the same set.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_INITALL_H
#define PHIQ_INITALL_H

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace phiq {

/// Adds the phi dialect (and the upstream dialects our IR uses).
void registerAllDialects(mlir::DialectRegistry &registry);

/// Registers PhiQ's passes and pipelines with the global pass registry.
void registerAllPasses();

/// Registers the importers and emitters with mlir-translate's registry.
void registerAllTranslations();

} // namespace phiq

#endif // PHIQ_INITALL_H
