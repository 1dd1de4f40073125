//===- StoreRegistry.h - Opening a parameter store by format -*- C++ -*-===//
//
// A `phi.model` lists its stores by path, and any tool that parses the IR
// reopens them. Safetensors is built in; other formats (GGUF) live in
// libraries that lib/Params must not depend on, so they register an opener
// here, recognized by the file's first bytes or its extension.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_PARAMS_STOREREGISTRY_H
#define PHIQ_PARAMS_STOREREGISTRY_H

#include "phiq/Params/ParamStore.h"

namespace phiq::params {

/// Opens a store of one format from a file path.
using StoreOpener =
    llvm::Expected<std::unique_ptr<ParamStore>> (*)(llvm::StringRef path);

/// Registers the format `name`: a regular file that starts with `magic` or
/// whose name ends in `extension` (".gguf") is opened by `open`.
/// Registering a name again replaces its entry.
void registerStoreFormat(llvm::StringRef name, llvm::StringRef magic,
                         llvm::StringRef extension, StoreOpener open);

/// Recognizes a folder of a registered folder format.
using FolderProbe = bool (*)(llvm::StringRef dir);

/// Registers the folder format `name`: a folder for which `probe` returns
/// true (an mlx-lm folder, say, which is safetensors too but names and
/// packs its tensors its own way) is opened by `open`.
void registerFolderStoreFormat(llvm::StringRef name, FolderProbe probe,
                               StoreOpener open);

/// Opens the store at `path` with the registered format it matches, and
/// with openSafetensors otherwise (folders, index files, .safetensors).
llvm::Expected<std::unique_ptr<ParamStore>>
openParamStore(llvm::StringRef path);

} // namespace phiq::params

#endif // PHIQ_PARAMS_STOREREGISTRY_H
