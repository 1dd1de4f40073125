//===- GGUFReader.h - Mapped, validated GGUF files --------------*- C++ -*-===//
//
// Opens a GGUF file (v2 or v3, little-endian) by mapping it and parsing
// only its metadata: the KV pairs (copied, they are small) and the tensor
// infos. Tensor data is never read; each tensor's data() is a view into the
// mapping, aligned as the file's alignment promises (up to 4096 bytes, the
// page), so importing a multi-gigabyte model costs the metadata and nothing
// else.
//
// GGUF files come from the internet, so parsing trusts nothing: every
// length and count is checked against the bytes left before anything is
// allocated, and every tensor's byte range against the file and the other
// tensors. Each error names the file, the byte offset, the key or tensor,
// and what was expected. The reader accepts what ggml's loader accepts, with
// three deliberate differences: tensors need at least one dimension and no
// zero dimension, and (like gguf-py) tensors may come in any order with gaps
// between them as long as none overlap.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_TARGET_GGUF_GGUFREADER_H
#define PHIQ_TARGET_GGUF_GGUFREADER_H

#include "phiq/Target/GGUF/GGUFTypes.h"
#include "phiq/Target/GGUF/GGUFValue.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <memory>
#include <string>
#include <vector>

namespace phiq::gguf {

/// One KV pair of an opened file.
struct GGUFKeyValue {
  std::string key;
  GGUFValue value;
  /// Where the pair starts in the file.
  uint64_t fileOffset;
};

/// One tensor of an opened file; its data points into the file's mapping.
class GGUFTensor {
public:
  GGUFTensor(std::string name, GGMLType type,
             llvm::SmallVector<uint64_t, 4> dims, uint64_t offset,
             llvm::ArrayRef<uint8_t> bytes)
      : name(std::move(name)), type(type), dims(std::move(dims)),
        offset(offset), bytes(bytes) {}

  llvm::StringRef getName() const { return name; }
  GGMLType getType() const { return type; }
  /// ggml order: dims[0] is the row length.
  llvm::ArrayRef<uint64_t> getDims() const { return dims; }
  uint64_t getNumElements() const;
  /// Offset of the data relative to the data section (as stored).
  uint64_t getOffset() const { return offset; }
  uint64_t getByteSize() const { return bytes.size(); }
  /// The tensor's bytes inside the mapping; valid while the GGUFFile lives.
  llvm::ArrayRef<uint8_t> data() const { return bytes; }

private:
  std::string name;
  GGMLType type;
  llvm::SmallVector<uint64_t, 4> dims;
  uint64_t offset;
  llvm::ArrayRef<uint8_t> bytes;
};

class GGUFFile {
public:
  /// Maps `path` (never copying it) and validates its metadata.
  static llvm::Expected<std::unique_ptr<GGUFFile>> open(llvm::StringRef path);

  /// Validates the bytes of `buffer`; `path` names it in errors.
  static llvm::Expected<std::unique_ptr<GGUFFile>>
  parse(std::unique_ptr<llvm::MemoryBuffer> buffer, llvm::StringRef path);

  llvm::StringRef getPath() const { return path; }
  uint32_t getVersion() const { return version; }
  uint32_t getAlignment() const { return alignment; }
  /// File offset of the data section.
  uint64_t getDataOffset() const { return dataOffset; }
  const llvm::MemoryBuffer &getBuffer() const { return *buffer; }

  /// KV pairs in file order.
  llvm::ArrayRef<GGUFKeyValue> getKeyValues() const { return keyValues; }
  /// The value of `key`, or null.
  const GGUFValue *lookup(llvm::StringRef key) const;

  /// The value of `key` as a T (an alternative of GGUFValue::Storage, e.g.
  /// uint32_t, std::string, std::vector<float>); an error naming the file
  /// and key when it is missing or has another type.
  template <typename T>
  llvm::Expected<const T &> get(llvm::StringRef key) const {
    const GGUFValue *value = lookup(key);
    if (!value)
      return missingKeyError(key);
    if (const T *held = value->getIf<T>())
      return *held;
    return typeMismatchError(key, *value, GGUFValue::getTypeStringFor<T>());
  }

  /// Like get(), but a missing key is nullopt (a wrong type still fails).
  template <typename T>
  llvm::Expected<std::optional<T>> getOptional(llvm::StringRef key) const {
    const GGUFValue *value = lookup(key);
    if (!value)
      return std::optional<T>();
    if (const T *held = value->getIf<T>())
      return std::optional<T>(*held);
    return typeMismatchError(key, *value, GGUFValue::getTypeStringFor<T>());
  }

  /// Any integer scalar of `key` that fits int64 (files disagree on u32
  /// versus u64 for counts).
  llvm::Expected<int64_t> getInteger(llvm::StringRef key) const;

  /// Tensors in file order (the order of the tensor infos).
  llvm::ArrayRef<GGUFTensor> getTensors() const { return tensors; }
  /// The tensor called `name`, or null.
  const GGUFTensor *lookupTensor(llvm::StringRef name) const;

private:
  GGUFFile() = default;
  llvm::Error missingKeyError(llvm::StringRef key) const;
  llvm::Error typeMismatchError(llvm::StringRef key, const GGUFValue &value,
                                llvm::StringRef expected) const;

  friend class GGUFParser;

  std::unique_ptr<llvm::MemoryBuffer> buffer;
  std::string path;
  uint32_t version = 0;
  uint32_t alignment = kDefaultAlignment;
  uint64_t dataOffset = 0;
  std::vector<GGUFKeyValue> keyValues;
  llvm::StringMap<size_t> keyIndex;
  std::vector<GGUFTensor> tensors;
  llvm::StringMap<size_t> tensorIndex;
};

} // namespace phiq::gguf

#endif // PHIQ_TARGET_GGUF_GGUFREADER_H
