//===- Safetensors.h - Reading and writing safetensors files ----*- C++ -*-===//
//
// The single-file layer under ParamStore: validating the header of one
// mapped `.safetensors` file and describing its tensors, and the inverse,
// building a header for tensors about to be written. Kept separate from the
// store so tools (the checkpoint generator, emitters) can write files the
// reader is guaranteed to accept.
//
// File layout: an 8-byte little-endian header length N, N bytes of UTF-8
// JSON (an object; may be padded with trailing spaces), then the data
// buffer. Each tensor entry is {"dtype", "shape", "data_offsets": [begin,
// end]} with offsets relative to the start of the data buffer; the optional
// "__metadata__" entry maps strings to strings.
//
// Strictness: like the reference implementation, the reader requires the
// tensors to cover the data buffer exactly -- sorted by offset, each begins
// where the previous ended, the first at 0 and the last ends at the end of
// the file. Gaps, overlaps and trailing bytes are errors. This rules out
// files that smuggle unindexed bytes and, since the JSON parser keeps only
// the last of duplicate keys, also catches a duplicated tensor entry unless
// both copies are identical (then nothing is lost).
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_PARAMS_SAFETENSORS_H
#define PHIQ_PARAMS_SAFETENSORS_H

#include "phiq/Params/ParamStore.h"

#include "llvm/Support/MemoryBuffer.h"

namespace phiq::params {

/// Largest header length accepted (the reference implementation's limit).
constexpr uint64_t kMaxSafetensorsHeaderBytes = 100'000'000;

/// One validated safetensors file. The tensors point into `buffer`.
struct SafetensorsFile {
  std::unique_ptr<llvm::MemoryBuffer> buffer;
  ParamFile info;
  /// Tensors ordered by their offset in the file.
  std::vector<TensorRef> tensors;
};

/// Validates the header of `buffer`, the contents of the file `path`, and
/// describes its tensors. Reads only the header bytes.
llvm::Expected<SafetensorsFile>
parseSafetensors(std::unique_ptr<llvm::MemoryBuffer> buffer,
                 llvm::StringRef path);

/// Maps the file at `path` (mmap for all but tiny files, never a copy of the
/// data) and parses it with parseSafetensors.
llvm::Expected<SafetensorsFile> mapSafetensorsFile(llvm::StringRef path);

/// Name, dtype and shape of a tensor to be written.
struct TensorLayout {
  std::string name;
  DType dtype;
  llvm::SmallVector<int64_t, 4> shape;

  /// numElements * dtypeSize.
  uint64_t byteSize() const;
};

/// The bytes that precede the data of a safetensors file holding `tensors`
/// stored back to back in the given order: the 8-byte length and the JSON
/// header, padded with spaces so the data starts 8-byte aligned. The data
/// that follows must be exactly `dataBytes` long.
std::string buildSafetensorsHeader(
    llvm::ArrayRef<TensorLayout> tensors,
    llvm::ArrayRef<std::pair<std::string, std::string>> metadata,
    uint64_t &dataBytes);

} // namespace phiq::params

#endif // PHIQ_PARAMS_SAFETENSORS_H
