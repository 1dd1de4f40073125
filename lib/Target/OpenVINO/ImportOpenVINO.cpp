//===- ImportOpenVINO.cpp - OpenVINO IR folder to phi IR --------*- C++ -*-===//
//
// The model's hyperparameters come from the config.json the writer copies
// next to the IR (optimum-intel's exports carry it too), not from the graph:
// the folder opens as an OpenVINOStore (OpenVINOStore.h) that shows the
// weight Consts under their checkpoint names, and the Hugging Face importer
// builds the model from it with the strict config and shape checks it
// always makes; low-bit weights become phiq.packed_weight in their NNCF
// (or MatMulNBits) block format, so phi-run scores them as OpenVINO decodes
// them and phi-quantize can re-target them.
//
//===----------------------------------------------------------------------===//
#include "phiq/Target/OpenVINO/ImportOpenVINO.h"

#include "OpenVINOStore.h"

#include "phiq/Params/StoreRegistry.h"
#include "phiq/Target/HF/Import.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

using namespace mlir;
using llvm::StringRef;
namespace quant = ::phiq::quant;

bool phiq::openvino::isOpenVINOFolder(StringRef dir) {
  llvm::SmallString<256> xml(dir);
  llvm::sys::path::append(xml, "openvino_model.xml");
  return llvm::sys::fs::is_directory(dir) && llvm::sys::fs::exists(xml);
}

llvm::Expected<OwningOpRef<ModuleOp>>
phiq::openvino::importOpenVINO(StringRef dir, MLIRContext *context) {
  if (!isOpenVINOFolder(dir))
    return llvm::createStringError(
        dir + ": not an OpenVINO IR folder (expected openvino_model.xml, "
              "openvino_model.bin and config.json)");
  llvm::SmallString<256> config(dir);
  llvm::sys::path::append(config, "config.json");
  if (!llvm::sys::fs::exists(config))
    return llvm::createStringError(
        dir + ": no config.json next to openvino_model.xml (PhiQ reads the "
              "model's hyperparameters from it, as openvino-genai does)");
  // Read once here for the formats (and every error); the importer opens
  // the same folder again through the store registry.
  auto checkpoint = openOpenVINOCheckpoint(dir);
  if (!checkpoint)
    return checkpoint.takeError();
  auto formats = std::make_shared<llvm::StringMap<quant::BlockFormat>>(
      std::move(checkpoint->formats));
  registerOpenVINOStore();
  hf::ImportOptions options;
  options.floatTypesFromStore = true;
  options.tiedHeadFromStore = true;
  options.packedFormat =
      [formats](StringRef name) -> std::optional<quant::BlockFormat> {
    auto it = formats->find(name);
    if (it == formats->end())
      return std::nullopt;
    return it->second;
  };
  return hf::importCheckpoint(dir, context, options);
}

void phiq::openvino::registerOpenVINOStore() {
  static bool once = [] {
    params::registerFolderStoreFormat("openvino", isOpenVINOFolder,
                                      openOpenVINOStore);
    return true;
  }();
  (void)once;
}
