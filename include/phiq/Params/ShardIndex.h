//===- ShardIndex.h - model.safetensors.index.json --------------*- C++ -*-===//
//
// Large Hugging Face checkpoints are split into shards and described by an
// index file: {"metadata": {...}, "weight_map": {"tensor": "shard file"}}.
// This header reads and writes that index; opening the shards and checking
// them against it is the store's job (ParamStore.cpp).
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_PARAMS_SHARDINDEX_H
#define PHIQ_PARAMS_SHARDINDEX_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <string>
#include <utility>
#include <vector>

namespace phiq::params {

/// The usual name of the index in a checkpoint folder.
constexpr const char *kShardIndexFileName = "model.safetensors.index.json";
/// The usual name of an unsharded checkpoint's weights.
constexpr const char *kSingleFileName = "model.safetensors";

struct ShardIndex {
  /// The "metadata" object; string values as is, other values as JSON text
  /// (e.g. "total_size" -> "7642159104"). Sorted by key.
  std::vector<std::pair<std::string, std::string>> metadata;
  /// tensor name -> shard file name (relative to the index's folder),
  /// sorted by tensor name.
  std::vector<std::pair<std::string, std::string>> weightMap;
  /// The distinct shard file names, sorted.
  std::vector<std::string> shards;
};

/// Parses index JSON read from `path` (used in messages only). Shard names
/// must be relative paths that stay inside the index's folder.
llvm::Expected<ShardIndex> parseShardIndex(llvm::StringRef json,
                                           llvm::StringRef path);

/// Reads and parses the index file at `path`.
llvm::Expected<ShardIndex> readShardIndex(llvm::StringRef path);

/// The JSON text of an index: {"metadata": {"total_size": totalSize},
/// "weight_map": {...}}, pretty-printed like Hugging Face writes it.
std::string
buildShardIndex(uint64_t totalSize,
                llvm::ArrayRef<std::pair<std::string, std::string>> weightMap);

} // namespace phiq::params

#endif // PHIQ_PARAMS_SHARDINDEX_H
