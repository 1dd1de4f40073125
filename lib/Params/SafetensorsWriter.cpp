//===- SafetensorsWriter.cpp - Building safetensors headers -----*- C++ -*-===//
//
// The writing side of the format: turns a list of tensor layouts into the
// length prefix and JSON header that precede their data. Tools that emit
// checkpoints (phi-gen-checkpoint, tests) use it so what they write is what
// the parser in Safetensors.cpp accepts: tensors back to back in the given
// order, no gaps, data starting 8-byte aligned.
//
//===----------------------------------------------------------------------===//
#include "phiq/Params/Safetensors.h"

#include "llvm/Support/Endian.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

using namespace phiq::params;
namespace json = llvm::json;

uint64_t TensorLayout::byteSize() const {
  uint64_t elements = 1;
  for (int64_t dim : shape)
    elements *= static_cast<uint64_t>(dim);
  return elements * dtypeSize(dtype);
}

std::string phiq::params::buildSafetensorsHeader(
    llvm::ArrayRef<TensorLayout> tensors,
    llvm::ArrayRef<std::pair<std::string, std::string>> metadata,
    uint64_t &dataBytes) {
  json::Object root;
  if (!metadata.empty()) {
    json::Object meta;
    for (const auto &[key, value] : metadata)
      meta[key] = value;
    root["__metadata__"] = std::move(meta);
  }
  uint64_t offset = 0;
  for (const TensorLayout &tensor : tensors) {
    uint64_t end = offset + tensor.byteSize();
    json::Array shape;
    for (int64_t dim : tensor.shape)
      shape.push_back(dim);
    root[tensor.name] = json::Object{
        {"dtype", dtypeName(tensor.dtype)},
        {"shape", std::move(shape)},
        {"data_offsets", json::Array{offset, end}},
    };
    offset = end;
  }
  dataBytes = offset;

  std::string text;
  llvm::raw_string_ostream os(text);
  os << json::Value(std::move(root));
  os.flush();
  // Pad with spaces (allowed after the JSON) so the data starts at a
  // multiple of 8; readers still must not rely on it.
  text.append((8 - text.size() % 8) % 8, ' ');

  std::string result(8, '\0');
  llvm::support::endian::write64le(result.data(), text.size());
  result += text;
  return result;
}
