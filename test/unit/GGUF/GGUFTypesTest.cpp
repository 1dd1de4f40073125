//===- GGUFTypesTest.cpp - The ggml type table and byte sizes ---*- C++ -*-===//
//
// Pins the type ids and block geometry against the numbers in gguf-py's
// constants.py (a wrong block size would write files llama.cpp misreads), and
// the tensor byte-size rule with each way it can fail.
//
//===----------------------------------------------------------------------===//
#include "phiq/Target/GGUF/GGUFTypes.h"

#include "GGUFTestUtils.h"

#include "gtest/gtest.h"

using namespace phiq::gguf;
using phiq::gguf::test::contains;

namespace {

struct Expected {
  GGMLType type;
  uint32_t id;
  const char *name;
  uint32_t blockElements;
  uint32_t blockBytes;
};

TEST(GGUFTypes, ids_and_block_sizes_match_gguf_py) {
  const Expected expected[] = {
      {GGMLType::F32, 0, "F32", 1, 4},
      {GGMLType::F16, 1, "F16", 1, 2},
      {GGMLType::Q4_0, 2, "Q4_0", 32, 18},
      {GGMLType::Q4_1, 3, "Q4_1", 32, 20},
      {GGMLType::Q5_0, 6, "Q5_0", 32, 22},
      {GGMLType::Q5_1, 7, "Q5_1", 32, 24},
      {GGMLType::Q8_0, 8, "Q8_0", 32, 34},
      {GGMLType::Q2_K, 10, "Q2_K", 256, 84},
      {GGMLType::Q3_K, 11, "Q3_K", 256, 110},
      {GGMLType::Q4_K, 12, "Q4_K", 256, 144},
      {GGMLType::Q5_K, 13, "Q5_K", 256, 176},
      {GGMLType::Q6_K, 14, "Q6_K", 256, 210},
      {GGMLType::IQ4_NL, 20, "IQ4_NL", 32, 18},
      {GGMLType::IQ4_XS, 23, "IQ4_XS", 256, 136},
      {GGMLType::BF16, 30, "BF16", 1, 2},
      {GGMLType::MXFP4, 39, "MXFP4", 32, 17},
  };
  for (const Expected &e : expected) {
    SCOPED_TRACE(e.name);
    EXPECT_EQ(static_cast<uint32_t>(e.type), e.id);
    const GGMLTypeInfo *info = lookupGGMLType(e.id);
    ASSERT_NE(info, nullptr);
    EXPECT_EQ(info->type, e.type);
    EXPECT_EQ(info->name, e.name);
    EXPECT_EQ(info->blockElements, e.blockElements);
    EXPECT_EQ(info->blockBytes, e.blockBytes);
  }
}

TEST(GGUFTypes, table_is_sorted_by_unique_id) {
  llvm::ArrayRef<GGMLTypeInfo> types = getGGMLTypes();
  for (size_t i = 1; i < types.size(); ++i)
    EXPECT_LT(static_cast<uint32_t>(types[i - 1].type),
              static_cast<uint32_t>(types[i].type));
}

TEST(GGUFTypes, removed_and_unknown_ids_are_rejected) {
  // 4, 5: Q4_2/Q4_3; 31-33 and 36-38: the removed repacked layouts.
  for (uint32_t id :
       {4u, 5u, 31u, 32u, 33u, 36u, 37u, 38u, 42u, 1000u, 0xFFFFFFFFu})
    EXPECT_EQ(lookupGGMLType(id), nullptr) << id;
  EXPECT_EQ(getGGMLTypeName(static_cast<GGMLType>(4)), "<unknown>");
}

TEST(GGUFTypes, names_look_up_case_insensitively) {
  EXPECT_EQ(lookupGGMLTypeByName("q4_k"), GGMLType::Q4_K);
  EXPECT_EQ(lookupGGMLTypeByName("IQ4_NL"), GGMLType::IQ4_NL);
  EXPECT_EQ(lookupGGMLTypeByName("q4_2"), std::nullopt);
}

TEST(GGUFTypes, byte_size_counts_whole_blocks) {
  EXPECT_EQ(cantFail(computeTensorByteSize(GGMLType::F32, {3072})), 3072u * 4);
  EXPECT_EQ(cantFail(computeTensorByteSize(GGMLType::Q8_0, {3072, 8192})),
            3072u / 32 * 34 * 8192);
  EXPECT_EQ(cantFail(computeTensorByteSize(GGMLType::Q6_K, {256, 2, 3, 4})),
            24u * 210);
}

static std::string sizeError(GGMLType type, llvm::ArrayRef<uint64_t> dims) {
  llvm::Expected<uint64_t> size = computeTensorByteSize(type, dims);
  if (size)
    return "<ok>";
  return llvm::toString(size.takeError());
}

TEST(GGUFTypes, byte_size_rejects_bad_shapes) {
  EXPECT_TRUE(contains(sizeError(GGMLType::Q8_0, {33, 2}),
                       "row length 33 is not a multiple of Q8_0's block "
                       "size 32"));
  EXPECT_TRUE(
      contains(sizeError(GGMLType::F32, {}), "0 dimensions, expected 1 to 4"));
  EXPECT_TRUE(contains(sizeError(GGMLType::F32, {1, 1, 1, 1, 1}),
                       "5 dimensions, expected 1 to 4"));
  EXPECT_TRUE(
      contains(sizeError(GGMLType::F32, {4, 0}), "dimension 1 of [4, 0] is 0"));
  EXPECT_TRUE(
      contains(sizeError(GGMLType::F32, {uint64_t(1) << 32, uint64_t(1) << 31}),
               "overflows int64"));
  EXPECT_TRUE(contains(sizeError(GGMLType::F32, {uint64_t(1) << 63}),
                       "overflows int64"));
  // 2^62 elements fit int64, their 2^65 bytes do not fit uint64.
  EXPECT_TRUE(contains(sizeError(GGMLType::F64, {uint64_t(1) << 62}),
                       "byte size of F64 [4611686018427387904] overflows"));
  EXPECT_TRUE(contains(sizeError(static_cast<GGMLType>(99), {32}),
                       "unknown ggml type 99"));
}

TEST(GGUFTypes, align_up_rounds_to_powers_of_two) {
  EXPECT_EQ(alignUp(0, 32), 0u);
  EXPECT_EQ(alignUp(1, 32), 32u);
  EXPECT_EQ(alignUp(64, 32), 64u);
  EXPECT_EQ(alignUp(7, 1), 7u);
  EXPECT_EQ(alignUp(UINT64_MAX - 3, 32), std::nullopt);
}

} // namespace
