//===- GGUFTypes.h - ggml tensor types and GGUF constants -------*- C++ -*-===//
//
// The fixed facts of the GGUF container (version 3, little-endian) that the
// reader and the writer share: the magic, the versions, the alignment rule,
// the limits llama.cpp enforces, and the table of ggml tensor types with
// their block geometry. A tensor's byte size follows from its type and its
// dimensions alone, so both sides compute it here, once.
//
// Facts come from ggml's gguf.cpp and gguf-py's constants.py. Dimensions are
// in ggml order: dims[0] (ne[0]) is the innermost, contiguous axis (the row
// length), so a PyTorch weight of shape [out, in] is [in, out] here. A
// quantized row must hold a whole number of blocks.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_TARGET_GGUF_GGUFTYPES_H
#define PHIQ_TARGET_GGUF_GGUFTYPES_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>

namespace phiq::gguf {

/// "GGUF" read as a little-endian u32.
constexpr uint32_t kGGUFMagic = 0x46554747;
/// The version the writer produces.
constexpr uint32_t kGGUFVersion = 3;
/// The oldest version the reader accepts; v2 has v3's little-endian layout
/// (v3 only added big-endian files, which are not supported).
constexpr uint32_t kGGUFMinReadVersion = 2;
/// Alignment of the data section and of every tensor without
/// `general.alignment`.
constexpr uint32_t kDefaultAlignment = 32;
/// The key that overrides the alignment; its value must be a u32 power of 2.
constexpr llvm::StringLiteral kAlignmentKey = "general.alignment";
/// ggml tensors have at most four dimensions.
constexpr unsigned kMaxDims = 4;
/// Longest tensor name llama.cpp loads. The GGUF spec says "at most 64
/// bytes", but ggml stores names NUL-terminated in char[64] and its reader
/// rejects names of 64 bytes or more.
constexpr uint64_t kMaxTensorNameBytes = 63;
/// ggml's caps on one string and on one array's element count.
constexpr uint64_t kMaxStringBytes = uint64_t(1) << 30;
constexpr uint64_t kMaxArrayElements = uint64_t(1) << 30;
/// Bytes of the fixed header: magic, version, tensor_count, kv_count.
constexpr uint64_t kHeaderBytes = 4 + 4 + 8 + 8;

/// ggml tensor type ids (`enum ggml_type`). Ids missing here were removed
/// from ggml and are rejected.
enum class GGMLType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ2_XXS = 16,
  IQ2_XS = 17,
  IQ3_XXS = 18,
  IQ1_S = 19,
  IQ4_NL = 20,
  IQ3_S = 21,
  IQ2_S = 22,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  IQ1_M = 29,
  BF16 = 30,
  TQ1_0 = 34,
  TQ2_0 = 35,
  MXFP4 = 39,
  NVFP4 = 40,
  Q1_0 = 41,
};

/// One row of the type table: `blockBytes` bytes encode `blockElements`
/// consecutive elements of a row.
struct GGMLTypeInfo {
  GGMLType type;
  /// gguf-py's spelling: "F32", "Q8_0", "Q4_K", "IQ4_NL".
  llvm::StringLiteral name;
  uint32_t blockElements;
  uint32_t blockBytes;
};

/// Every known type, ordered by id.
llvm::ArrayRef<GGMLTypeInfo> getGGMLTypes();

/// The table row of `id`, or null when ggml has no such type.
const GGMLTypeInfo *lookupGGMLType(uint32_t id);
inline const GGMLTypeInfo *lookupGGMLType(GGMLType type) {
  return lookupGGMLType(static_cast<uint32_t>(type));
}

/// The type named `name` (case-insensitive: "q8_0" and "Q8_0" both work).
std::optional<GGMLType> lookupGGMLTypeByName(llvm::StringRef name);

/// The type's name, or "<unknown>" for an id outside the table.
llvm::StringRef getGGMLTypeName(GGMLType type);

/// Bytes of a tensor of `type` with `dims` (ggml order). Fails, with a
/// message that names no file or tensor (callers add those), when the type is
/// unknown, dims is empty or has more than kMaxDims entries, a dim is 0, the
/// element count overflows int64, the row length is not a multiple of the
/// block size, or the byte count overflows uint64.
llvm::Expected<uint64_t> computeTensorByteSize(GGMLType type,
                                               llvm::ArrayRef<uint64_t> dims);

/// `value` rounded up to a multiple of `alignment` (a power of two); nullopt
/// on overflow.
std::optional<uint64_t> alignUp(uint64_t value, uint64_t alignment);

} // namespace phiq::gguf

#endif // PHIQ_TARGET_GGUF_GGUFTYPES_H
