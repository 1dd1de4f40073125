//===- GGUFReaderErrorTest.cpp - Malformed GGUF input -----------*- C++ -*-===//
//
// One test per way a GGUF file can be malformed, each on hand-built bytes:
// the reader must return an error naming the file, the byte offset, the key
// or tensor and what was expected -- never crash and never allocate what a
// count merely claims. A last pair of tests parses every truncation and
// every single-byte corruption of a valid file.
//
//===----------------------------------------------------------------------===//
#include "phiq/Target/GGUF/GGUFReader.h"

#include "GGUFTestUtils.h"

#include "gtest/gtest.h"

using namespace phiq::gguf;
using phiq::gguf::test::ByteBuilder;
using phiq::gguf::test::contains;
using phiq::gguf::test::parseBytes;
using phiq::gguf::test::parseError;

namespace {

constexpr uint32_t kU32 = 4, kU64 = 10, kStr = 8, kArr = 9;
constexpr uint32_t kF32Type = 0, kQ8_0Type = 8;

/// A valid file: KVs "general.architecture" = "phi3" and "a.u32" = 7, one
/// Q8_0 [32, 2] tensor "w" with 68 bytes of data.
struct ValidFile {
  ByteBuilder b;
  size_t secondKV = 0, tensorInfo = 0, dataStart = 0;

  ValidFile() {
    b.header(1, 2).str("general.architecture").u32(kStr).str("phi3");
    secondKV = b.size();
    b.kvU32("a.u32", 7);
    tensorInfo = b.size();
    b.tensor("w", {32, 2}, kQ8_0Type, 0);
    b.pad(32);
    dataStart = b.size();
    b.zeros(68).pad(32);
  }
};

TEST(GGUFReaderError, valid_file_parses) {
  ValidFile f;
  llvm::Expected<std::unique_ptr<GGUFFile>> file = parseBytes(f.b.bytes);
  ASSERT_TRUE(bool(file)) << llvm::toString(file.takeError());
  EXPECT_EQ((*file)->getDataOffset(), f.dataStart);
  EXPECT_EQ((*file)->getTensors()[0].getByteSize(), 68u);
}

TEST(GGUFReaderError, rejects_bad_magic) {
  std::string bytes = ValidFile().b.bytes;
  bytes[3] = 'L';
  EXPECT_TRUE(contains(parseError(bytes),
                       "bad.gguf: byte 0: bad magic 'GGUL', expected 'GGUF'"));
  EXPECT_TRUE(
      contains(parseError("\x01\x02\x03\x04"),
               "bad magic '" + std::string(4, '?') + "', expected 'GGUF'"));
}

TEST(GGUFReaderError, rejects_files_shorter_than_the_magic) {
  EXPECT_TRUE(contains(parseError(""),
                       "bad.gguf: byte 0: the GGUF magic needs 4 bytes but "
                       "only 0 are left in the file"));
  EXPECT_TRUE(contains(parseError("GGU"), "needs 4 bytes but only 3"));
}

TEST(GGUFReaderError, rejects_unsupported_versions) {
  for (uint32_t version : {0u, 1u, 4u, 1000u}) {
    ByteBuilder b;
    b.header(0, 0, version);
    EXPECT_TRUE(contains(parseError(b.bytes),
                         "bad.gguf: byte 4: unsupported GGUF version " +
                             std::to_string(version) + ", expected 2 or 3"));
  }
}

TEST(GGUFReaderError, rejects_big_endian_files) {
  ByteBuilder b;
  b.header(0, 0, 0x03000000);
  EXPECT_TRUE(contains(parseError(b.bytes),
                       "byte 4: version 0x03000000 looks byte-swapped: "
                       "big-endian GGUF files are not supported"));
}

TEST(GGUFReaderError, accepts_version_2) {
  ByteBuilder b;
  b.header(0, 1, 2).kvU32("k", 1);
  llvm::Expected<std::unique_ptr<GGUFFile>> file = parseBytes(b.bytes);
  ASSERT_TRUE(bool(file)) << llvm::toString(file.takeError());
  EXPECT_EQ((*file)->getVersion(), 2u);
}

TEST(GGUFReaderError, rejects_truncated_header) {
  ByteBuilder b;
  b.raw("GGUF").u32(3).u64(0).u32(0);
  EXPECT_TRUE(contains(parseError(b.bytes),
                       "byte 16: the KV count needs 8 bytes but only 4 are "
                       "left"));
}

TEST(GGUFReaderError, rejects_counts_that_cannot_fit) {
  ByteBuilder kvs;
  kvs.header(0, uint64_t(1) << 60).zeros(100);
  EXPECT_TRUE(contains(parseError(kvs.bytes),
                       "byte 16: KV count 1152921504606846976 cannot fit in "
                       "the 100 bytes left"));
  ByteBuilder tensors;
  tensors.header(uint64_t(1) << 62, 0).zeros(100);
  EXPECT_TRUE(contains(parseError(tensors.bytes),
                       "byte 8: tensor count 4611686018427387904 cannot fit"));
}

TEST(GGUFReaderError, rejects_key_length_past_eof) {
  ByteBuilder b;
  b.header(0, 1).u64(1000).raw("abc").zeros(11);
  EXPECT_TRUE(contains(parseError(b.bytes),
                       "bad.gguf: byte 32: key #0 needs 1000 bytes but only "
                       "14 are left in the file"));
}

TEST(GGUFReaderError, rejects_string_value_past_eof) {
  ByteBuilder b;
  b.header(0, 1).str("k").u32(kStr).u64(50).raw("short");
  EXPECT_TRUE(contains(parseError(b.bytes),
                       "byte 45: key 'k' needs 50 bytes but only 5 are "
                       "left"));
}

TEST(GGUFReaderError, rejects_string_longer_than_ggml_limit) {
  ByteBuilder b;
  b.header(0, 1).str("k").u32(kStr).u64(uint64_t(1) << 40);
  EXPECT_TRUE(contains(parseError(b.bytes),
                       "byte 37: key 'k' is 1099511627776 bytes long, more "
                       "than the limit of 1073741824"));
}

TEST(GGUFReaderError, rejects_absurd_array_counts_before_allocating) {
  ByteBuilder numbers;
  numbers.header(0, 1)
      .str("k")
      .u32(kArr)
      .u32(kU32)
      .u64(uint64_t(1) << 29)
      .zeros(16);
  EXPECT_TRUE(contains(parseError(numbers.bytes),
                       "byte 41: key 'k': array of 536870912 u32 cannot fit "
                       "in the 16 bytes left (each takes at least 4)"));
  ByteBuilder strings;
  strings.header(0, 1).str("k").u32(kArr).u32(kStr).u64(uint64_t(1) << 61);
  EXPECT_TRUE(contains(parseError(strings.bytes),
                       "array of 2305843009213693952 str cannot fit in the 0 "
                       "bytes left (each takes at least 8)"));
  ByteBuilder huge;
  huge.header(0, 1).str("k").u32(kArr).u32(kU64).u64(~uint64_t(0));
  EXPECT_TRUE(contains(parseError(huge.bytes), "cannot fit"));
}

TEST(GGUFReaderError, rejects_truncated_array_items) {
  ByteBuilder b;
  b.header(0, 1).str("k").u32(kArr).u32(kStr).u64(2).str("a").u64(9).raw("x");
  EXPECT_TRUE(contains(parseError(b.bytes),
                       "key 'k' item 1 needs 9 bytes but only 1 are left"));
}

TEST(GGUFReaderError, rejects_unknown_value_type) {
  ByteBuilder b;
  b.header(0, 1).str("k").u32(13).u32(0);
  EXPECT_TRUE(contains(parseError(b.bytes),
                       "byte 33: key 'k' type is 13, expected a GGUF value "
                       "type (0 to 12)"));
}

TEST(GGUFReaderError, rejects_unknown_array_element_type) {
  ByteBuilder b;
  b.header(0, 1).str("k").u32(kArr).u32(99).u64(0);
  EXPECT_TRUE(contains(parseError(b.bytes),
                       "byte 37: key 'k' element type is 99, expected a GGUF "
                       "value type"));
}

TEST(GGUFReaderError, rejects_arrays_of_arrays) {
  ByteBuilder b;
  b.header(0, 1).str("k").u32(kArr).u32(kArr).u64(0);
  EXPECT_TRUE(contains(parseError(b.bytes),
                       "byte 37: key 'k' is an array of arrays, which ggml "
                       "does not load"));
}

TEST(GGUFReaderError, rejects_empty_key) {
  ByteBuilder b;
  b.header(0, 1).str("").u32(kU32).u32(1);
  EXPECT_TRUE(contains(parseError(b.bytes), "byte 24: key #0 is empty"));
}

TEST(GGUFReaderError, rejects_duplicate_keys) {
  ByteBuilder b;
  b.header(0, 2).kvU32("k", 1).kvU32("k", 2);
  EXPECT_TRUE(contains(parseError(b.bytes),
                       "byte 41: key 'k' is a duplicate (first at byte 24)"));
}

TEST(GGUFReaderError, rejects_alignment_of_the_wrong_type) {
  ByteBuilder b;
  b.header(0, 1).str("general.alignment").u32(kU64).u64(32);
  EXPECT_TRUE(contains(parseError(b.bytes),
                       "byte 24: key 'general.alignment' has type u64, "
                       "expected u32"));
}

TEST(GGUFReaderError, rejects_alignment_that_is_not_a_power_of_two) {
  for (uint32_t alignment : {0u, 48u}) {
    ByteBuilder b;
    b.header(0, 1).kvU32("general.alignment", alignment);
    EXPECT_TRUE(contains(parseError(b.bytes), "key 'general.alignment' is " +
                                                  std::to_string(alignment) +
                                                  ", expected a power of two"));
  }
}

TEST(GGUFReaderError, rejects_unknown_ggml_types) {
  for (uint32_t type : {4u, 31u, 99u}) {
    ByteBuilder b;
    b.header(1, 0).tensor("w", {32}, type, 0).pad(32).zeros(128);
    EXPECT_TRUE(contains(parseError(b.bytes),
                         "byte 45: tensor 'w': unknown ggml type " +
                             std::to_string(type)));
  }
}

TEST(GGUFReaderError, rejects_zero_or_too_many_dims) {
  ByteBuilder none;
  none.header(1, 0).str("w").u32(0).u32(kF32Type).u64(0).pad(32).zeros(32);
  EXPECT_TRUE(contains(parseError(none.bytes),
                       "byte 33: tensor 'w': n_dims is 0, expected 1 to 4"));
  ByteBuilder five;
  five.header(1, 0).tensor("w", {1, 1, 1, 1, 1}, kF32Type, 0).pad(32).zeros(32);
  EXPECT_TRUE(contains(parseError(five.bytes),
                       "tensor 'w': n_dims is 5, expected 1 to 4"));
}

TEST(GGUFReaderError, rejects_zero_dim) {
  ByteBuilder b;
  b.header(1, 0).tensor("w", {4, 0}, kF32Type, 0).pad(32);
  EXPECT_TRUE(contains(parseError(b.bytes),
                       "byte 33: tensor 'w': dimension 1 of [4, 0] is 0, "
                       "expected at least 1"));
}

TEST(GGUFReaderError, rejects_element_count_overflow) {
  ByteBuilder b;
  b.header(1, 0)
      .tensor("w", {uint64_t(1) << 32, uint64_t(1) << 32}, kF32Type, 0)
      .pad(32);
  EXPECT_TRUE(contains(parseError(b.bytes),
                       "tensor 'w': element count of [4294967296, "
                       "4294967296] overflows int64"));
}

TEST(GGUFReaderError, rejects_rows_of_partial_blocks) {
  ByteBuilder b;
  b.header(1, 0).tensor("w", {33, 2}, kQ8_0Type, 0).pad(32).zeros(96);
  EXPECT_TRUE(contains(parseError(b.bytes),
                       "tensor 'w': row length 33 is not a multiple of "
                       "Q8_0's block size 32"));
}

TEST(GGUFReaderError, rejects_tensor_names_llama_cpp_cannot_hold) {
  ByteBuilder b;
  b.header(1, 0)
      .tensor(std::string(64, 'n'), {1}, kF32Type, 0)
      .pad(32)
      .zeros(32);
  EXPECT_TRUE(contains(parseError(b.bytes),
                       "byte 24: tensor '" + std::string(64, 'n') +
                           "': name is 64 bytes, llama.cpp accepts at most "
                           "63"));
}

TEST(GGUFReaderError, rejects_duplicate_tensor_names) {
  ByteBuilder b;
  b.header(2, 0)
      .tensor("w", {8}, kF32Type, 0)
      .tensor("w", {8}, kF32Type, 32)
      .pad(32)
      .zeros(64);
  EXPECT_TRUE(contains(parseError(b.bytes),
                       "byte 57: tensor 'w' is a duplicate (first at byte "
                       "24)"));
}

TEST(GGUFReaderError, rejects_misaligned_offsets) {
  ByteBuilder b;
  b.header(1, 0).tensor("w", {8}, kF32Type, 16).pad(32).zeros(64);
  EXPECT_TRUE(contains(parseError(b.bytes),
                       "byte 49: tensor 'w': offset 16 is not a multiple of "
                       "the alignment 32"));
  // With general.alignment = 16 the same offset is fine.
  ByteBuilder ok;
  ok.header(1, 1)
      .kvU32("general.alignment", 16)
      .tensor("w", {8}, kF32Type, 16)
      .pad(16)
      .zeros(64);
  EXPECT_EQ(parseError(ok.bytes), "<parsed>");
}

TEST(GGUFReaderError, rejects_tensor_data_past_eof) {
  ValidFile f;
  std::string bytes = f.b.bytes.substr(0, f.dataStart + 67);
  EXPECT_TRUE(contains(parseError(bytes),
                       "byte " + std::to_string(f.tensorInfo) +
                           ": tensor 'w': Q8_0 68 bytes at offset 0 (data "
                           "section at byte " +
                           std::to_string(f.dataStart) +
                           ") run past the end of the file (" +
                           std::to_string(f.dataStart + 67) + " bytes)"));
  // The last tensor's trailing padding is not required.
  EXPECT_EQ(parseError(f.b.bytes.substr(0, f.dataStart + 68)), "<parsed>");
}

TEST(GGUFReaderError, rejects_offsets_that_overflow) {
  ByteBuilder b;
  b.header(1, 0).tensor("w", {8}, kF32Type, ~uint64_t(31)).pad(32).zeros(32);
  EXPECT_TRUE(contains(parseError(b.bytes),
                       "tensor 'w': F32 32 bytes at offset "
                       "18446744073709551584"));
}

TEST(GGUFReaderError, rejects_data_section_past_eof) {
  ByteBuilder b;
  b.header(1, 0).tensor("w", {8}, kF32Type, 0);
  EXPECT_TRUE(contains(parseError(b.bytes),
                       "byte 57: the data section, aligned to 32, starts past "
                       "the end of the file (57 bytes)"));
}

TEST(GGUFReaderError, rejects_overlapping_tensors) {
  ByteBuilder b;
  b.header(2, 0)
      .tensor("a", {16}, kF32Type, 0)
      .tensor("b", {8}, kF32Type, 32)
      .pad(32)
      .zeros(64);
  size_t dataStart = 96;
  ASSERT_EQ(b.size(), dataStart + 64);
  EXPECT_TRUE(contains(parseError(b.bytes),
                       "byte 57: tensor 'b': data [128, 160) overlaps tensor "
                       "'a' [96, 160)"));
}

TEST(GGUFReaderError, accepts_tensors_in_any_order_with_gaps) {
  ByteBuilder b;
  b.header(2, 0)
      .tensor("late", {8}, kF32Type, 96)
      .tensor("early", {8}, kF32Type, 0)
      .pad(32)
      .zeros(128);
  llvm::Expected<std::unique_ptr<GGUFFile>> file = parseBytes(b.bytes);
  ASSERT_TRUE(bool(file)) << llvm::toString(file.takeError());
  EXPECT_EQ((*file)->getTensors()[0].getOffset(), 96u);
}

TEST(GGUFReaderError, accepts_metadata_only_files_without_padding) {
  ByteBuilder b;
  b.header(0, 1).kvU32("k", 1);
  llvm::Expected<std::unique_ptr<GGUFFile>> file = parseBytes(b.bytes);
  ASSERT_TRUE(bool(file)) << llvm::toString(file.takeError());
  EXPECT_EQ((*file)->getDataOffset(), b.size());
}

TEST(GGUFReaderError, every_truncation_fails_cleanly) {
  ValidFile f;
  // Shorter than the last tensor's end, every prefix is malformed.
  for (size_t length = 0; length < f.dataStart + 68; ++length) {
    std::string error = parseError(f.b.bytes.substr(0, length));
    EXPECT_TRUE(contains(error, "bad.gguf: byte ")) << length;
  }
}

TEST(GGUFReaderError, every_byte_corruption_parses_or_fails_cleanly) {
  ValidFile f;
  for (size_t at = 0; at < f.dataStart; ++at)
    for (uint8_t value : {0x00, 0x01, 0x7f, 0x80, 0xff}) {
      std::string bytes = f.b.bytes;
      bytes[at] = static_cast<char>(value);
      std::string error = parseError(bytes);
      EXPECT_TRUE(error == "<parsed>" || contains(error, "bad.gguf: byte "))
          << at << " " << error;
    }
}

} // namespace
