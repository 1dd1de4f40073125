//===- ShardIndex.cpp - model.safetensors.index.json ------------*- C++ -*-===//
//
// Reads and writes the index of a sharded checkpoint. Reading validates the
// JSON shape and that every shard name stays inside the index's folder (an
// index must not be able to point the store at arbitrary files); whether the
// shards exist and hold what the index says is checked by the store.
//
//===----------------------------------------------------------------------===//
#include "phiq/Params/ShardIndex.h"

#include "Diagnostics.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

using namespace phiq::params;
using llvm::StringRef;
namespace json = llvm::json;
using phiq::params::detail::fileError;
using phiq::params::detail::jsonKindName;

/// Normalizes `name` ("./a" -> "a"); fails if it leaves the folder.
static std::optional<std::string> normalizeShardName(StringRef name) {
  if (name.empty() || llvm::sys::path::is_absolute(name) ||
      llvm::sys::path::is_absolute(name, llvm::sys::path::Style::windows))
    return std::nullopt;
  llvm::SmallString<128> normalized(name);
  llvm::sys::path::remove_dots(normalized, /*remove_dot_dot=*/true);
  if (normalized.empty() || normalized == "." ||
      *llvm::sys::path::begin(normalized) == "..")
    return std::nullopt;
  return std::string(normalized);
}

llvm::Expected<ShardIndex> phiq::params::parseShardIndex(StringRef text,
                                                         StringRef path) {
  llvm::Expected<json::Value> parsed = json::parse(text);
  if (!parsed)
    return fileError(path,
                     "not valid JSON: " + llvm::toString(parsed.takeError()));
  const json::Object *root = parsed->getAsObject();
  if (!root)
    return fileError(path, llvm::Twine("the index is ") +
                               jsonKindName(*parsed) +
                               ", expected an object with \"weight_map\"");

  ShardIndex index;
  if (const json::Value *metadata = root->get("metadata")) {
    const json::Object *object = metadata->getAsObject();
    if (!object)
      return fileError(path, llvm::Twine("\"metadata\" is ") +
                                 jsonKindName(*metadata) +
                                 ", expected an object");
    for (const auto &[key, value] : *object) {
      std::string printed;
      if (std::optional<StringRef> text = value.getAsString()) {
        printed = text->str();
      } else {
        llvm::raw_string_ostream os(printed);
        os << value;
      }
      index.metadata.emplace_back(key.str(), std::move(printed));
    }
    llvm::sort(index.metadata);
  }

  const json::Value *weightMapValue = root->get("weight_map");
  if (!weightMapValue)
    return fileError(path, "missing \"weight_map\" (tensor name -> shard "
                           "file)");
  const json::Object *weightMap = weightMapValue->getAsObject();
  if (!weightMap)
    return fileError(path, llvm::Twine("\"weight_map\" is ") +
                               jsonKindName(*weightMapValue) +
                               ", expected an object of tensor name -> "
                               "shard file");
  if (weightMap->empty())
    return fileError(path, "\"weight_map\" is empty; an index must list at "
                           "least one tensor");

  for (const auto &[tensor, shardValue] : *weightMap) {
    std::optional<StringRef> shard = shardValue.getAsString();
    if (!shard)
      return fileError(path, "weight_map entry '" + tensor.str() + "' is " +
                                 jsonKindName(shardValue) +
                                 ", expected a shard file name");
    std::optional<std::string> normalized = normalizeShardName(*shard);
    if (!normalized)
      return fileError(path, "weight_map entry '" + tensor.str() +
                                 "' names shard '" + *shard +
                                 "', expected a relative file name inside "
                                 "the index's folder");
    index.weightMap.emplace_back(tensor.str(), std::move(*normalized));
  }
  llvm::sort(index.weightMap);
  for (const auto &entry : index.weightMap)
    index.shards.push_back(entry.second);
  llvm::sort(index.shards);
  index.shards.erase(std::unique(index.shards.begin(), index.shards.end()),
                     index.shards.end());
  return index;
}

llvm::Expected<ShardIndex> phiq::params::readShardIndex(StringRef path) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer)
    return llvm::createStringError(buffer.getError(),
                                   "cannot open '" + path +
                                       "': " + buffer.getError().message());
  return parseShardIndex((*buffer)->getBuffer(), path);
}

std::string phiq::params::buildShardIndex(
    uint64_t totalSize,
    llvm::ArrayRef<std::pair<std::string, std::string>> weightMap) {
  std::string text;
  llvm::raw_string_ostream os(text);
  json::OStream out(os, /*IndentSize=*/2);
  out.object([&] {
    out.attributeObject("metadata",
                        [&] { out.attribute("total_size", totalSize); });
    out.attributeObject("weight_map", [&] {
      for (const auto &[tensor, shard] : weightMap)
        out.attribute(tensor, shard);
    });
  });
  os << "\n";
  os.flush();
  return text;
}
