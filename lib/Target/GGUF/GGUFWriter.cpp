//===- GGUFWriter.cpp - Streaming GGUF file writer --------------*- C++ -*-===//
//
// Computes the whole layout up front (the size of every KV pair and tensor
// info is known before any byte is written), encodes the metadata, then
// appends each tensor as its callback fills it, zero padding in between,
// into a temporary file that is renamed over the destination at the end.
// See GGUFWriter.h for the guarantees.
//
//===----------------------------------------------------------------------===//
#include "phiq/Target/GGUF/GGUFWriter.h"

#include "phiq/Params/DirectFileWriter.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/CheckedArithmetic.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MathExtras.h"

#include <cstring>
#include <future>

using namespace phiq::gguf;
using llvm::Error;
using llvm::StringRef;

static Error invalid(const llvm::Twine &message) {
  return llvm::createStringError(
      std::make_error_code(std::errc::invalid_argument), message);
}

Error GGUFWriter::addKV(StringRef key, GGUFValue value) {
  if (key.empty())
    return invalid("GGUF key must not be empty");
  if (key == kAlignmentKey) {
    const uint32_t *newAlignment = value.getIf<uint32_t>();
    if (!newAlignment)
      return invalid(llvm::formatv("GGUF key '{0}' has type {1}, expected u32",
                                   key, value.getTypeString()));
    if (!llvm::isPowerOf2_32(*newAlignment))
      return invalid(
          llvm::formatv("GGUF key '{0}' is {1}, expected a power of two", key,
                        *newAlignment));
  }
  auto [it, inserted] = kvIndex.try_emplace(key, kvs.size());
  if (!inserted)
    return invalid(llvm::formatv("duplicate GGUF key '{0}'", key));
  if (const uint32_t *newAlignment = value.getIf<uint32_t>();
      newAlignment && key == kAlignmentKey)
    alignment = *newAlignment;
  kvs.emplace_back(key.str(), std::move(value));
  return Error::success();
}

Error GGUFWriter::addTensor(StringRef name, GGMLType type,
                            llvm::ArrayRef<uint64_t> dims, uint64_t byteSize,
                            FillFn fill) {
  if (name.empty())
    return invalid("GGUF tensor name must not be empty");
  if (name.size() > kMaxTensorNameBytes)
    return invalid(llvm::formatv(
        "GGUF tensor '{0}': name is {1} bytes, llama.cpp accepts at most {2}",
        name, name.size(), kMaxTensorNameBytes));
  if (tensorIndex.count(name))
    return invalid(llvm::formatv("duplicate GGUF tensor '{0}'", name));
  llvm::Expected<uint64_t> expected = computeTensorByteSize(type, dims);
  if (!expected)
    return invalid(llvm::formatv("GGUF tensor '{0}': {1}", name,
                                 llvm::toString(expected.takeError())));
  if (*expected != byteSize)
    return invalid(
        llvm::formatv("GGUF tensor '{0}': {1} bytes given, {2} [{3}] takes {4}",
                      name, byteSize, getGGMLTypeName(type),
                      llvm::make_range(dims.begin(), dims.end()), *expected));
  if (!fill)
    return invalid(llvm::formatv("GGUF tensor '{0}': no fill callback", name));
  tensorIndex[name] = tensors.size();
  tensors.push_back({name.str(), type, llvm::SmallVector<uint64_t, 4>(dims),
                     byteSize, std::move(fill)});
  return Error::success();
}

llvm::Expected<GGUFWriter::Layout> GGUFWriter::computeLayout() const {
  // Metadata sizes are bounded by what is in memory; only tensor byte sizes
  // are declared numbers and need checked sums.
  uint64_t metadata = kHeaderBytes;
  for (const auto &[key, value] : kvs)
    metadata += 8 + key.size() + 4 + value.getEncodedBytes();
  for (const PendingTensor &tensor : tensors)
    metadata += 8 + tensor.name.size() + 4 + 8 * tensor.dims.size() + 4 + 8;

  Layout layout;
  layout.dataStart = *alignUp(metadata, alignment);
  uint64_t cursor = 0;
  for (const PendingTensor &tensor : tensors) {
    layout.tensorOffsets.push_back(cursor);
    std::optional<uint64_t> padded = alignUp(tensor.byteSize, alignment);
    std::optional<uint64_t> next =
        padded ? llvm::checkedAddUnsigned(cursor, *padded) : std::nullopt;
    if (!next)
      return invalid(llvm::formatv(
          "GGUF tensor '{0}': data section exceeds 2^64 bytes", tensor.name));
    cursor = *next;
  }
  std::optional<uint64_t> fileSize =
      llvm::checkedAddUnsigned(layout.dataStart, cursor);
  if (!fileSize || *fileSize > std::numeric_limits<size_t>::max())
    return invalid("GGUF file exceeds the address space");
  layout.fileSize = *fileSize;
  return layout;
}

llvm::Expected<uint64_t> GGUFWriter::computeFileSize() const {
  llvm::Expected<Layout> layout = computeLayout();
  if (!layout)
    return layout.takeError();
  return layout->fileSize;
}

namespace {
/// Little-endian encoder into the mapped output. The layout was computed
/// from the same sizes, so the cursor cannot pass the end; the assertion
/// guards the arithmetic, not the input.
class Encoder {
public:
  Encoder(uint8_t *begin, uint8_t *end) : cursor(begin), end(end) {}

  template <typename T> void scalar(T value) {
    static_assert(std::is_arithmetic_v<T>);
    assert(cursor + sizeof(T) <= end && "GGUF layout out of sync");
    if constexpr (std::is_same_v<T, bool>) {
      *cursor++ = value ? 1 : 0;
    } else if constexpr (std::is_same_v<T, float>) {
      llvm::support::endian::write32le(cursor, llvm::bit_cast<uint32_t>(value));
      cursor += 4;
    } else if constexpr (std::is_same_v<T, double>) {
      llvm::support::endian::write64le(cursor, llvm::bit_cast<uint64_t>(value));
      cursor += 8;
    } else {
      llvm::support::endian::write<T, llvm::endianness::little>(cursor, value);
      cursor += sizeof(T);
    }
  }

  void string(StringRef text) {
    scalar<uint64_t>(text.size());
    assert(cursor + text.size() <= end && "GGUF layout out of sync");
    if (!text.empty())
      std::memcpy(cursor, text.data(), text.size());
    cursor += text.size();
  }

  void value(const GGUFValue &value) {
    std::visit(
        [&](const auto &held) {
          using T = std::decay_t<decltype(held)>;
          if constexpr (std::is_same_v<T, std::string>) {
            string(held);
          } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
            for (const std::string &item : held)
              string(item);
          } else if constexpr (std::is_same_v<T, std::vector<bool>>) {
            for (bool item : held)
              scalar<bool>(item);
          } else if constexpr (std::is_class_v<T>) {
            for (auto item : held)
              scalar(item);
          } else {
            scalar(held);
          }
        },
        value.getStorage());
  }

  uint8_t *position() const { return cursor; }

private:
  uint8_t *cursor;
  uint8_t *end;
};
} // namespace

Error GGUFWriter::write(StringRef path) {
  llvm::Expected<Layout> layout = computeLayout();
  if (!layout)
    return invalid(path + ": " + llvm::toString(layout.takeError()));
  llvm::Expected<llvm::sys::fs::TempFile> temp =
      llvm::sys::fs::TempFile::create(path + ".tmp-%%%%%%");
  if (!temp)
    return invalid(path +
                   ": cannot create: " + llvm::toString(temp.takeError()));
  auto discard = [&](Error error) -> Error {
    llvm::consumeError(temp->discard());
    return error;
  };
  Error written = [&]() -> Error {
    phiq::params::DirectFileWriter out(temp->FD, path);

    // Metadata, zero padded to the data section.
    std::vector<uint8_t> metadata(layout->dataStart, 0);
    Encoder encoder(metadata.data(), metadata.data() + metadata.size());
    encoder.scalar<uint32_t>(kGGUFMagic);
    encoder.scalar<uint32_t>(kGGUFVersion);
    encoder.scalar<uint64_t>(tensors.size());
    encoder.scalar<uint64_t>(kvs.size());
    for (const auto &[key, value] : kvs) {
      encoder.string(key);
      if (value.isArray()) {
        encoder.scalar<uint32_t>(static_cast<uint32_t>(GGUFValueType::Array));
        encoder.scalar<uint32_t>(static_cast<uint32_t>(value.getElementType()));
        encoder.scalar<uint64_t>(value.getArraySize());
      } else {
        encoder.scalar<uint32_t>(static_cast<uint32_t>(value.getType()));
      }
      encoder.value(value);
    }
    for (auto [tensor, offset] :
         llvm::zip_equal(tensors, layout->tensorOffsets)) {
      encoder.string(tensor.name);
      encoder.scalar<uint32_t>(tensor.dims.size());
      for (uint64_t dim : tensor.dims)
        encoder.scalar<uint64_t>(dim);
      encoder.scalar<uint32_t>(static_cast<uint32_t>(tensor.type));
      encoder.scalar<uint64_t>(offset);
    }
    if (Error error = out.append(metadata.data(), metadata.size()))
      return error;

    // Tensors, each padded to the alignment. Two buffers, each grown to the
    // largest tensor it has held and never zero-filled (every callback
    // writes all of its bytes): while a background thread writes one
    // tensor out, the next callback fills the other buffer, so writing
    // overlaps quantizing.
    struct Buffer {
      std::unique_ptr<uint8_t[]> bytes;
      uint64_t capacity = 0;
    } buffers[2];
    std::future<Error> writing;
    auto waitForWrite = [&]() -> Error {
      return writing.valid() ? writing.get() : Error::success();
    };
    unsigned current = 0;
    for (const PendingTensor &tensor : tensors) {
      Buffer &buffer = buffers[current];
      current ^= 1;
      if (tensor.byteSize > buffer.capacity) {
        buffer.bytes.reset();
        buffer.bytes.reset(new uint8_t[tensor.byteSize]);
        buffer.capacity = tensor.byteSize;
      }
      llvm::MutableArrayRef<uint8_t> slot(buffer.bytes.get(), tensor.byteSize);
      Error filled = tensor.fill(slot);
      if (Error error = waitForWrite()) {
        llvm::consumeError(std::move(filled));
        return error;
      }
      if (filled)
        return invalid(llvm::formatv("{0}: tensor '{1}': {2}", path,
                                     tensor.name,
                                     llvm::toString(std::move(filled))));
      uint64_t padding = *alignUp(tensor.byteSize, alignment) - tensor.byteSize;
      writing = std::async(std::launch::async, [&out, slot, padding]() {
        if (Error error = out.append(slot.data(), slot.size()))
          return error;
        return out.appendZeros(padding);
      });
    }
    if (Error error = waitForWrite())
      return error;
    return out.finish();
  }();
  if (written)
    return discard(std::move(written));
  if (Error error = temp->keep(path))
    return discard(
        invalid(path + ": cannot commit: " + llvm::toString(std::move(error))));
  return Error::success();
}
