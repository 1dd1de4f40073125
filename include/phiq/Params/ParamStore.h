//===- ParamStore.h - Named tensors in mapped parameter files ---*- C++ -*-===//
//
// A parameter store maps the files of a checkpoint and answers "where are the
// bytes of tensor NAME, what dtype and shape are they". The bytes stay in the
// mapped file until someone reads them: opening a store reads only headers.
//
// Alignment: safetensors puts tensors back to back at whatever byte offset
// the previous one ended, so `TensorRef::data` has NO alignment guarantee
// (not even the element size). Read it with memcpy or unaligned vector loads,
// never by casting to `const float *` and dereferencing.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_PARAMS_PARAMSTORE_H
#define PHIQ_PARAMS_PARAMSTORE_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace phiq::params {

/// Element types a parameter file may hold. Names follow safetensors.
enum class DType {
  F64, F32, F16, BF16, F8_E4M3, F8_E5M2,
  I64, I32, I16, I8, U64, U32, U16, U8, Bool,
};

/// "F32", "BF16", ... as safetensors spells them.
llvm::StringRef dtypeName(DType dtype);
/// Parses a safetensors dtype string; std::nullopt if unknown.
std::optional<DType> parseDType(llvm::StringRef name);
/// Bytes per element.
unsigned dtypeSize(DType dtype);

/// One tensor of a store. `data` points into the mapped file and is valid
/// as long as the store lives; it is NOT aligned (see the file comment).
/// Scalars have an empty shape and one element.
struct TensorRef {
  std::string name;
  DType dtype;
  llvm::SmallVector<int64_t, 4> shape;
  llvm::ArrayRef<uint8_t> data;
  /// The file it lives in and the byte offset of its first byte there (for
  /// diagnostics and for emitters that copy byte ranges).
  std::string file;
  uint64_t fileOffset = 0;
  /// `data` lies in a read-only file mapping (not a heap copy), so
  /// releasePages may drop its pages.
  bool mapped = false;

  int64_t numElements() const;
};

/// One mapped file of a store.
struct ParamFile {
  std::string path;
  /// The whole file as mapped; every TensorRef::data of the file lies inside.
  llvm::ArrayRef<uint8_t> bytes;
  /// Byte offset in the file where tensor data starts (8 + header length).
  uint64_t dataOffset = 0;
  /// The file's "__metadata__" (string to string), sorted by key.
  std::vector<std::pair<std::string, std::string>> metadata;
};

/// A read-only set of named tensors backed by mapped files.
class ParamStore {
public:
  virtual ~ParamStore();
  /// The tensor called `name`, or nullptr.
  virtual const TensorRef *lookup(llvm::StringRef name) const = 0;
  /// All tensor names, in a stable (sorted) order.
  virtual std::vector<llvm::StringRef> names() const = 0;
  /// What the store was opened from (a file or a folder).
  virtual llvm::StringRef path() const = 0;
  /// The mapped files, in a stable order (empty for stores not backed by
  /// files).
  virtual llvm::ArrayRef<ParamFile> files() const;
};

/// Opens safetensors weights: `path` is a `.safetensors` file, a
/// `model.safetensors.index.json` (sharded), or a folder holding either
/// (the index wins). Errors name the file, the byte offset or tensor, and
/// what was expected.
llvm::Expected<std::unique_ptr<ParamStore>>
openSafetensors(llvm::StringRef path);

/// Converts `count` elements of `dtype` at `src` to float. Used by every
/// consumer that wants fp32. `src` needs no alignment. F32, F16, BF16, F8_*
/// and integers up to 16 bits convert exactly; F64 and wider integers round
/// to nearest. Bool gives 0 or 1. F16 NaNs come out as quiet NaNs with the
/// payload kept; BF16 widening is bit-exact (a signaling NaN stays one).
/// See phiq/Params/Convert.h for the single-value helpers.
void convertToF32(DType dtype, const uint8_t *src, float *dst, int64_t count);

/// Tells the kernel that the mapped bytes of a tensor will not be read again
/// soon, so their pages leave this process's resident set (they stay in the
/// page cache and are read back transparently if needed). For streaming
/// consumers that touch each tensor once; a no-op where unsupported.
/// Only tensors with `mapped` set are touched.
void releasePages(const TensorRef &tensor);

} // namespace phiq::params

#endif // PHIQ_PARAMS_PARAMSTORE_H
