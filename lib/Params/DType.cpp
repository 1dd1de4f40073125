//===- DType.cpp - Safetensors element types --------------------*- C++ -*-===//
//
// The table of element types a parameter file may hold: the spelling
// safetensors uses in its JSON header and the byte size of one element.
// Everything that parses or writes headers goes through these functions so
// the spellings live in one place.
//
//===----------------------------------------------------------------------===//
#include "phiq/Params/ParamStore.h"

#include "llvm/Support/ErrorHandling.h"

using namespace phiq::params;

namespace {
struct DTypeInfo {
  DType dtype;
  const char *name;
  unsigned size;
};
} // namespace

static constexpr DTypeInfo kDTypes[] = {
    {DType::F64, "F64", 8},         {DType::F32, "F32", 4},
    {DType::F16, "F16", 2},         {DType::BF16, "BF16", 2},
    {DType::F8_E4M3, "F8_E4M3", 1}, {DType::F8_E5M2, "F8_E5M2", 1},
    {DType::I64, "I64", 8},         {DType::I32, "I32", 4},
    {DType::I16, "I16", 2},         {DType::I8, "I8", 1},
    {DType::U64, "U64", 8},         {DType::U32, "U32", 4},
    {DType::U16, "U16", 2},         {DType::U8, "U8", 1},
    {DType::Bool, "BOOL", 1},
};

static const DTypeInfo &info(DType dtype) {
  for (const DTypeInfo &entry : kDTypes)
    if (entry.dtype == dtype)
      return entry;
  llvm_unreachable("DType missing from the dtype table");
}

llvm::StringRef phiq::params::dtypeName(DType dtype) {
  return info(dtype).name;
}

std::optional<DType> phiq::params::parseDType(llvm::StringRef name) {
  for (const DTypeInfo &entry : kDTypes)
    if (name == entry.name)
      return entry.dtype;
  return std::nullopt;
}

unsigned phiq::params::dtypeSize(DType dtype) { return info(dtype).size; }

int64_t TensorRef::numElements() const {
  int64_t count = 1;
  for (int64_t dim : shape)
    count *= dim;
  return count;
}
