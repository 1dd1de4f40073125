//===- GGUFWriter.h - Streaming GGUF file writer ----------------*- C++ -*-===//
//
// Writes a GGUF v3 file: metadata first, tensors streamed. A model is
// gigabytes, so the writer never holds tensor data: each tensor is declared
// with its type, dims and byte size plus a callback, and write() calls the
// callbacks one at a time with a buffer for the tensor's bytes, in the order
// the tensors were added, and appends each tensor to a temporary file in the
// destination's folder as soon as its callback returns. Memory stays at the
// largest single tensor: the output is written, not mapped, so finished
// tensors count against the page cache rather than this process. The file is
// renamed over `path` only when every callback succeeded: on any error
// nothing is left behind and an existing file is untouched.
//
// Layout (the one ggml writes and llama.cpp's loader insists on): header,
// KV pairs in insertion order, tensor infos in insertion order, zero padding
// to the alignment, then each tensor's bytes padded with zeros to the
// alignment, offsets relative to the start of the data section.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_TARGET_GGUF_GGUFWRITER_H
#define PHIQ_TARGET_GGUF_GGUFWRITER_H

#include "phiq/Target/GGUF/GGUFTypes.h"
#include "phiq/Target/GGUF/GGUFValue.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"

#include <functional>
#include <string>
#include <vector>

namespace phiq::gguf {

class GGUFWriter {
public:
  /// Fills a tensor's bytes. The span is exactly the tensor's byte size,
  /// holds stale bytes (the callback must write every one of them), and is
  /// valid only during the call. An error aborts write().
  using FillFn = std::function<llvm::Error(llvm::MutableArrayRef<uint8_t>)>;

  /// Adds a KV pair; pairs are written in the order they are added. Fails
  /// on an empty or duplicate key, and when `general.alignment` is not a u32
  /// power of two.
  llvm::Error addKV(llvm::StringRef key, GGUFValue value);

  /// Declares a tensor. `dims` is in ggml order (dims[0] is the row length);
  /// `byteSize` must be what `type` and `dims` imply (it is checked, so a
  /// caller's packing bug surfaces here, not in llama.cpp). Fails on an
  /// empty, over-long (kMaxTensorNameBytes) or duplicate name, 0 or more than
  /// 4 dims, a zero dim, a row that is not whole blocks, a byte size
  /// mismatch, or a null callback.
  llvm::Error addTensor(llvm::StringRef name, GGMLType type,
                        llvm::ArrayRef<uint64_t> dims, uint64_t byteSize,
                        FillFn fill);

  /// Writes the file; see the file comment for the atomicity guarantee.
  /// Errors name `path` and, for a callback's error, the tensor.
  llvm::Error write(llvm::StringRef path);

  /// Tensors added so far.
  size_t getNumTensors() const { return tensors.size(); }

  /// The alignment write() will use (general.alignment or the default).
  uint32_t getAlignment() const { return alignment; }

  /// Exact size of the file write() will produce; fails when the declared
  /// tensors do not fit in 64-bit offsets.
  llvm::Expected<uint64_t> computeFileSize() const;

private:
  struct PendingTensor {
    std::string name;
    GGMLType type;
    llvm::SmallVector<uint64_t, 4> dims;
    uint64_t byteSize;
    FillFn fill;
  };

  /// Where everything goes: the data section's start, each tensor's offset
  /// in it, and the file size.
  struct Layout {
    uint64_t dataStart = 0;
    std::vector<uint64_t> tensorOffsets;
    uint64_t fileSize = 0;
  };
  llvm::Expected<Layout> computeLayout() const;

  std::vector<std::pair<std::string, GGUFValue>> kvs;
  llvm::StringMap<size_t> kvIndex;
  std::vector<PendingTensor> tensors;
  llvm::StringMap<size_t> tensorIndex;
  uint32_t alignment = kDefaultAlignment;
};

} // namespace phiq::gguf

#endif // PHIQ_TARGET_GGUF_GGUFWRITER_H
