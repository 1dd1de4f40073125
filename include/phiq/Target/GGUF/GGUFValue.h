//===- GGUFValue.h - One typed GGUF metadata value --------------*- C++ -*-===//
//
// A GGUF key-value pair carries a typed value: one of ten numeric scalars, a
// bool, a string, or an array of any of those. GGUFValue holds exactly one
// of them, with the C++ type deciding the GGUF type, so `GGUFValue(3)` does
// not compile (which width?) and the writer never has to guess: write
// `GGUFValue(uint32_t(3))`. Arrays are typed vectors, so a tokenizer's
// 100k scores are one std::vector<float>, not 100k values.
//
// Arrays of arrays are legal in the GGUF spec but ggml rejects them when
// loading, so they are not representable here.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_TARGET_GGUF_GGUFVALUE_H
#define PHIQ_TARGET_GGUF_GGUFVALUE_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

namespace phiq::gguf {

/// Value type ids of the GGUF format (`enum gguf_type`).
enum class GGUFValueType : uint32_t {
  UInt8 = 0,
  Int8 = 1,
  UInt16 = 2,
  Int16 = 3,
  UInt32 = 4,
  Int32 = 5,
  Float32 = 6,
  Bool = 7,
  String = 8,
  Array = 9,
  UInt64 = 10,
  Int64 = 11,
  Float64 = 12,
};

/// The type with id `id`, or nullopt for an id the format does not define.
std::optional<GGUFValueType> lookupGGUFValueType(uint32_t id);

/// ggml's short names: "u8", "i32", "f32", "bool", "str", "arr".
llvm::StringRef getGGUFValueTypeName(GGUFValueType type);

/// Encoded bytes of one scalar of `type`; 0 for String and Array, whose size
/// depends on the value.
uint64_t getGGUFScalarBytes(GGUFValueType type);

/// Fewest bytes one element of `type` takes in the file (a string's u64
/// length; 0 for Array). Bounds array counts before anything is allocated.
uint64_t getGGUFMinEncodedBytes(GGUFValueType type);

namespace detail {
/// Position of T among the alternatives of a std::variant, or their count.
template <typename T, typename... Ts>
constexpr size_t indexOfAlternative(const std::variant<Ts...> *) {
  constexpr bool matches[] = {std::is_same_v<T, Ts>...};
  for (size_t i = 0; i < sizeof...(Ts); ++i)
    if (matches[i])
      return i;
  return sizeof...(Ts);
}
} // namespace detail

class GGUFValue {
public:
  /// The alternatives; the first twelve are the scalars and the string in
  /// the order of their ids (Array excluded), then the arrays in the same
  /// order. Bool arrays are std::vector<bool> so that they differ from u8
  /// arrays by type.
  using Storage = std::variant<
      uint8_t, int8_t, uint16_t, int16_t, uint32_t, int32_t, float, bool,
      std::string, uint64_t, int64_t, double, std::vector<uint8_t>,
      std::vector<int8_t>, std::vector<uint16_t>, std::vector<int16_t>,
      std::vector<uint32_t>, std::vector<int32_t>, std::vector<float>,
      std::vector<bool>, std::vector<std::string>, std::vector<uint64_t>,
      std::vector<int64_t>, std::vector<double>>;

  /// Whether T is one of the alternatives.
  template <typename T>
  static constexpr bool
      isAlternative = detail::indexOfAlternative<T>(static_cast<Storage *>(
                          nullptr)) < std::variant_size_v<Storage>;

  /// From any alternative, e.g. `GGUFValue(uint32_t(4096))`,
  /// `GGUFValue(std::vector<float>{...})`.
  template <typename T,
            std::enable_if_t<isAlternative<std::decay_t<T>>, int> = 0>
  GGUFValue(T &&value) : storage(std::forward<T>(value)) {}
  /// Strings (so a literal does not decay to a pointer and become a bool).
  GGUFValue(const char *value) : storage(std::string(value)) {}
  GGUFValue(llvm::StringRef value) : storage(value.str()) {}

  /// Array for arrays, else the scalar's (or string's) type.
  GGUFValueType getType() const;
  bool isArray() const { return storage.index() >= kFirstArrayIndex; }
  /// For arrays the element type; for the others getType().
  GGUFValueType getElementType() const;
  /// Element count of an array; 1 for the others.
  uint64_t getArraySize() const;

  template <typename T> bool is() const {
    return std::holds_alternative<T>(storage);
  }
  /// The held T, or null when the value holds another alternative.
  template <typename T> const T *getIf() const {
    return std::get_if<T>(&storage);
  }
  const Storage &getStorage() const { return storage; }

  /// Any integer scalar whose value fits int64 (so "u32 or u64" keys read
  /// the same); nullopt for the others.
  std::optional<int64_t> getAsInteger() const;

  /// "u32", "str", "arr[f32,3]".
  std::string getTypeString() const;
  /// The name getTypeString() gives a value holding T, without the count:
  /// "u32", "arr[f32]".
  template <typename T> static std::string getTypeStringFor() {
    static_assert(isAlternative<T>, "not a GGUF value type");
    return getTypeStringForIndex(
        detail::indexOfAlternative<T>(static_cast<Storage *>(nullptr)));
  }

  /// Prints the value: integers in decimal, floats with enough digits to
  /// read back exactly, bools as true/false, strings double-quoted with
  /// `\\`, `\"`, `\n`, `\t`, `\r` and `\xNN` (other control bytes) escapes,
  /// arrays as `[a, b, ...]` with at most `maxItems` items (0: all) and a
  /// trailing `...` when cut.
  void print(llvm::raw_ostream &os, size_t maxItems = 0) const;

  /// Encoded size of the value in the file (without its type id).
  uint64_t getEncodedBytes() const;

  friend bool operator==(const GGUFValue &lhs, const GGUFValue &rhs) {
    return lhs.storage == rhs.storage;
  }
  friend bool operator!=(const GGUFValue &lhs, const GGUFValue &rhs) {
    return !(lhs == rhs);
  }

private:
  static constexpr size_t kFirstArrayIndex = 12;
  static std::string getTypeStringForIndex(size_t index);

  Storage storage;
};

/// Writes `text` quoted and escaped as GGUFValue::print does.
void printEscapedGGUFString(llvm::raw_ostream &os, llvm::StringRef text);

} // namespace phiq::gguf

#endif // PHIQ_TARGET_GGUF_GGUFVALUE_H
