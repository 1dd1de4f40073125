//===- GGUFValueTest.cpp - Typed GGUF values --------------------*- C++ -*-===//
//
// The C++ type of a value decides its GGUF type; these tests pin that
// mapping, the integer widening importers rely on, the encoded sizes the
// writer's layout depends on, and the exact printing phi-gguf-dump and the
// gguf-py lit test parse.
//
//===----------------------------------------------------------------------===//
#include "phiq/Target/GGUF/GGUFValue.h"

#include "gtest/gtest.h"

#include <cmath>
#include <limits>

using namespace phiq::gguf;

namespace {

std::string printed(const GGUFValue &value, size_t maxItems = 0) {
  std::string text;
  llvm::raw_string_ostream os(text);
  value.print(os, maxItems);
  return text;
}

TEST(GGUFValue, cpp_type_decides_gguf_type) {
  EXPECT_EQ(GGUFValue(uint8_t(1)).getType(), GGUFValueType::UInt8);
  EXPECT_EQ(GGUFValue(int8_t(1)).getType(), GGUFValueType::Int8);
  EXPECT_EQ(GGUFValue(uint16_t(1)).getType(), GGUFValueType::UInt16);
  EXPECT_EQ(GGUFValue(int16_t(1)).getType(), GGUFValueType::Int16);
  EXPECT_EQ(GGUFValue(uint32_t(1)).getType(), GGUFValueType::UInt32);
  EXPECT_EQ(GGUFValue(int32_t(1)).getType(), GGUFValueType::Int32);
  EXPECT_EQ(GGUFValue(1.0f).getType(), GGUFValueType::Float32);
  EXPECT_EQ(GGUFValue(true).getType(), GGUFValueType::Bool);
  EXPECT_EQ(GGUFValue(uint64_t(1)).getType(), GGUFValueType::UInt64);
  EXPECT_EQ(GGUFValue(int64_t(1)).getType(), GGUFValueType::Int64);
  EXPECT_EQ(GGUFValue(1.0).getType(), GGUFValueType::Float64);
  // A literal is a string, not a pointer converted to bool.
  EXPECT_EQ(GGUFValue("phi3").getType(), GGUFValueType::String);
  EXPECT_EQ(GGUFValue(llvm::StringRef("x")).getType(), GGUFValueType::String);
  EXPECT_FALSE(GGUFValue("phi3").isArray());
}

TEST(GGUFValue, arrays_report_element_type_and_size) {
  GGUFValue tokens(std::vector<std::string>{"<s>", "</s>"});
  EXPECT_EQ(tokens.getType(), GGUFValueType::Array);
  EXPECT_TRUE(tokens.isArray());
  EXPECT_EQ(tokens.getElementType(), GGUFValueType::String);
  EXPECT_EQ(tokens.getArraySize(), 2u);
  GGUFValue flags(std::vector<bool>{true, false, true});
  EXPECT_EQ(flags.getElementType(), GGUFValueType::Bool);
  EXPECT_EQ(flags.getArraySize(), 3u);
  GGUFValue bytes(std::vector<uint8_t>{});
  EXPECT_EQ(bytes.getElementType(), GGUFValueType::UInt8);
  EXPECT_EQ(bytes.getArraySize(), 0u);
  EXPECT_EQ(GGUFValue(1.0).getArraySize(), 1u);
}

TEST(GGUFValue, type_strings) {
  EXPECT_EQ(GGUFValue(uint32_t(1)).getTypeString(), "u32");
  EXPECT_EQ(GGUFValue(std::vector<float>{1, 2, 3}).getTypeString(),
            "arr[f32,3]");
  EXPECT_EQ(GGUFValue::getTypeStringFor<std::string>(), "str");
  EXPECT_EQ(GGUFValue::getTypeStringFor<std::vector<int32_t>>(), "arr[i32]");
}

TEST(GGUFValue, integers_widen_to_int64_when_they_fit) {
  EXPECT_EQ(GGUFValue(uint32_t(4096)).getAsInteger(), 4096);
  EXPECT_EQ(GGUFValue(int8_t(-3)).getAsInteger(), -3);
  EXPECT_EQ(GGUFValue(uint64_t(1) << 40).getAsInteger(), int64_t(1) << 40);
  EXPECT_EQ(GGUFValue(std::numeric_limits<uint64_t>::max()).getAsInteger(),
            std::nullopt);
  EXPECT_EQ(GGUFValue(true).getAsInteger(), std::nullopt);
  EXPECT_EQ(GGUFValue(1.0f).getAsInteger(), std::nullopt);
  EXPECT_EQ(GGUFValue(std::vector<uint32_t>{1}).getAsInteger(), std::nullopt);
}

TEST(GGUFValue, encoded_sizes_follow_the_format) {
  EXPECT_EQ(GGUFValue(uint8_t(1)).getEncodedBytes(), 1u);
  EXPECT_EQ(GGUFValue(true).getEncodedBytes(), 1u);
  EXPECT_EQ(GGUFValue(1.0).getEncodedBytes(), 8u);
  EXPECT_EQ(GGUFValue("abc").getEncodedBytes(), 8u + 3);
  // Element type, count, items.
  EXPECT_EQ(GGUFValue(std::vector<uint16_t>{1, 2}).getEncodedBytes(),
            4u + 8 + 2 * 2);
  EXPECT_EQ(GGUFValue(std::vector<bool>{true, false}).getEncodedBytes(),
            4u + 8 + 2);
  EXPECT_EQ(GGUFValue(std::vector<std::string>{"a", ""}).getEncodedBytes(),
            4u + 8 + (8 + 1) + 8);
}

TEST(GGUFValue, prints_exactly) {
  EXPECT_EQ(printed(GGUFValue(uint8_t(255))), "255");
  EXPECT_EQ(printed(GGUFValue(int8_t(-128))), "-128");
  EXPECT_EQ(printed(GGUFValue(false)), "false");
  EXPECT_EQ(printed(GGUFValue(0.1f)), "0.100000001");
  EXPECT_EQ(printed(GGUFValue(0.1)), "0.10000000000000001");
  EXPECT_EQ(printed(GGUFValue(std::numeric_limits<int64_t>::min())),
            "-9223372036854775808");
  EXPECT_EQ(printed(GGUFValue("a\"b\\c\n\t\r\x01\x7f\xc3\xa9")),
            "\"a\\\"b\\\\c\\n\\t\\r\\x01\\x7f\xc3\xa9\"");
}

TEST(GGUFValue, prints_arrays_cut_to_max_items) {
  GGUFValue values(std::vector<int32_t>{1, 2, 3, 4});
  EXPECT_EQ(printed(values), "[1, 2, 3, 4]");
  EXPECT_EQ(printed(values, 2), "[1, 2, ...]");
  EXPECT_EQ(printed(values, 4), "[1, 2, 3, 4]");
  EXPECT_EQ(printed(GGUFValue(std::vector<std::string>{"a", "b"}), 1),
            "[\"a\", ...]");
  EXPECT_EQ(printed(GGUFValue(std::vector<bool>{true, false})),
            "[true, false]");
  EXPECT_EQ(printed(GGUFValue(std::vector<uint8_t>{7, 200})), "[7, 200]");
  EXPECT_EQ(printed(GGUFValue(std::vector<float>{})), "[]");
}

TEST(GGUFValue, equality_compares_type_and_value) {
  EXPECT_EQ(GGUFValue(uint32_t(1)), GGUFValue(uint32_t(1)));
  EXPECT_NE(GGUFValue(uint32_t(1)), GGUFValue(uint64_t(1)));
  EXPECT_NE(GGUFValue(std::vector<uint8_t>{1}), GGUFValue(uint8_t(1)));
}

TEST(GGUFValue, value_type_ids) {
  EXPECT_EQ(lookupGGUFValueType(9), GGUFValueType::Array);
  EXPECT_EQ(lookupGGUFValueType(12), GGUFValueType::Float64);
  EXPECT_EQ(lookupGGUFValueType(13), std::nullopt);
  EXPECT_EQ(getGGUFValueTypeName(GGUFValueType::Bool), "bool");
  EXPECT_EQ(getGGUFMinEncodedBytes(GGUFValueType::String), 8u);
  EXPECT_EQ(getGGUFMinEncodedBytes(GGUFValueType::UInt64), 8u);
}

} // namespace
