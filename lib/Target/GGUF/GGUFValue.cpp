//===- GGUFValue.cpp - Typed GGUF metadata values ---------------*- C++ -*-===//
//
// The value-type facts of GGUF (ids, names, encoded sizes) and the printing
// of values, shared by the reader, the writer and phi-gguf-dump. Printing is
// exact (floats with round-trip precision, strings escaped) so that tests can
// compare a dump with what another reader sees.
//
//===----------------------------------------------------------------------===//
#include "phiq/Target/GGUF/GGUFValue.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/Format.h"

#include <limits>

using namespace phiq::gguf;

/// GGUF type of the scalar alternative at each index modulo 12.
static constexpr GGUFValueType kScalarTypeOfIndex[12] = {
    GGUFValueType::UInt8,   GGUFValueType::Int8,   GGUFValueType::UInt16,
    GGUFValueType::Int16,   GGUFValueType::UInt32, GGUFValueType::Int32,
    GGUFValueType::Float32, GGUFValueType::Bool,   GGUFValueType::String,
    GGUFValueType::UInt64,  GGUFValueType::Int64,  GGUFValueType::Float64,
};

std::optional<GGUFValueType> phiq::gguf::lookupGGUFValueType(uint32_t id) {
  if (id > static_cast<uint32_t>(GGUFValueType::Float64))
    return std::nullopt;
  return static_cast<GGUFValueType>(id);
}

llvm::StringRef phiq::gguf::getGGUFValueTypeName(GGUFValueType type) {
  switch (type) {
  case GGUFValueType::UInt8:
    return "u8";
  case GGUFValueType::Int8:
    return "i8";
  case GGUFValueType::UInt16:
    return "u16";
  case GGUFValueType::Int16:
    return "i16";
  case GGUFValueType::UInt32:
    return "u32";
  case GGUFValueType::Int32:
    return "i32";
  case GGUFValueType::Float32:
    return "f32";
  case GGUFValueType::Bool:
    return "bool";
  case GGUFValueType::String:
    return "str";
  case GGUFValueType::Array:
    return "arr";
  case GGUFValueType::UInt64:
    return "u64";
  case GGUFValueType::Int64:
    return "i64";
  case GGUFValueType::Float64:
    return "f64";
  }
  return "<unknown>";
}

uint64_t phiq::gguf::getGGUFScalarBytes(GGUFValueType type) {
  switch (type) {
  case GGUFValueType::UInt8:
  case GGUFValueType::Int8:
  case GGUFValueType::Bool:
    return 1;
  case GGUFValueType::UInt16:
  case GGUFValueType::Int16:
    return 2;
  case GGUFValueType::UInt32:
  case GGUFValueType::Int32:
  case GGUFValueType::Float32:
    return 4;
  case GGUFValueType::UInt64:
  case GGUFValueType::Int64:
  case GGUFValueType::Float64:
    return 8;
  case GGUFValueType::String:
  case GGUFValueType::Array:
    return 0;
  }
  return 0;
}

uint64_t phiq::gguf::getGGUFMinEncodedBytes(GGUFValueType type) {
  if (type == GGUFValueType::String)
    return 8;
  return getGGUFScalarBytes(type);
}

GGUFValueType GGUFValue::getType() const {
  if (isArray())
    return GGUFValueType::Array;
  return kScalarTypeOfIndex[storage.index()];
}

GGUFValueType GGUFValue::getElementType() const {
  return kScalarTypeOfIndex[storage.index() % kFirstArrayIndex];
}

uint64_t GGUFValue::getArraySize() const {
  return std::visit(
      [](const auto &value) -> uint64_t {
        using T = std::decay_t<decltype(value)>;
        if constexpr (llvm::is_one_of<
                          T, std::vector<uint8_t>, std::vector<int8_t>,
                          std::vector<uint16_t>, std::vector<int16_t>,
                          std::vector<uint32_t>, std::vector<int32_t>,
                          std::vector<float>, std::vector<bool>,
                          std::vector<std::string>, std::vector<uint64_t>,
                          std::vector<int64_t>, std::vector<double>>::value)
          return value.size();
        else
          return 1;
      },
      storage);
}

std::optional<int64_t> GGUFValue::getAsInteger() const {
  return std::visit(
      [](const auto &value) -> std::optional<int64_t> {
        using T = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<T, uint64_t>) {
          if (value >
              static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
            return std::nullopt;
          return static_cast<int64_t>(value);
        } else if constexpr (std::is_integral_v<T> &&
                             !std::is_same_v<T, bool>) {
          return static_cast<int64_t>(value);
        } else {
          return std::nullopt;
        }
      },
      storage);
}

std::string GGUFValue::getTypeStringForIndex(size_t index) {
  std::string element =
      getGGUFValueTypeName(kScalarTypeOfIndex[index % kFirstArrayIndex]).str();
  if (index < kFirstArrayIndex)
    return element;
  return "arr[" + element + "]";
}

std::string GGUFValue::getTypeString() const {
  if (!isArray())
    return getGGUFValueTypeName(getType()).str();
  return (llvm::Twine("arr[") + getGGUFValueTypeName(getElementType()) + "," +
          llvm::Twine(getArraySize()) + "]")
      .str();
}

void phiq::gguf::printEscapedGGUFString(llvm::raw_ostream &os,
                                        llvm::StringRef text) {
  os << '"';
  for (unsigned char c : text) {
    switch (c) {
    case '\\':
      os << "\\\\";
      break;
    case '"':
      os << "\\\"";
      break;
    case '\n':
      os << "\\n";
      break;
    case '\t':
      os << "\\t";
      break;
    case '\r':
      os << "\\r";
      break;
    default:
      if (c < 0x20 || c == 0x7f)
        os << llvm::format("\\x%02x", c);
      else
        os << c;
    }
  }
  os << '"';
}

namespace {
/// Prints one scalar the way GGUFValue::print documents.
struct ScalarPrinter {
  llvm::raw_ostream &os;

  void operator()(uint8_t v) { os << static_cast<unsigned>(v); }
  void operator()(int8_t v) { os << static_cast<int>(v); }
  void operator()(bool v) { os << (v ? "true" : "false"); }
  void operator()(float v) { os << llvm::format("%.9g", v); }
  void operator()(double v) { os << llvm::format("%.17g", v); }
  void operator()(const std::string &v) { printEscapedGGUFString(os, v); }
  template <typename T> void operator()(T v) { os << v; }
};
} // namespace

void GGUFValue::print(llvm::raw_ostream &os, size_t maxItems) const {
  std::visit(
      [&](const auto &value) {
        using T = std::decay_t<decltype(value)>;
        ScalarPrinter printer{os};
        if constexpr (std::is_class_v<T> && !std::is_same_v<T, std::string>) {
          size_t count = value.size();
          size_t shown =
              maxItems == 0 ? count : std::min<size_t>(count, maxItems);
          os << '[';
          for (size_t i = 0; i < shown; ++i) {
            if (i)
              os << ", ";
            if constexpr (std::is_same_v<T, std::vector<bool>>)
              printer(static_cast<bool>(value[i]));
            else
              printer(value[i]);
          }
          if (shown < count)
            os << (shown ? ", ..." : "...");
          os << ']';
        } else {
          printer(value);
        }
      },
      storage);
}

uint64_t GGUFValue::getEncodedBytes() const {
  return std::visit(
      [&](const auto &value) -> uint64_t {
        using T = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return 8 + value.size();
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          uint64_t bytes = 4 + 8;
          for (const std::string &item : value)
            bytes += 8 + item.size();
          return bytes;
        } else if constexpr (std::is_class_v<T>) {
          return 4 + 8 + value.size() * getGGUFScalarBytes(getElementType());
        } else {
          return getGGUFScalarBytes(getType());
        }
      },
      storage);
}
