//===- GGUFWriterTest.cpp - Writer validation and atomicity -----*- C++ -*-===//
//
// What the writer refuses (so a caller's bug fails at addKV/addTensor, not
// inside llama.cpp), the streaming contract of the fill callbacks, and the
// temporary-file rename: a failing callback leaves no file and no leftover,
// and an existing file at the path is untouched.
//
//===----------------------------------------------------------------------===//
#include "phiq/Target/GGUF/GGUFWriter.h"
#include "phiq/Target/GGUF/GGUFReader.h"

#include "GGUFTestUtils.h"

#include "gtest/gtest.h"

using namespace phiq::gguf;
using phiq::gguf::test::contains;
using phiq::gguf::test::readFile;
using phiq::gguf::test::TempDir;

namespace {

llvm::Error noop(llvm::MutableArrayRef<uint8_t>) {
  return llvm::Error::success();
}

std::string errorOf(llvm::Error error) {
  if (!error)
    return "<success>";
  return llvm::toString(std::move(error));
}

TEST(GGUFWriter, rejects_empty_and_duplicate_keys) {
  GGUFWriter writer;
  EXPECT_TRUE(contains(errorOf(writer.addKV("", uint8_t(1))),
                       "GGUF key must not be empty"));
  EXPECT_EQ(errorOf(writer.addKV("a", uint8_t(1))), "<success>");
  EXPECT_TRUE(
      contains(errorOf(writer.addKV("a", "again")), "duplicate GGUF key 'a'"));
}

TEST(GGUFWriter, rejects_bad_alignment_values) {
  GGUFWriter writer;
  EXPECT_TRUE(contains(errorOf(writer.addKV("general.alignment", uint64_t(64))),
                       "'general.alignment' has type u64, expected u32"));
  EXPECT_TRUE(contains(errorOf(writer.addKV("general.alignment", uint32_t(48))),
                       "is 48, expected a power of two"));
  EXPECT_TRUE(contains(errorOf(writer.addKV("general.alignment", uint32_t(0))),
                       "is 0, expected a power of two"));
  EXPECT_EQ(writer.getAlignment(), 32u);
  EXPECT_EQ(errorOf(writer.addKV("general.alignment", uint32_t(128))),
            "<success>");
  EXPECT_EQ(writer.getAlignment(), 128u);
}

TEST(GGUFWriter, rejects_bad_tensor_names) {
  GGUFWriter writer;
  EXPECT_TRUE(
      contains(errorOf(writer.addTensor("", GGMLType::F32, {1}, 4, noop)),
               "tensor name must not be empty"));
  std::string longest(kMaxTensorNameBytes, 'x');
  EXPECT_EQ(errorOf(writer.addTensor(longest, GGMLType::F32, {1}, 4, noop)),
            "<success>");
  EXPECT_TRUE(contains(
      errorOf(writer.addTensor(longest + "x", GGMLType::F32, {1}, 4, noop)),
      "name is 64 bytes, llama.cpp accepts at most 63"));
  EXPECT_TRUE(
      contains(errorOf(writer.addTensor(longest, GGMLType::F32, {1}, 4, noop)),
               "duplicate GGUF tensor"));
}

TEST(GGUFWriter, rejects_bad_shapes_and_sizes) {
  GGUFWriter writer;
  EXPECT_TRUE(
      contains(errorOf(writer.addTensor("t", GGMLType::F32, {}, 0, noop)),
               "tensor 't': 0 dimensions, expected 1 to 4"));
  EXPECT_TRUE(contains(
      errorOf(writer.addTensor("t", GGMLType::F32, {1, 1, 1, 1, 1}, 4, noop)),
      "5 dimensions"));
  EXPECT_TRUE(
      contains(errorOf(writer.addTensor("t", GGMLType::F32, {2, 0}, 0, noop)),
               "dimension 1 of [2, 0] is 0"));
  EXPECT_TRUE(
      contains(errorOf(writer.addTensor("t", GGMLType::Q4_K, {128}, 72, noop)),
               "row length 128 is not a multiple of Q4_K's block size 256"));
  EXPECT_TRUE(contains(
      errorOf(writer.addTensor("t", GGMLType::Q8_0, {64, 2}, 128, noop)),
      "tensor 't': 128 bytes given, Q8_0 [64, 2] takes 136"));
  EXPECT_TRUE(contains(
      errorOf(writer.addTensor("t", static_cast<GGMLType>(4), {32}, 18, noop)),
      "unknown ggml type 4"));
  EXPECT_TRUE(
      contains(errorOf(writer.addTensor("t", GGMLType::F32, {1}, 4, nullptr)),
               "tensor 't': no fill callback"));
  // None of the failures registered the name.
  EXPECT_EQ(errorOf(writer.addTensor("t", GGMLType::F32, {1}, 4, noop)),
            "<success>");
}

TEST(GGUFWriter, fills_run_in_order_with_exact_spans) {
  TempDir dir;
  GGUFWriter writer;
  std::vector<std::string> calls;
  for (const char *name : {"c", "a", "b"})
    ASSERT_FALSE(llvm::errorToBool(writer.addTensor(
        name, GGMLType::Q8_0, {32, 3}, 102,
        [&calls, name](llvm::MutableArrayRef<uint8_t> out) -> llvm::Error {
          calls.push_back(name);
          if (out.size() != 102)
            return llvm::createStringError("wrong span size");
          // Callbacks own every byte of their span.
          std::fill(out.begin(), out.end(), 0x11);
          out.front() = 0xAB;
          out.back() = 0xCD;
          return llvm::Error::success();
        })));
  std::string path = dir.path("order.gguf");
  ASSERT_EQ(errorOf(writer.write(path)), "<success>");
  EXPECT_EQ(calls, (std::vector<std::string>{"c", "a", "b"}));
  llvm::Expected<std::unique_ptr<GGUFFile>> file = GGUFFile::open(path);
  ASSERT_TRUE(bool(file)) << llvm::toString(file.takeError());
  for (const GGUFTensor &tensor : (*file)->getTensors()) {
    EXPECT_EQ(tensor.data().front(), 0xAB);
    EXPECT_EQ(tensor.data().back(), 0xCD);
  }
}

TEST(GGUFWriter, failing_fill_leaves_no_file) {
  TempDir dir;
  GGUFWriter writer;
  ASSERT_FALSE(llvm::errorToBool(
      writer.addTensor("good", GGMLType::F32, {1024}, 4096, noop)));
  ASSERT_FALSE(llvm::errorToBool(writer.addTensor(
      "bad", GGMLType::F32, {4}, 16, [](llvm::MutableArrayRef<uint8_t>) {
        return llvm::createStringError("quantizer ran out of luck");
      })));
  std::string path = dir.path("out.gguf");
  std::string error = errorOf(writer.write(path));
  EXPECT_TRUE(contains(error, "out.gguf: tensor 'bad': quantizer ran out of "
                              "luck"));
  EXPECT_EQ(dir.list(), std::vector<std::string>{});
}

TEST(GGUFWriter, failing_fill_keeps_existing_file) {
  TempDir dir;
  std::string path = dir.path("model.gguf");
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(path, ec);
    ASSERT_FALSE(ec);
    os << "previous contents";
  }
  GGUFWriter writer;
  ASSERT_FALSE(llvm::errorToBool(writer.addTensor(
      "t", GGMLType::F32, {1}, 4, [](llvm::MutableArrayRef<uint8_t>) {
        return llvm::createStringError("boom");
      })));
  EXPECT_TRUE(contains(errorOf(writer.write(path)), "tensor 't': boom"));
  EXPECT_EQ(readFile(path), "previous contents");
  EXPECT_EQ(dir.list(), std::vector<std::string>{"model.gguf"});
}

TEST(GGUFWriter, successful_write_replaces_existing_file) {
  TempDir dir;
  std::string path = dir.path("model.gguf");
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(path, ec);
    os << "previous contents";
  }
  GGUFWriter writer;
  ASSERT_FALSE(llvm::errorToBool(writer.addKV("k", uint8_t(1))));
  ASSERT_EQ(errorOf(writer.write(path)), "<success>");
  EXPECT_EQ(llvm::StringRef(readFile(path)).take_front(4), "GGUF");
  EXPECT_EQ(dir.list(), std::vector<std::string>{"model.gguf"});
}

TEST(GGUFWriter, unwritable_path_names_the_path) {
  TempDir dir;
  GGUFWriter writer;
  std::string path = dir.path("no-such-folder/model.gguf");
  EXPECT_TRUE(contains(errorOf(writer.write(path)),
                       "no-such-folder/model.gguf: cannot create"));
}

TEST(GGUFWriter, file_size_is_known_before_writing) {
  TempDir dir;
  GGUFWriter writer;
  ASSERT_FALSE(llvm::errorToBool(writer.addKV("general.name", "x")));
  ASSERT_FALSE(
      llvm::errorToBool(writer.addTensor("t", GGMLType::F16, {3}, 6, noop)));
  // Header 24 + KV (8 + 12 + 4 + 8 + 1) + info (8 + 1 + 4 + 8 + 4 + 8) = 90,
  // padded to 96; data 6 padded to 32.
  EXPECT_EQ(cantFail(writer.computeFileSize()), 96u + 32);
  std::string path = dir.path("size.gguf");
  ASSERT_EQ(errorOf(writer.write(path)), "<success>");
  EXPECT_EQ(readFile(path).size(), 128u);
}

TEST(GGUFWriter, empty_file_is_header_padded_to_alignment) {
  TempDir dir;
  GGUFWriter writer;
  std::string path = dir.path("empty.gguf");
  ASSERT_EQ(errorOf(writer.write(path)), "<success>");
  std::string bytes = readFile(path);
  ASSERT_EQ(bytes.size(), 32u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("GGUF\3\0\0\0", 8));
  llvm::Expected<std::unique_ptr<GGUFFile>> file = GGUFFile::open(path);
  ASSERT_TRUE(bool(file)) << llvm::toString(file.takeError());
  EXPECT_EQ((*file)->getDataOffset(), 32u);
}

} // namespace
