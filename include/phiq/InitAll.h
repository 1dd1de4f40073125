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

/// Adds the phi dialect (and the upstream dialects our IR uses), and the
/// parameter store formats its #phi.param references may name.
void registerAllDialects(mlir::DialectRegistry &registry);

/// Registers PhiQ's passes and pipelines with the global pass registry.
void registerAllPasses();

/// Registers the importers and emitters with mlir-translate's registry
/// (and the parameter store formats they read).
void registerAllTranslations();

/// Registers the parameter store formats beyond safetensors (GGUF), so that
/// a #phi.param naming a store of another format resolves.
void registerAllParamStores();

} // namespace phiq

#endif // PHIQ_INITALL_H
