//===- ImportMLX.cpp - mlx-lm model folder to phi IR ------------*- C++ -*-===//
//
// An mlx-lm folder is a Hugging Face checkpoint in other clothes: the same
// config.json (plus `quantization`), the same names but for PhiMoE's
// stacked experts, and quantized modules split into three tensors. The
// folder opens as an MLXStore (MLXStore.h) that shows it as the checkpoint,
// and the Hugging Face importer builds the model from it, with the strict
// config and tensor checks it always makes; quantized matrices become
// phiq.packed_weight in their MLX format.
//
//===----------------------------------------------------------------------===//
#include "phiq/Target/MLX/ImportMLX.h"

#include "MLXStore.h"

#include "phiq/Params/StoreRegistry.h"
#include "phiq/Target/HF/Import.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

using namespace mlir;
using llvm::StringRef;
namespace params = ::phiq::params;
namespace quant = ::phiq::quant;

bool phiq::mlx::isMLXFolder(StringRef dir) {
  llvm::SmallString<256> config(dir);
  llvm::sys::path::append(config, "config.json");
  if (!llvm::sys::fs::is_directory(dir) || !llvm::sys::fs::exists(config))
    return false;
  auto raw = params::openSafetensors(dir);
  if (!raw) {
    llvm::consumeError(raw.takeError());
    return false;
  }
  for (const params::ParamFile &file : (*raw)->files())
    for (const auto &[key, value] : file.metadata)
      if (key == "format" && value == "mlx")
        return true;
  return false;
}

llvm::Expected<OwningOpRef<ModuleOp>>
phiq::mlx::importMLX(StringRef dir, MLIRContext *context) {
  if (!llvm::sys::fs::is_directory(dir))
    return llvm::createStringError(dir + ": not a folder");
  if (!isMLXFolder(dir))
    return llvm::createStringError(
        dir + ": not an MLX folder (expected config.json and safetensors "
              "weights whose metadata says \"format\": \"mlx\", as mlx-lm "
              "writes them; use --import-hf for a Hugging Face checkpoint)");
  // The plan names each blocked tensor's format; the store (opened by the
  // importer through the registry) holds the same tensors.
  auto raw = params::openSafetensors(dir);
  if (!raw)
    return raw.takeError();
  auto plans = planMLXFolder(dir, **raw);
  if (!plans)
    return plans.takeError();
  auto formats = std::make_shared<llvm::StringMap<quant::BlockFormat>>();
  for (const MLXTensorPlan &plan : *plans)
    if (plan.format)
      (*formats)[plan.name] = *plan.format;
  registerMLXStore();
  hf::ImportOptions options;
  options.extraInertConfigKeys = {"quantization", "quantization_config"};
  options.packedFormat =
      [formats](StringRef name) -> std::optional<quant::BlockFormat> {
    auto it = formats->find(name);
    if (it == formats->end())
      return std::nullopt;
    return it->second;
  };
  return hf::importCheckpoint(dir, context, options);
}

void phiq::mlx::registerMLXStore() {
  static bool once = [] {
    params::registerFolderStoreFormat("mlx", isMLXFolder, openMLXStore);
    return true;
  }();
  (void)once;
}
