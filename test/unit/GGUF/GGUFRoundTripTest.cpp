//===- GGUFRoundTripTest.cpp - Writer output read back ----------*- C++ -*-===//
//
// Files written by GGUFWriter and opened by GGUFFile: every value type
// survives exactly, tensors of several ggml types come back with their
// dims, offsets and bytes, the layout honours the default and a custom
// alignment the way llama.cpp expects (data section and every tensor
// aligned, tensors packed in order), and opening maps the file instead of
// reading tensor data.
//
//===----------------------------------------------------------------------===//
#include "phiq/Target/GGUF/GGUFReader.h"
#include "phiq/Target/GGUF/GGUFWriter.h"

#include "GGUFTestUtils.h"

#include "gtest/gtest.h"

#include <cmath>
#include <limits>

using namespace phiq::gguf;
using phiq::gguf::test::contains;
using phiq::gguf::test::TempDir;

namespace {

/// Fills a span with (i * 7 + seed) mod 256.
GGUFWriter::FillFn pattern(unsigned seed) {
  return [seed](llvm::MutableArrayRef<uint8_t> out) {
    for (size_t i = 0; i < out.size(); ++i)
      out[i] = static_cast<uint8_t>(i * 7 + seed);
    return llvm::Error::success();
  };
}

bool hasPattern(llvm::ArrayRef<uint8_t> bytes, unsigned seed) {
  for (size_t i = 0; i < bytes.size(); ++i)
    if (bytes[i] != static_cast<uint8_t>(i * 7 + seed))
      return false;
  return true;
}

std::vector<std::pair<std::string, GGUFValue>> everyValueType() {
  constexpr uint64_t u64Max = std::numeric_limits<uint64_t>::max();
  constexpr int64_t i64Min = std::numeric_limits<int64_t>::min();
  return {
      {"t.u8", uint8_t(255)},
      {"t.i8", int8_t(-128)},
      {"t.u16", uint16_t(65535)},
      {"t.i16", int16_t(-32768)},
      {"t.u32", uint32_t(4294967295u)},
      {"t.i32", int32_t(-2147483647 - 1)},
      {"t.f32", 1.5e-30f},
      {"t.bool.true", true},
      {"t.bool.false", false},
      {"t.str", std::string("with\0nul", 8)},
      {"t.str.empty", ""},
      {"t.u64", u64Max},
      {"t.i64", i64Min},
      {"t.f64", -0.0},
      {"t.f64.nan", std::nan("")},
      {"t.arr.u8", std::vector<uint8_t>{0, 255}},
      {"t.arr.i8", std::vector<int8_t>{-1}},
      {"t.arr.u16", std::vector<uint16_t>{1, 2, 3}},
      {"t.arr.i16", std::vector<int16_t>{-5, 5}},
      {"t.arr.u32", std::vector<uint32_t>{}},
      {"t.arr.i32", std::vector<int32_t>{1, -1}},
      {"t.arr.f32", std::vector<float>{0.25f, -INFINITY}},
      {"t.arr.bool", std::vector<bool>{false, true, true}},
      {"t.arr.str", std::vector<std::string>{"<s>", "", "\xe2\x96\x81the"}},
      {"t.arr.u64", std::vector<uint64_t>{u64Max}},
      {"t.arr.i64", std::vector<int64_t>{i64Min, 0}},
      {"t.arr.f64", std::vector<double>{1e-300, 2.5}},
  };
}

std::unique_ptr<GGUFFile> openOrFail(const std::string &path) {
  llvm::Expected<std::unique_ptr<GGUFFile>> file = GGUFFile::open(path);
  if (!file) {
    ADD_FAILURE() << llvm::toString(file.takeError());
    return nullptr;
  }
  return std::move(*file);
}

TEST(GGUFRoundTrip, every_value_type_survives) {
  TempDir dir;
  GGUFWriter writer;
  auto values = everyValueType();
  for (auto &[key, value] : values)
    ASSERT_FALSE(llvm::errorToBool(writer.addKV(key, value))) << key;
  std::string path = dir.path("kv.gguf");
  ASSERT_FALSE(llvm::errorToBool(writer.write(path)));

  std::unique_ptr<GGUFFile> file = openOrFail(path);
  ASSERT_TRUE(file);
  EXPECT_EQ(file->getVersion(), 3u);
  EXPECT_TRUE(file->getTensors().empty());
  ASSERT_EQ(file->getKeyValues().size(), values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    const GGUFKeyValue &kv = file->getKeyValues()[i];
    EXPECT_EQ(kv.key, values[i].first);
    if (const double *nan = kv.value.getIf<double>(); nan && std::isnan(*nan))
      continue;
    EXPECT_EQ(kv.value, values[i].second) << kv.key;
  }
  EXPECT_TRUE(std::isnan(*file->lookup("t.f64.nan")->getIf<double>()));
  EXPECT_TRUE(std::signbit(*file->lookup("t.f64")->getIf<double>()));
  EXPECT_EQ(file->lookup("t.str")->getIf<std::string>()->size(), 8u);
  EXPECT_EQ(file->lookup("t.arr.u32")->getElementType(), GGUFValueType::UInt32);
}

TEST(GGUFRoundTrip, typed_getters) {
  TempDir dir;
  GGUFWriter writer;
  ASSERT_FALSE(llvm::errorToBool(writer.addKV("a.u32", uint32_t(4096))));
  ASSERT_FALSE(llvm::errorToBool(writer.addKV("a.str", "phi3")));
  ASSERT_FALSE(
      llvm::errorToBool(writer.addKV("a.scores", std::vector<float>{1, 2})));
  std::string path = dir.path("get.gguf");
  ASSERT_FALSE(llvm::errorToBool(writer.write(path)));
  std::unique_ptr<GGUFFile> file = openOrFail(path);
  ASSERT_TRUE(file);

  EXPECT_EQ(cantFail(file->get<uint32_t>("a.u32")), 4096u);
  EXPECT_EQ(cantFail(file->get<std::string>("a.str")), "phi3");
  EXPECT_EQ(cantFail(file->get<std::vector<float>>("a.scores")).size(), 2u);
  EXPECT_EQ(cantFail(file->getInteger("a.u32")), 4096);
  EXPECT_EQ(cantFail(file->getOptional<uint32_t>("a.none")), std::nullopt);
  EXPECT_EQ(cantFail(file->getOptional<std::string>("a.str")), "phi3");

  llvm::Expected<const uint64_t &> wrong = file->get<uint64_t>("a.u32");
  ASSERT_FALSE(wrong);
  EXPECT_TRUE(contains(llvm::toString(wrong.takeError()),
                       "get.gguf: key 'a.u32' has type u32 4096, expected "
                       "u64"));
  llvm::Expected<const std::string &> missing = file->get<std::string>("a.x");
  ASSERT_FALSE(missing);
  EXPECT_TRUE(contains(llvm::toString(missing.takeError()),
                       "get.gguf: missing key 'a.x'"));
  llvm::Expected<int64_t> notInteger = file->getInteger("a.str");
  ASSERT_FALSE(notInteger);
  EXPECT_TRUE(contains(llvm::toString(notInteger.takeError()),
                       "key 'a.str' has type str, expected an integer"));
  llvm::Expected<std::optional<float>> optionalWrong =
      file->getOptional<float>("a.u32");
  EXPECT_FALSE(optionalWrong);
  llvm::consumeError(optionalWrong.takeError());
}

struct TensorSpec {
  const char *name;
  GGMLType type;
  std::vector<uint64_t> dims;
  uint64_t bytes;
};

const TensorSpec kTensors[] = {
    {"token_embd.weight", GGMLType::Q8_0, {64, 3}, 2 * 34 * 3},
    {"blk.0.attn_norm.weight", GGMLType::F32, {5}, 20},
    {"blk.0.ffn_up.weight", GGMLType::Q4_K, {256, 2}, 2 * 144},
    {"blk.0.ffn_down.weight", GGMLType::Q6_K, {256, 1, 1}, 210},
    {"blk.0.attn_q.weight", GGMLType::F16, {3, 2, 2, 1}, 24},
    {"blk.0.attn_k.weight", GGMLType::BF16, {7}, 14},
    {"blk.0.attn_v.weight", GGMLType::IQ4_NL, {32}, 18},
    {"blk.0.x.q4_0", GGMLType::Q4_0, {32}, 18},
    {"blk.0.x.q4_1", GGMLType::Q4_1, {32}, 20},
    {"blk.0.x.q5_0", GGMLType::Q5_0, {32}, 22},
    {"blk.0.x.q5_1", GGMLType::Q5_1, {32}, 24},
    {"blk.0.x.q2_k", GGMLType::Q2_K, {256}, 84},
    {"blk.0.x.q3_k", GGMLType::Q3_K, {256}, 110},
    {"blk.0.x.q5_k", GGMLType::Q5_K, {256}, 176},
};

/// Writes kTensors (seed = index) with `alignment` (0: default) and opens it.
std::unique_ptr<GGUFFile> writeTensors(const TempDir &dir, uint32_t alignment,
                                       uint64_t *expectedSize = nullptr) {
  GGUFWriter writer;
  EXPECT_FALSE(llvm::errorToBool(writer.addKV("general.architecture", "phi3")));
  if (alignment) {
    EXPECT_FALSE(
        llvm::errorToBool(writer.addKV("general.alignment", alignment)));
  }
  for (auto [index, spec] : llvm::enumerate(kTensors))
    EXPECT_FALSE(llvm::errorToBool(writer.addTensor(
        spec.name, spec.type, spec.dims, spec.bytes, pattern(index))));
  if (expectedSize)
    *expectedSize = cantFail(writer.computeFileSize());
  std::string path = dir.path("t" + std::to_string(alignment) + ".gguf");
  EXPECT_FALSE(llvm::errorToBool(writer.write(path)));
  return openOrFail(path);
}

void expectTensorsBack(const GGUFFile &file, uint32_t alignment) {
  EXPECT_EQ(file.getAlignment(), alignment);
  EXPECT_EQ(file.getDataOffset() % alignment, 0u);
  ASSERT_EQ(file.getTensors().size(), std::size(kTensors));
  uint64_t expectedOffset = 0;
  for (auto [index, spec] : llvm::enumerate(kTensors)) {
    const GGUFTensor &tensor = file.getTensors()[index];
    SCOPED_TRACE(spec.name);
    EXPECT_EQ(tensor.getName(), spec.name);
    EXPECT_EQ(tensor.getType(), spec.type);
    EXPECT_EQ(tensor.getDims(), llvm::ArrayRef<uint64_t>(spec.dims));
    EXPECT_EQ(tensor.getByteSize(), spec.bytes);
    // ggml's layout: in order, each padded to the alignment.
    EXPECT_EQ(tensor.getOffset(), expectedOffset);
    expectedOffset += *alignUp(spec.bytes, alignment);
    EXPECT_TRUE(hasPattern(tensor.data(), index));
    // open() aligns even the copy of a small file like a mapped page.
    EXPECT_EQ(reinterpret_cast<uintptr_t>(tensor.data().data()) %
                  std::min<uint32_t>(alignment, 4096),
              0u);
    EXPECT_EQ(file.lookupTensor(spec.name), &tensor);
  }
  EXPECT_EQ(file.getBuffer().getBufferSize(),
            file.getDataOffset() + expectedOffset);
  EXPECT_EQ(file.lookupTensor("missing"), nullptr);
}

TEST(GGUFRoundTrip, tensors_with_default_alignment) {
  TempDir dir;
  uint64_t size = 0;
  std::unique_ptr<GGUFFile> file = writeTensors(dir, 0, &size);
  ASSERT_TRUE(file);
  expectTensorsBack(*file, 32);
  EXPECT_EQ(file->lookup("general.alignment"), nullptr);
  EXPECT_EQ(file->getBuffer().getBufferSize(), size);
}

TEST(GGUFRoundTrip, tensors_with_custom_alignment) {
  for (uint32_t alignment : {1u, 64u, 4096u}) {
    SCOPED_TRACE(alignment);
    TempDir dir;
    std::unique_ptr<GGUFFile> file = writeTensors(dir, alignment);
    ASSERT_TRUE(file);
    expectTensorsBack(*file, alignment);
    EXPECT_EQ(cantFail(file->get<uint32_t>("general.alignment")), alignment);
  }
}

TEST(GGUFRoundTrip, padding_is_zero) {
  TempDir dir;
  std::unique_ptr<GGUFFile> file = writeTensors(dir, 64);
  ASSERT_TRUE(file);
  llvm::StringRef all = file->getBuffer().getBuffer();
  for (const GGUFTensor &tensor : file->getTensors()) {
    uint64_t end =
        file->getDataOffset() + tensor.getOffset() + tensor.getByteSize();
    uint64_t paddedEnd = *alignUp(end, 64);
    for (uint64_t i = end; i < paddedEnd; ++i)
      ASSERT_EQ(all[i], 0) << tensor.getName().str() << " byte " << i;
  }
}

TEST(GGUFRoundTrip, opening_maps_and_does_not_copy_tensor_data) {
  TempDir dir;
  GGUFWriter writer;
  // 1 MiB, well above MemoryBuffer's threshold for mapping.
  ASSERT_FALSE(llvm::errorToBool(
      writer.addTensor("big", GGMLType::F32, {65536, 4}, 1 << 20, pattern(1))));
  ASSERT_FALSE(llvm::errorToBool(
      writer.addTensor("small", GGMLType::Q8_0, {32}, 34, pattern(2))));
  std::string path = dir.path("big.gguf");
  ASSERT_FALSE(llvm::errorToBool(writer.write(path)));

  std::unique_ptr<GGUFFile> file = openOrFail(path);
  ASSERT_TRUE(file);
  const llvm::MemoryBuffer &buffer = file->getBuffer();
  EXPECT_EQ(buffer.getBufferKind(), llvm::MemoryBuffer::MemoryBuffer_MMap);
  const uint8_t *begin =
      reinterpret_cast<const uint8_t *>(buffer.getBufferStart());
  const uint8_t *end = begin + buffer.getBufferSize();
  for (const GGUFTensor &tensor : file->getTensors()) {
    EXPECT_GE(tensor.data().data(), begin);
    EXPECT_LE(tensor.data().data() + tensor.data().size(), end);
    EXPECT_EQ(tensor.data().data(),
              begin + file->getDataOffset() + tensor.getOffset());
  }
  EXPECT_TRUE(hasPattern(file->lookupTensor("big")->data(), 1));
}

} // namespace
