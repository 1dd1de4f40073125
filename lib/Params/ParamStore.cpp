//===- ParamStore.cpp - Opening safetensors checkpoints ---------*- C++ -*-===//
//
// `openSafetensors` turns a path into a ParamStore: a single `.safetensors`
// file, a sharded checkpoint described by `model.safetensors.index.json`, or
// a Hugging Face folder holding either (the index wins, as in transformers).
// For sharded checkpoints it checks the shards against the index in both
// directions: every listed tensor is in the shard the index names, and no
// shard holds a tensor the index does not list or that another shard holds.
// All files stay mapped for the store's lifetime; nothing is copied.
//
//===----------------------------------------------------------------------===//
#include "phiq/Params/ParamStore.h"

#include "Diagnostics.h"
#include "phiq/Params/Safetensors.h"
#include "phiq/Params/ShardIndex.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

using namespace phiq::params;
using llvm::Expected;
using llvm::StringRef;
using phiq::params::detail::fileError;

ParamStore::~ParamStore() = default;

llvm::ArrayRef<ParamFile> ParamStore::files() const { return {}; }

namespace {
/// A store over one or more mapped safetensors files.
class SafetensorsStore final : public ParamStore {
public:
  explicit SafetensorsStore(StringRef openedFrom)
      : openedFrom(openedFrom.str()) {}

  /// Takes the buffer and tensors of `file`.
  void addFile(SafetensorsFile file) {
    buffers.push_back(std::move(file.buffer));
    fileInfos.push_back(std::move(file.info));
    for (TensorRef &tensor : file.tensors)
      tensors.push_back(std::move(tensor));
  }

  /// Sorts the tensors by name and builds the lookup table. Names are known
  /// to be unique by now.
  void finalize() {
    llvm::sort(tensors, [](const TensorRef &a, const TensorRef &b) {
      return a.name < b.name;
    });
    for (auto [index, tensor] : llvm::enumerate(tensors))
      byName[tensor.name] = index;
  }

  const TensorRef *lookup(StringRef name) const override {
    auto it = byName.find(name);
    return it == byName.end() ? nullptr : &tensors[it->second];
  }

  std::vector<StringRef> names() const override {
    std::vector<StringRef> result;
    result.reserve(tensors.size());
    for (const TensorRef &tensor : tensors)
      result.push_back(tensor.name);
    return result;
  }

  StringRef path() const override { return openedFrom; }

  llvm::ArrayRef<ParamFile> files() const override { return fileInfos; }

private:
  std::string openedFrom;
  std::vector<std::unique_ptr<llvm::MemoryBuffer>> buffers;
  std::vector<ParamFile> fileInfos;
  std::vector<TensorRef> tensors;
  llvm::StringMap<size_t> byName;
};
} // namespace

static Expected<std::unique_ptr<ParamStore>> openSingle(StringRef path,
                                                        StringRef openedFrom) {
  Expected<SafetensorsFile> file = mapSafetensorsFile(path);
  if (!file)
    return file.takeError();
  auto store = std::make_unique<SafetensorsStore>(openedFrom);
  store->addFile(std::move(*file));
  store->finalize();
  return std::unique_ptr<ParamStore>(std::move(store));
}

static Expected<std::unique_ptr<ParamStore>> openSharded(StringRef indexPath,
                                                         StringRef openedFrom) {
  Expected<ShardIndex> index = readShardIndex(indexPath);
  if (!index)
    return index.takeError();

  llvm::SmallString<256> folder = llvm::sys::path::parent_path(indexPath);
  if (folder.empty())
    folder = ".";

  llvm::StringMap<StringRef> shardOf; // tensor -> shard named by the index
  for (const auto &[tensor, shard] : index->weightMap)
    shardOf[tensor] = shard;

  std::vector<SafetensorsFile> shards;
  shards.reserve(index->shards.size());
  for (const std::string &shard : index->shards) {
    llvm::SmallString<256> shardPath = folder;
    llvm::sys::path::append(shardPath, shard);
    if (!llvm::sys::fs::exists(shardPath)) {
      // Name one tensor that needs the shard so the message is actionable.
      StringRef tensor;
      for (const auto &entry : index->weightMap)
        if (entry.second == shard) {
          tensor = entry.first;
          break;
        }
      return fileError(indexPath, "tensor '" + tensor +
                                      "' is mapped to shard '" + shard +
                                      "', which does not exist (no file '" +
                                      shardPath + "')");
    }
    Expected<SafetensorsFile> file = mapSafetensorsFile(shardPath);
    if (!file)
      return file.takeError();
    shards.push_back(std::move(*file));
  }

  // Every tensor of every shard must be listed, and only once.
  llvm::StringMap<size_t> foundIn; // tensor -> position in `shards`
  for (auto [position, shard] : llvm::enumerate(shards)) {
    for (const TensorRef &tensor : shard.tensors) {
      auto listed = shardOf.find(tensor.name);
      if (listed == shardOf.end())
        return fileError(shard.info.path, "holds tensor '" + tensor.name +
                                              "', which " + indexPath +
                                              " does not list");
      auto [it, inserted] = foundIn.try_emplace(tensor.name, position);
      if (!inserted)
        return fileError(
            indexPath,
            "tensor '" + tensor.name + "' is stored in two shards, '" +
                shards[it->second].info.path + "' and '" + shard.info.path +
                "' (the index maps it to '" + listed->second + "')");
    }
  }
  // Every listed tensor must be in the shard the index names.
  for (const auto &[tensor, shard] : index->weightMap) {
    auto found = foundIn.find(tensor);
    if (found == foundIn.end())
      return fileError(indexPath, "tensor '" + tensor +
                                      "' is mapped to shard '" + shard +
                                      "', but that shard does not contain it");
    const ParamFile &actual = shards[found->second].info;
    llvm::SmallString<256> expected = folder;
    llvm::sys::path::append(expected, shard);
    if (actual.path != expected)
      return fileError(indexPath, "tensor '" + tensor +
                                      "' is mapped to shard '" + shard +
                                      "', but that shard does not contain it "
                                      "(it is in '" +
                                      actual.path + "')");
  }

  auto store = std::make_unique<SafetensorsStore>(openedFrom);
  for (SafetensorsFile &shard : shards)
    store->addFile(std::move(shard));
  store->finalize();
  return std::unique_ptr<ParamStore>(std::move(store));
}

Expected<std::unique_ptr<ParamStore>>
phiq::params::openSafetensors(StringRef path) {
  if (llvm::sys::fs::is_directory(path)) {
    llvm::SmallString<256> index = path;
    llvm::sys::path::append(index, kShardIndexFileName);
    if (llvm::sys::fs::exists(index))
      return openSharded(index, path);
    llvm::SmallString<256> single = path;
    llvm::sys::path::append(single, kSingleFileName);
    if (llvm::sys::fs::exists(single))
      return openSingle(single, path);
    return fileError(path, llvm::Twine("folder holds neither ") +
                               kShardIndexFileName + " nor " + kSingleFileName);
  }
  if (path.ends_with(".json"))
    return openSharded(path, path);
  return openSingle(path, path);
}
