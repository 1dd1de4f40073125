//===- SafetensorsTest.cpp - Tests of reading valid checkpoints -*- C++ -*-===//
//
// Opens the embedded tiny Phi models and files built with the header writer,
// and pins the store's promises: names, dtypes and shapes as written, data
// pointers into the mapping (no copies), and that opening a store does not
// read tensor bytes.
//
//===----------------------------------------------------------------------===//
#include "TestFiles.h"

#include "phiq/Params/Convert.h"
#include "phiq/Params/ParamStore.h"
#include "phiq/Params/Safetensors.h"

#include "llvm/Support/Process.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>

#ifdef __linux__
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#endif

using namespace phiq::params;
using namespace phiq::params::test;

namespace {

const std::string kTinyPhi35 = PHIQ_MODELS_DIR "/phi35-tiny";
const std::string kTinyPhi4 = PHIQ_MODELS_DIR "/phi4-mini-tiny";

std::unique_ptr<ParamStore> openOrFail(llvm::StringRef path) {
  auto store = openSafetensors(path);
  if (!store) {
    ADD_FAILURE() << llvm::toString(store.takeError());
    return nullptr;
  }
  return std::move(*store);
}

void expectShape(const ParamStore &store, llvm::StringRef name,
                 std::vector<int64_t> shape) {
  const TensorRef *tensor = store.lookup(name);
  ASSERT_NE(tensor, nullptr) << name.str();
  EXPECT_EQ(tensor->dtype, DType::BF16) << name.str();
  EXPECT_EQ(std::vector<int64_t>(tensor->shape.begin(), tensor->shape.end()),
            shape)
      << name.str();
  EXPECT_EQ(tensor->data.size(), tensor->numElements() * 2) << name.str();
}

TEST(SafetensorsTest, OpensTinyPhi35WithItsTensorNamesAndShapes) {
  auto store = openOrFail(kTinyPhi35 + "/model.safetensors");
  ASSERT_TRUE(store);
  std::vector<llvm::StringRef> names = store->names();
  EXPECT_EQ(names.size(), 3u + 6u * 6u);
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  expectShape(*store, "model.embed_tokens.weight", {3520, 256});
  expectShape(*store, "lm_head.weight", {3520, 256});
  expectShape(*store, "model.norm.weight", {256});
  for (int layer = 0; layer < 6; ++layer) {
    std::string prefix = "model.layers." + std::to_string(layer) + ".";
    expectShape(*store, prefix + "input_layernorm.weight", {256});
    expectShape(*store, prefix + "post_attention_layernorm.weight", {256});
    expectShape(*store, prefix + "self_attn.qkv_proj.weight", {768, 256});
    expectShape(*store, prefix + "self_attn.o_proj.weight", {256, 256});
    expectShape(*store, prefix + "mlp.gate_up_proj.weight", {1536, 256});
    expectShape(*store, prefix + "mlp.down_proj.weight", {256, 768});
  }
  EXPECT_EQ(store->lookup("model.layers.6.input_layernorm.weight"), nullptr);
  EXPECT_EQ(store->lookup(""), nullptr);

  ASSERT_EQ(store->files().size(), 1u);
  const ParamFile &file = store->files()[0];
  ASSERT_EQ(file.metadata.size(), 1u);
  EXPECT_EQ(file.metadata[0].first, "format");
  EXPECT_EQ(file.metadata[0].second, "pt");
}

TEST(SafetensorsTest, TensorDataPointsIntoTheMappedFile) {
  auto store = openOrFail(kTinyPhi35 + "/model.safetensors");
  ASSERT_TRUE(store);
  ASSERT_EQ(store->files().size(), 1u);
  const ParamFile &file = store->files()[0];
  EXPECT_EQ(file.bytes.size(), 13839000u);
  EXPECT_EQ(file.dataOffset, 8u + 4240u);
  for (llvm::StringRef name : store->names()) {
    const TensorRef *tensor = store->lookup(name);
    EXPECT_EQ(tensor->file, file.path);
    // Not a copy: the exact bytes of the mapping at the file offset.
    EXPECT_EQ(tensor->data.data(), file.bytes.data() + tensor->fileOffset)
        << name.str();
    EXPECT_GE(tensor->fileOffset, file.dataOffset);
    EXPECT_LE(tensor->fileOffset + tensor->data.size(), file.bytes.size());
  }
}

TEST(SafetensorsTest, OpensAFolderHoldingModelSafetensors) {
  auto store = openOrFail(kTinyPhi35);
  ASSERT_TRUE(store);
  EXPECT_EQ(store->path(), kTinyPhi35);
  EXPECT_EQ(store->names().size(), 39u);
}

TEST(SafetensorsTest, TiedPhi4MiniHasNoLmHead) {
  auto store = openOrFail(kTinyPhi4);
  ASSERT_TRUE(store);
  EXPECT_EQ(store->lookup("lm_head.weight"), nullptr);
  expectShape(*store, "model.embed_tokens.weight", {4032, 256});
  expectShape(*store, "model.layers.0.self_attn.qkv_proj.weight", {384, 256});
}

TEST(SafetensorsTest, TinyNormWeightsConvertToFiniteFloats) {
  auto store = openOrFail(kTinyPhi35);
  ASSERT_TRUE(store);
  const TensorRef *norm = store->lookup("model.norm.weight");
  ASSERT_NE(norm, nullptr);
  std::vector<float> values(norm->numElements());
  convertToF32(norm->dtype, norm->data.data(), values.data(), values.size());
  for (float value : values)
    EXPECT_TRUE(std::isfinite(value));
}

TEST(SafetensorsTest, ReadsBackWhatTheHeaderWriterDescribes) {
  TempDir dir;
  std::vector<TensorLayout> layouts = {
      {"u8", DType::U8, {3}}, // odd size: next tensor is unaligned
      {"bf16", DType::BF16, {5}},
      {"scalar", DType::F64, {}},    // empty shape: one element
      {"empty", DType::I32, {0, 4}}, // no bytes
      {"f32", DType::F32, {2, 2}},
  };
  uint64_t dataBytes = 0;
  std::string header = buildSafetensorsHeader(
      layouts, {{"format", "pt"}, {"note", "x"}}, dataBytes);
  EXPECT_EQ(dataBytes, 3u + 10u + 8u + 0u + 16u);
  EXPECT_EQ(header.size() % 8, 0u) << "data must start 8-byte aligned";
  std::string data(dataBytes, '\0');
  for (size_t i = 0; i < data.size(); ++i)
    data[i] = static_cast<char>(i * 7 + 1);
  std::string path = dir.file("w.safetensors");
  writeFile(path, header + data);

  auto store = openOrFail(path);
  ASSERT_TRUE(store);
  EXPECT_EQ(store->names(), (std::vector<llvm::StringRef>{
                                "bf16", "empty", "f32", "scalar", "u8"}));
  uint64_t dataStart = header.size();
  uint64_t offset = 0;
  for (const TensorLayout &layout : layouts) {
    const TensorRef *tensor = store->lookup(layout.name);
    ASSERT_NE(tensor, nullptr);
    EXPECT_EQ(tensor->dtype, layout.dtype);
    EXPECT_EQ(tensor->shape, layout.shape);
    EXPECT_EQ(tensor->fileOffset, dataStart + offset);
    EXPECT_EQ(tensor->data.size(), layout.byteSize());
    EXPECT_EQ(0, std::memcmp(tensor->data.data(), data.data() + offset,
                             tensor->data.size()));
    offset += layout.byteSize();
  }
  EXPECT_EQ(store->lookup("scalar")->numElements(), 1);
  EXPECT_EQ(store->lookup("empty")->numElements(), 0);
  const ParamFile &file = store->files()[0];
  EXPECT_EQ(file.metadata, (std::vector<std::pair<std::string, std::string>>{
                               {"format", "pt"}, {"note", "x"}}));
}

TEST(SafetensorsTest, AcceptsAFileWithNoTensors) {
  TempDir dir;
  std::string path = dir.file("empty.safetensors");
  writeFile(path, safetensorsBytes("{\"__metadata__\": {}}  ", 0));
  auto store = openOrFail(path);
  ASSERT_TRUE(store);
  EXPECT_TRUE(store->names().empty());
}

TEST(SafetensorsTest, AcceptsZeroSizedTensorsAtAnyBoundary) {
  TempDir dir;
  std::string path = dir.file("z.safetensors");
  writeFile(path,
            safetensorsBytes(
                R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},)"
                R"("b":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                R"("c":{"dtype":"F16","shape":[2,0],"data_offsets":[4,4]}})",
                4));
  auto store = openOrFail(path);
  ASSERT_TRUE(store);
  EXPECT_EQ(store->names().size(), 3u);
}

#ifdef __linux__
/// How many pages of [begin, begin + size) are in the page cache.
size_t residentPages(const uint8_t *begin, size_t size) {
  size_t page = llvm::sys::Process::getPageSizeEstimate();
  uintptr_t start = reinterpret_cast<uintptr_t>(begin) & ~(page - 1);
  uintptr_t end = reinterpret_cast<uintptr_t>(begin) + size;
  std::vector<unsigned char> residency((end - start + page - 1) / page);
  if (mincore(reinterpret_cast<void *>(start), end - start, residency.data()) !=
      0)
    return SIZE_MAX;
  size_t count = 0;
  for (unsigned char flags : residency)
    count += flags & 1;
  return count;
}

TEST(SafetensorsTest, OpeningDoesNotReadTensorBytes) {
  // A 48 MiB tensor written, flushed and dropped from the page cache; after
  // opening the store its pages must still be absent from memory.
  TempDir dir;
  std::string path = dir.file("big.safetensors");
  constexpr size_t kBytes = size_t(48) << 20;
  uint64_t dataBytes = 0;
  std::string header = buildSafetensorsHeader(
      {{"big", DType::BF16, {int64_t(kBytes / 2)}}}, {}, dataBytes);
  ASSERT_EQ(dataBytes, kBytes);
  writeFile(path, header + std::string(kBytes, '\x3f'));

  int fd = ::open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ::fdatasync(fd);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);

  auto store = openOrFail(path);
  ASSERT_TRUE(store);
  const TensorRef *big = store->lookup("big");
  ASSERT_NE(big, nullptr);
  ASSERT_EQ(big->data.size(), kBytes);
  // Skip the first 16 MiB: faulting in the header page may read ahead.
  const uint8_t *tail = big->data.data() + (size_t(16) << 20);
  size_t tailSize = kBytes - (size_t(16) << 20);
  size_t resident = residentPages(tail, tailSize);
  if (resident == SIZE_MAX)
    GTEST_SKIP() << "mincore failed";
  if (resident > 0) {
    // Either opening read the data, or the cache was never dropped (e.g.
    // tmpfs). Distinguish by dropping again and checking the drop works.
    store.reset();
    fd = ::open(path.c_str(), O_RDONLY);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    void *map =
        ::mmap(nullptr, header.size() + kBytes, PROT_READ, MAP_SHARED, fd, 0);
    ::close(fd);
    ASSERT_NE(map, MAP_FAILED);
    size_t still = residentPages(static_cast<const uint8_t *>(map) +
                                     header.size() + (size_t(16) << 20),
                                 tailSize);
    ::munmap(map, header.size() + kBytes);
    if (still > 0)
      GTEST_SKIP() << "this file system keeps pages cached; cannot tell";
    FAIL() << resident << " pages of tensor data were read by opening";
  }
}
#endif

} // namespace
