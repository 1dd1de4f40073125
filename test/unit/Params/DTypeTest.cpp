//===- DTypeTest.cpp - Tests of the dtype table -----------------*- C++ -*-===//
//
// Pins the safetensors spellings and element sizes: a wrong size would make
// every byte-range check in the parser accept the wrong files.
//
//===----------------------------------------------------------------------===//
#include "phiq/Params/ParamStore.h"

#include "gtest/gtest.h"

using namespace phiq::params;

namespace {

constexpr DType kAll[] = {
    DType::F64,     DType::F32, DType::F16, DType::BF16, DType::F8_E4M3,
    DType::F8_E5M2, DType::I64, DType::I32, DType::I16,  DType::I8,
    DType::U64,     DType::U32, DType::U16, DType::U8,   DType::Bool};

TEST(DTypeTest, NamesRoundTripThroughParse) {
  for (DType dtype : kAll) {
    std::optional<DType> parsed = parseDType(dtypeName(dtype));
    ASSERT_TRUE(parsed.has_value()) << dtypeName(dtype).str();
    EXPECT_EQ(*parsed, dtype);
  }
}

TEST(DTypeTest, UsesSafetensorsSpellings) {
  EXPECT_EQ(dtypeName(DType::BF16), "BF16");
  EXPECT_EQ(dtypeName(DType::Bool), "BOOL");
  EXPECT_EQ(dtypeName(DType::F8_E4M3), "F8_E4M3");
  EXPECT_EQ(dtypeName(DType::F8_E5M2), "F8_E5M2");
}

TEST(DTypeTest, RejectsUnknownAndMiscasedNames) {
  EXPECT_FALSE(parseDType("bf16"));
  EXPECT_FALSE(parseDType("Bool"));
  EXPECT_FALSE(parseDType("F4"));
  EXPECT_FALSE(parseDType(""));
}

TEST(DTypeTest, SizesMatchTheFormat) {
  EXPECT_EQ(dtypeSize(DType::F64), 8u);
  EXPECT_EQ(dtypeSize(DType::F32), 4u);
  EXPECT_EQ(dtypeSize(DType::F16), 2u);
  EXPECT_EQ(dtypeSize(DType::BF16), 2u);
  EXPECT_EQ(dtypeSize(DType::F8_E4M3), 1u);
  EXPECT_EQ(dtypeSize(DType::F8_E5M2), 1u);
  EXPECT_EQ(dtypeSize(DType::I64), 8u);
  EXPECT_EQ(dtypeSize(DType::I32), 4u);
  EXPECT_EQ(dtypeSize(DType::I16), 2u);
  EXPECT_EQ(dtypeSize(DType::I8), 1u);
  EXPECT_EQ(dtypeSize(DType::U64), 8u);
  EXPECT_EQ(dtypeSize(DType::U32), 4u);
  EXPECT_EQ(dtypeSize(DType::U16), 2u);
  EXPECT_EQ(dtypeSize(DType::U8), 1u);
  EXPECT_EQ(dtypeSize(DType::Bool), 1u);
}

TEST(DTypeTest, NumElementsIsTheProductOfTheShape) {
  TensorRef tensor;
  tensor.dtype = DType::F32;
  EXPECT_EQ(tensor.numElements(), 1) << "a scalar has one element";
  tensor.shape = {3, 4, 5};
  EXPECT_EQ(tensor.numElements(), 60);
  tensor.shape = {3, 0, 5};
  EXPECT_EQ(tensor.numElements(), 0);
}

} // namespace
