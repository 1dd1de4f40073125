//===- GGUFStore.cpp - A GGUF file as a parameter store ---------*- C++ -*-===//
//
// The store keeps the GGUFFile (and so its mapping) alive and answers
// lookups from a table built once when it is opened; nothing of the tensor
// data is read.
//
//===----------------------------------------------------------------------===//
#include "phiq/Target/GGUF/GGUFStore.h"

#include "phiq/Params/StoreRegistry.h"
#include "phiq/Target/GGUF/GGUFReader.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringMap.h"

using namespace phiq::gguf;
namespace params = phiq::params;
using llvm::StringRef;

std::optional<params::DType> phiq::gguf::getElementDType(GGMLType type) {
  switch (type) {
  case GGMLType::F32:
    return params::DType::F32;
  case GGMLType::F16:
    return params::DType::F16;
  case GGMLType::BF16:
    return params::DType::BF16;
  case GGMLType::F64:
    return params::DType::F64;
  case GGMLType::I8:
    return params::DType::I8;
  case GGMLType::I16:
    return params::DType::I16;
  case GGMLType::I32:
    return params::DType::I32;
  case GGMLType::I64:
    return params::DType::I64;
  default:
    return std::nullopt;
  }
}

llvm::SmallVector<int64_t, 4>
phiq::gguf::getStoreShape(GGMLType type, llvm::ArrayRef<uint64_t> dims,
                          uint64_t byteSize) {
  if (!getElementDType(type))
    return {int64_t(byteSize)};
  llvm::SmallVector<int64_t, 4> shape;
  for (uint64_t dim : llvm::reverse(dims))
    shape.push_back(int64_t(dim));
  return shape;
}

namespace {
class GGUFStore final : public params::ParamStore {
public:
  explicit GGUFStore(std::unique_ptr<GGUFFile> file) : file(std::move(file)) {
    const llvm::MemoryBuffer &buffer = this->file->getBuffer();
    params::ParamFile info;
    info.path = this->file->getPath().str();
    info.bytes = {reinterpret_cast<const uint8_t *>(buffer.getBufferStart()),
                  buffer.getBufferSize()};
    info.dataOffset = this->file->getDataOffset();
    fileInfos.push_back(std::move(info));

    for (const GGUFTensor &tensor : this->file->getTensors()) {
      params::TensorRef ref;
      ref.name = tensor.getName().str();
      ref.dtype = getElementDType(tensor.getType()).value_or(params::DType::U8);
      ref.shape = getStoreShape(tensor.getType(), tensor.getDims(),
                                tensor.getByteSize());
      ref.data = tensor.data();
      ref.mapped =
          buffer.getBufferKind() == llvm::MemoryBuffer::MemoryBuffer_MMap;
      ref.file = this->file->getPath().str();
      ref.fileOffset = this->file->getDataOffset() + tensor.getOffset();
      tensors.push_back(std::move(ref));
    }
    llvm::sort(tensors,
               [](const params::TensorRef &a, const params::TensorRef &b) {
                 return a.name < b.name;
               });
    for (auto [index, tensor] : llvm::enumerate(tensors))
      byName[tensor.name] = index;
  }

  const params::TensorRef *lookup(StringRef name) const override {
    auto it = byName.find(name);
    return it == byName.end() ? nullptr : &tensors[it->second];
  }

  std::vector<StringRef> names() const override {
    std::vector<StringRef> result;
    result.reserve(tensors.size());
    for (const params::TensorRef &tensor : tensors)
      result.push_back(tensor.name);
    return result;
  }

  StringRef path() const override { return file->getPath(); }

  llvm::ArrayRef<params::ParamFile> files() const override { return fileInfos; }

private:
  std::unique_ptr<GGUFFile> file;
  std::vector<params::ParamFile> fileInfos;
  // The reader rejects duplicate names, so the table is one-to-one.
  std::vector<params::TensorRef> tensors;
  llvm::StringMap<size_t> byName;
};
} // namespace

llvm::Expected<std::unique_ptr<params::ParamStore>>
phiq::gguf::openGGUFStore(StringRef path) {
  auto file = GGUFFile::open(path);
  if (!file)
    return file.takeError();
  return std::make_unique<GGUFStore>(std::move(*file));
}

void phiq::gguf::registerGGUFStore() {
  static bool once = [] {
    params::registerStoreFormat("gguf", "GGUF", ".gguf", openGGUFStore);
    return true;
  }();
  (void)once;
}
