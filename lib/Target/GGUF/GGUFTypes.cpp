//===- GGUFTypes.cpp - The ggml tensor type table ---------------*- C++ -*-===//
//
// The block geometry of every ggml tensor type, as gguf-py's
// GGML_QUANT_SIZES and ggml's type traits define it, and the tensor byte-size
// rule built on it. The reader uses it to bound tensor data before pointing
// into a mapping, the writer to check the sizes its callers promise.
//
//===----------------------------------------------------------------------===//
#include "phiq/Target/GGUF/GGUFTypes.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/CheckedArithmetic.h"
#include "llvm/Support/FormatVariadic.h"

using namespace phiq::gguf;

/// Super-block size of the K-quants and the i-quants.
static constexpr uint32_t QK_K = 256;

static constexpr GGMLTypeInfo kTypes[] = {
    {GGMLType::F32, "F32", 1, 4},
    {GGMLType::F16, "F16", 1, 2},
    {GGMLType::Q4_0, "Q4_0", 32, 2 + 16},
    {GGMLType::Q4_1, "Q4_1", 32, 2 + 2 + 16},
    {GGMLType::Q5_0, "Q5_0", 32, 2 + 4 + 16},
    {GGMLType::Q5_1, "Q5_1", 32, 2 + 2 + 4 + 16},
    {GGMLType::Q8_0, "Q8_0", 32, 2 + 32},
    {GGMLType::Q8_1, "Q8_1", 32, 4 + 4 + 32},
    {GGMLType::Q2_K, "Q2_K", QK_K, 2 + 2 + QK_K / 16 + QK_K / 4},
    {GGMLType::Q3_K, "Q3_K", QK_K, 2 + QK_K / 4 + QK_K / 8 + 12},
    {GGMLType::Q4_K, "Q4_K", QK_K, 2 + 2 + QK_K / 2 + 12},
    {GGMLType::Q5_K, "Q5_K", QK_K, 2 + 2 + QK_K / 2 + QK_K / 8 + 12},
    {GGMLType::Q6_K, "Q6_K", QK_K, 2 + QK_K / 2 + QK_K / 4 + QK_K / 16},
    {GGMLType::Q8_K, "Q8_K", QK_K, 4 + QK_K + QK_K / 8},
    {GGMLType::IQ2_XXS, "IQ2_XXS", QK_K, 2 + QK_K / 4},
    {GGMLType::IQ2_XS, "IQ2_XS", QK_K, 2 + QK_K / 4 + QK_K / 32},
    {GGMLType::IQ3_XXS, "IQ3_XXS", QK_K, 2 + QK_K / 4 + QK_K / 8},
    {GGMLType::IQ1_S, "IQ1_S", QK_K, 2 + QK_K / 8 + QK_K / 16},
    {GGMLType::IQ4_NL, "IQ4_NL", 32, 2 + 16},
    {GGMLType::IQ3_S, "IQ3_S", QK_K, 2 + QK_K / 4 + QK_K / 8 + QK_K / 32 + 4},
    {GGMLType::IQ2_S, "IQ2_S", QK_K, 2 + QK_K / 4 + QK_K / 16},
    {GGMLType::IQ4_XS, "IQ4_XS", QK_K, 2 + 2 + QK_K / 2 + QK_K / 64},
    {GGMLType::I8, "I8", 1, 1},
    {GGMLType::I16, "I16", 1, 2},
    {GGMLType::I32, "I32", 1, 4},
    {GGMLType::I64, "I64", 1, 8},
    {GGMLType::F64, "F64", 1, 8},
    {GGMLType::IQ1_M, "IQ1_M", QK_K, QK_K / 8 + QK_K / 16 + QK_K / 32},
    {GGMLType::BF16, "BF16", 1, 2},
    {GGMLType::TQ1_0, "TQ1_0", QK_K, 2 + 4 * 13},
    {GGMLType::TQ2_0, "TQ2_0", QK_K, 2 + 64},
    {GGMLType::MXFP4, "MXFP4", 32, 1 + 16},
    {GGMLType::NVFP4, "NVFP4", 64, 4 + 32},
    {GGMLType::Q1_0, "Q1_0", 128, 2 + 16},
};

llvm::ArrayRef<GGMLTypeInfo> phiq::gguf::getGGMLTypes() { return kTypes; }

const GGMLTypeInfo *phiq::gguf::lookupGGMLType(uint32_t id) {
  for (const GGMLTypeInfo &info : kTypes)
    if (static_cast<uint32_t>(info.type) == id)
      return &info;
  return nullptr;
}

std::optional<GGMLType> phiq::gguf::lookupGGMLTypeByName(llvm::StringRef name) {
  for (const GGMLTypeInfo &info : kTypes)
    if (info.name.equals_insensitive(name))
      return info.type;
  return std::nullopt;
}

llvm::StringRef phiq::gguf::getGGMLTypeName(GGMLType type) {
  if (const GGMLTypeInfo *info = lookupGGMLType(type))
    return info->name;
  return "<unknown>";
}

static llvm::Error sizeError(const llvm::Twine &message) {
  return llvm::createStringError(
      std::make_error_code(std::errc::invalid_argument), message);
}

static std::string dimsString(llvm::ArrayRef<uint64_t> dims) {
  std::string text = "[";
  llvm::raw_string_ostream os(text);
  llvm::interleave(dims, os, ", ");
  os << "]";
  return text;
}

llvm::Expected<uint64_t>
phiq::gguf::computeTensorByteSize(GGMLType type,
                                  llvm::ArrayRef<uint64_t> dims) {
  const GGMLTypeInfo *info = lookupGGMLType(type);
  if (!info)
    return sizeError(
        llvm::formatv("unknown ggml type {0}", static_cast<uint32_t>(type)));
  if (dims.empty() || dims.size() > kMaxDims)
    return sizeError(llvm::formatv("{0} dimensions, expected 1 to {1}",
                                   dims.size(), kMaxDims));
  // Every prefix product must stay below 2^63, as ggml requires of ne.
  int64_t elements = 1;
  for (auto [index, dim] : llvm::enumerate(dims)) {
    if (dim == 0)
      return sizeError(
          llvm::formatv("dimension {0} of {1} is 0, expected at least 1", index,
                        dimsString(dims)));
    std::optional<int64_t> product;
    if (dim <= static_cast<uint64_t>(INT64_MAX))
      product = llvm::checkedMul(elements, static_cast<int64_t>(dim));
    if (!product)
      return sizeError(llvm::formatv("element count of {0} overflows int64",
                                     dimsString(dims)));
    elements = *product;
  }
  if (dims[0] % info->blockElements != 0)
    return sizeError(llvm::formatv(
        "row length {0} is not a multiple of {1}'s block size {2}", dims[0],
        info->name, info->blockElements));
  std::optional<uint64_t> bytes = llvm::checkedMulUnsigned<uint64_t>(
      static_cast<uint64_t>(elements) / info->blockElements, info->blockBytes);
  if (!bytes)
    return sizeError(llvm::formatv("byte size of {0} {1} overflows uint64",
                                   info->name, dimsString(dims)));
  return *bytes;
}

std::optional<uint64_t> phiq::gguf::alignUp(uint64_t value,
                                            uint64_t alignment) {
  uint64_t mask = alignment - 1;
  std::optional<uint64_t> sum = llvm::checkedAddUnsigned(value, mask);
  if (!sum)
    return std::nullopt;
  return *sum & ~mask;
}
