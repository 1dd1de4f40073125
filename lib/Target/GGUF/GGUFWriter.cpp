//===- GGUFWriter.cpp - Streaming GGUF file writer --------------*- C++ -*-===//
//
// Computes the whole layout up front (the size of every KV pair and tensor
// info is known before any byte is written), maps a temporary file of
// exactly that size, encodes the metadata into it, lets each tensor's
// callback fill its slot in place, and commits by renaming. The mapping
// starts zeroed, so all padding is zeros without being written. See
// GGUFWriter.h for the guarantees.
//
//===----------------------------------------------------------------------===//
#include "phiq/Target/GGUF/GGUFWriter.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/CheckedArithmetic.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileOutputBuffer.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MathExtras.h"

#include <cstring>

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

  llvm::Expected<std::unique_ptr<llvm::FileOutputBuffer>> output =
      llvm::FileOutputBuffer::create(path, layout->fileSize);
  if (!output)
    return invalid(path +
                   ": cannot create: " + llvm::toString(output.takeError()));
  llvm::FileOutputBuffer &buffer = **output;
  // Both kinds of buffer start zeroed: a fresh file mapping, or anonymous
  // memory for special files such as /dev/stdout.
  uint8_t *begin = buffer.getBufferStart();

  Encoder encoder(begin, begin + layout->dataStart);
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

  uint8_t *data = begin + layout->dataStart;
  for (auto [tensor, offset] :
       llvm::zip_equal(tensors, layout->tensorOffsets)) {
    llvm::MutableArrayRef<uint8_t> slot(data + offset, tensor.byteSize);
    if (Error error = tensor.fill(slot))
      // Dropping `output` deletes the temporary file.
      return invalid(llvm::formatv("{0}: tensor '{1}': {2}", path, tensor.name,
                                   llvm::toString(std::move(error))));
  }

  if (Error error = buffer.commit())
    return invalid(path +
                   ": cannot commit: " + llvm::toString(std::move(error)));
  return Error::success();
}
