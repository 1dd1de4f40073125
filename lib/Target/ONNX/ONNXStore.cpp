//===- ONNXStore.cpp - An ONNX model's initializers as a store --*- C++ -*-===//
//
// Reads model.onnx once and builds one TensorRef per initializer: external
// data points into the mapped data file (each file mapped once, however many
// tensors it holds), raw_data into the parsed protobuf the file object
// keeps alive. Every byte range is checked against its file and against the
// size the tensor's dims and type imply, so a truncated data file is an
// error here and never a read past a mapping later.
//
//===----------------------------------------------------------------------===//
#include "phiq/Target/ONNX/ONNXStore.h"

#include "phiq/Params/StoreRegistry.h"

#include "onnx/onnx.pb.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <cstring>
#include <mutex>

using namespace phiq::onnx;
namespace params = phiq::params;
using llvm::StringRef;

std::optional<params::DType> phiq::onnx::dtypeOfONNXType(int32_t type) {
  switch (type) {
  case ::onnx::TensorProto_DataType_FLOAT:
    return params::DType::F32;
  case ::onnx::TensorProto_DataType_FLOAT16:
    return params::DType::F16;
  case ::onnx::TensorProto_DataType_BFLOAT16:
    return params::DType::BF16;
  case ::onnx::TensorProto_DataType_DOUBLE:
    return params::DType::F64;
  case ::onnx::TensorProto_DataType_UINT8:
    return params::DType::U8;
  case ::onnx::TensorProto_DataType_INT8:
    return params::DType::I8;
  case ::onnx::TensorProto_DataType_UINT16:
    return params::DType::U16;
  case ::onnx::TensorProto_DataType_INT16:
    return params::DType::I16;
  case ::onnx::TensorProto_DataType_INT32:
    return params::DType::I32;
  case ::onnx::TensorProto_DataType_INT64:
    return params::DType::I64;
  case ::onnx::TensorProto_DataType_UINT32:
    return params::DType::U32;
  case ::onnx::TensorProto_DataType_UINT64:
    return params::DType::U64;
  case ::onnx::TensorProto_DataType_BOOL:
    return params::DType::Bool;
  default:
    return std::nullopt;
  }
}

ONNXModelFile::~ONNXModelFile() = default;

llvm::Expected<std::unique_ptr<ONNXModelFile>>
ONNXModelFile::open(StringRef path) {
  auto fail = [&](const llvm::Twine &message) {
    return llvm::createStringError(path + ": " + message);
  };
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return fail("cannot read: " + buffer.getError().message());
  std::unique_ptr<ONNXModelFile> file(new ONNXModelFile());
  file->path = path.str();
  file->model = std::make_unique<::onnx::ModelProto>();
  StringRef bytes = (*buffer)->getBuffer();
  if (bytes.size() > size_t(INT32_MAX) ||
      !file->model->ParseFromArray(bytes.data(), int(bytes.size())))
    return fail("not an ONNX model: the protobuf (" +
                llvm::Twine(bytes.size()) +
                " bytes) does not parse as onnx.ModelProto");
  if (!file->model->has_graph())
    return fail("the ONNX model has no graph");

  llvm::SmallString<256> folder(llvm::sys::path::parent_path(path));
  llvm::StringMap<size_t> fileIndex;
  for (const ::onnx::TensorProto &init : file->model->graph().initializer()) {
    const std::string &name = init.name();
    auto dtype = dtypeOfONNXType(init.data_type());
    if (!dtype)
      return fail("initializer '" + name + "' has ONNX data type " +
                  llvm::Twine(init.data_type()) + ", which PhiQ does not read");
    params::TensorRef ref;
    ref.name = name;
    ref.dtype = *dtype;
    uint64_t expected = params::dtypeSize(*dtype);
    for (int64_t d : init.dims()) {
      if (d < 0)
        return fail("initializer '" + name + "' has a negative dimension");
      ref.shape.push_back(d);
      expected *= uint64_t(d);
    }
    if (init.data_location() == ::onnx::TensorProto_DataLocation_EXTERNAL) {
      std::string location;
      std::optional<uint64_t> offset, length;
      for (const auto &entry : init.external_data()) {
        uint64_t value = 0;
        if (entry.key() == "location")
          location = entry.value();
        else if ((entry.key() == "offset" || entry.key() == "length") &&
                 llvm::to_integer(entry.value(), value, 10))
          (entry.key() == "offset" ? offset : length) = value;
        else if (entry.key() != "checksum")
          return fail("initializer '" + name + "' has a bad external_data "
                      "entry '" + entry.key() + "' = '" + entry.value() + "'");
      }
      if (location.empty() || llvm::sys::path::is_absolute(location) ||
          StringRef(location).contains(".."))
        return fail("initializer '" + name + "' names external data file '" +
                    location + "'; ONNX requires a path relative to the "
                    "model's folder");
      llvm::SmallString<256> dataPath(folder);
      llvm::sys::path::append(dataPath, location);
      auto it = fileIndex.find(dataPath);
      if (it == fileIndex.end()) {
        auto data = llvm::MemoryBuffer::getFile(dataPath, false, false,
                                                /*IsVolatile=*/false);
        if (!data)
          return fail("initializer '" + name + "': cannot open its external "
                      "data file " + dataPath + ": " +
                      data.getError().message());
        params::ParamFile info;
        info.path = dataPath.str().str();
        info.bytes = {reinterpret_cast<const uint8_t *>(
                          (*data)->getBufferStart()),
                      (*data)->getBufferSize()};
        file->buffers.push_back(std::move(*data));
        file->files.push_back(std::move(info));
        it = fileIndex.try_emplace(dataPath, file->files.size() - 1).first;
      }
      const params::ParamFile &data = file->files[it->second];
      const uint64_t start = offset.value_or(0);
      const uint64_t size = length.value_or(expected);
      if (size != expected)
        return fail("initializer '" + name + "' has length " +
                    llvm::Twine(size) + " in " + data.path + ", but its dims "
                    "and type take " + llvm::Twine(expected) + " bytes");
      if (start > data.bytes.size() || size > data.bytes.size() - start)
        return fail("initializer '" + name + "' needs bytes [" +
                    llvm::Twine(start) + ", " + llvm::Twine(start + size) +
                    ") of " + data.path + ", which has only " +
                    llvm::Twine(uint64_t(data.bytes.size())) + " bytes");
      ref.data = data.bytes.slice(start, size);
      ref.file = data.path;
      ref.fileOffset = start;
      ref.mapped = file->buffers[it->second]->getBufferKind() ==
                   llvm::MemoryBuffer::MemoryBuffer_MMap;
    } else if (init.has_raw_data()) {
      const std::string &raw = init.raw_data();
      if (raw.size() != expected)
        return fail("initializer '" + name + "' holds " +
                    llvm::Twine(uint64_t(raw.size())) + " raw bytes, but its "
                    "dims and type take " + llvm::Twine(expected));
      ref.data = {reinterpret_cast<const uint8_t *>(raw.data()), raw.size()};
      ref.file = file->path;
    } else {
      // Typed repeated fields (float_data, int64_data...): small constants
      // that writers rarely use for weights; the importer reads them from
      // the protobuf itself, the store does not list them.
      continue;
    }
    file->byName[ref.name] = file->tensors.size();
    file->tensors.push_back(std::move(ref));
  }
  return file;
}

const params::TensorRef *ONNXModelFile::lookupTensor(StringRef name) const {
  auto it = byName.find(name);
  return it == byName.end() ? nullptr : &tensors[it->second];
}

namespace {
class ONNXStore final : public params::ParamStore {
public:
  explicit ONNXStore(std::unique_ptr<ONNXModelFile> file)
      : file(std::move(file)) {
    for (const params::TensorRef &t : this->file->getTensors())
      sortedNames.push_back(t.name);
    llvm::sort(sortedNames);
  }
  const params::TensorRef *lookup(StringRef name) const override {
    if (!name.ends_with(kTransposedSuffix))
      return file->lookupTensor(name);
    return transposed(name.drop_back(kTransposedSuffix.size()));
  }
  std::vector<StringRef> names() const override { return sortedNames; }
  StringRef path() const override { return file->getPath(); }
  llvm::ArrayRef<params::ParamFile> files() const override {
    return file->getFiles();
  }

private:
  /// The [cols, rows] copy of 2-D float initializer `base`, made once.
  const params::TensorRef *transposed(StringRef base) const {
    const params::TensorRef *t = file->lookupTensor(base);
    if (!t || t->shape.size() != 2 ||
        (t->dtype != params::DType::F32 && t->dtype != params::DType::F16 &&
         t->dtype != params::DType::BF16))
      return nullptr;
    std::lock_guard<std::mutex> lock(mutex);
    std::unique_ptr<Derived> &slot = derived[base];
    if (slot)
      return &slot->ref;
    slot = std::make_unique<Derived>();
    const int64_t rows = t->shape[0], cols = t->shape[1];
    const size_t size = params::dtypeSize(t->dtype);
    slot->bytes.resize(t->data.size());
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c)
        std::memcpy(&slot->bytes[size_t(c * rows + r) * size],
                    &t->data[size_t(r * cols + c) * size], size);
    slot->ref = *t;
    slot->ref.name = (base + kTransposedSuffix).str();
    slot->ref.shape = {cols, rows};
    slot->ref.data = slot->bytes;
    slot->ref.mapped = false;
    return &slot->ref;
  }

  struct Derived {
    std::vector<uint8_t> bytes;
    params::TensorRef ref;
  };
  std::unique_ptr<ONNXModelFile> file;
  std::vector<StringRef> sortedNames;
  mutable std::mutex mutex;
  mutable llvm::StringMap<std::unique_ptr<Derived>> derived;
};
} // namespace

llvm::Expected<std::unique_ptr<params::ParamStore>>
phiq::onnx::openONNXStore(StringRef path) {
  auto file = ONNXModelFile::open(path);
  if (!file)
    return file.takeError();
  return std::make_unique<ONNXStore>(std::move(*file));
}

void phiq::onnx::registerONNXStore() {
  static bool once = [] {
    // ONNX files have no magic; the extension decides.
    params::registerStoreFormat("onnx", "", ".onnx", openONNXStore);
    return true;
  }();
  (void)once;
}
