//===- StoreRegistry.cpp - Opening a parameter store by format -*- C++ -*-===//
//
// The table of registered store formats. A file is matched by its magic
// first (a GGUF file renamed to .bin still opens), then by its extension
// (so a truncated file still reaches the reader that explains what is
// wrong); everything else is safetensors.
//
//===----------------------------------------------------------------------===//
#include "phiq/Params/StoreRegistry.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/FileSystem.h"

#include <mutex>
#include <string>
#include <vector>

using namespace phiq::params;
using llvm::StringRef;

namespace {
struct StoreFormat {
  std::string name, magic, extension;
  StoreOpener open;
  FolderProbe probe = nullptr;
};

std::mutex &registryMutex() {
  static std::mutex mutex;
  return mutex;
}

std::vector<StoreFormat> &registry() {
  static std::vector<StoreFormat> formats;
  return formats;
}

/// The first `count` bytes of the regular file `path` (fewer if it is
/// shorter; empty if it cannot be read).
std::string readPrefix(StringRef path, size_t count) {
  std::string prefix;
  if (count == 0 || !llvm::sys::fs::is_regular_file(path))
    return prefix;
  llvm::Expected<llvm::sys::fs::file_t> file =
      llvm::sys::fs::openNativeFileForRead(path);
  if (!file) {
    llvm::consumeError(file.takeError());
    return prefix;
  }
  prefix.resize(count);
  llvm::Expected<size_t> read = llvm::sys::fs::readNativeFile(
      *file, llvm::MutableArrayRef<char>(prefix.data(), count));
  llvm::sys::fs::closeFile(*file);
  if (!read) {
    llvm::consumeError(read.takeError());
    return {};
  }
  prefix.resize(*read);
  return prefix;
}
} // namespace

void phiq::params::registerStoreFormat(StringRef name, StringRef magic,
                                       StringRef extension, StoreOpener open) {
  std::lock_guard<std::mutex> lock(registryMutex());
  std::vector<StoreFormat> &formats = registry();
  StoreFormat format{name.str(), magic.str(), extension.str(), open};
  auto it = llvm::find_if(formats,
                          [&](const StoreFormat &f) { return f.name == name; });
  if (it != formats.end())
    *it = std::move(format);
  else
    formats.push_back(std::move(format));
}

void phiq::params::registerFolderStoreFormat(StringRef name,
                                             FolderProbe probe,
                                             StoreOpener open) {
  std::lock_guard<std::mutex> lock(registryMutex());
  std::vector<StoreFormat> &formats = registry();
  StoreFormat format{name.str(), "", "", open, probe};
  auto it = llvm::find_if(formats,
                          [&](const StoreFormat &f) { return f.name == name; });
  if (it != formats.end())
    *it = std::move(format);
  else
    formats.push_back(std::move(format));
}

llvm::Expected<std::unique_ptr<ParamStore>>
phiq::params::openParamStore(StringRef path) {
  StoreOpener chosen = nullptr;
  {
    std::lock_guard<std::mutex> lock(registryMutex());
    if (llvm::sys::fs::is_directory(path))
      for (const StoreFormat &format : registry())
        if (format.probe && format.probe(path))
          chosen = format.open;
    size_t longest = 0;
    for (const StoreFormat &format : registry())
      longest = std::max(longest, format.magic.size());
    std::string prefix = readPrefix(path, longest);
    for (const StoreFormat &format : registry())
      if (!format.magic.empty() && StringRef(prefix).starts_with(format.magic))
        chosen = format.open;
    if (!chosen)
      for (const StoreFormat &format : registry())
        if (!format.extension.empty() &&
            path.ends_with_insensitive(format.extension) &&
            !llvm::sys::fs::is_directory(path))
          chosen = format.open;
  }
  if (chosen)
    return chosen(path);
  return openSafetensors(path);
}
