//===- GGUFStoreTest.cpp - A GGUF file as a parameter store -----*- C++ -*-===//
//
// The store over a mapped GGUF file: names, dtypes and shapes (ggml dims
// reversed; block formats as raw U8 bytes), data pointing into the mapping
// at the right offsets, and opening through the store registry by magic or
// extension, with the reader's errors surfacing with the path.
//
//===----------------------------------------------------------------------===//
#include "phiq/Target/GGUF/GGUFStore.h"

#include "phiq/Params/StoreRegistry.h"
#include "phiq/Target/GGUF/GGUFWriter.h"

#include "GGUFTestUtils.h"

#include "llvm/Support/FileSystem.h"

#include "gtest/gtest.h"

using namespace phiq::gguf;
using phiq::gguf::test::contains;
using phiq::gguf::test::TempDir;
namespace params = phiq::params;

namespace {

/// Fills a span with (i * 3 + seed) mod 256.
GGUFWriter::FillFn pattern(unsigned seed) {
  return [seed](llvm::MutableArrayRef<uint8_t> out) {
    for (size_t i = 0; i < out.size(); ++i)
      out[i] = static_cast<uint8_t>(i * 3 + seed);
    return llvm::Error::success();
  };
}

bool hasPattern(llvm::ArrayRef<uint8_t> bytes, unsigned seed) {
  for (size_t i = 0; i < bytes.size(); ++i)
    if (bytes[i] != static_cast<uint8_t>(i * 3 + seed))
      return false;
  return true;
}

/// A file with one tensor of each kind the store distinguishes.
std::string writeSample(const TempDir &dir, llvm::StringRef name) {
  GGUFWriter writer;
  llvm::cantFail(writer.addKV("general.architecture", "phi3"));
  // [rows = 3, cols = 2] in PyTorch order.
  llvm::cantFail(
      writer.addTensor("w.f32", GGMLType::F32, {2, 3}, 24, pattern(1)));
  llvm::cantFail(writer.addTensor("v.f16", GGMLType::F16, {5}, 10, pattern(2)));
  llvm::cantFail(
      writer.addTensor("m.bf16", GGMLType::BF16, {4, 2}, 16, pattern(3)));
  // Two rows of one Q8_0 block (34 bytes) each.
  llvm::cantFail(
      writer.addTensor("q.q8", GGMLType::Q8_0, {32, 2}, 68, pattern(4)));
  // Stacked: 4 experts of [3 rows, 256 cols] Q4_K (144 bytes a row).
  llvm::cantFail(writer.addTensor("e.q4k", GGMLType::Q4_K, {256, 3, 4},
                                  4 * 3 * 144, pattern(5)));
  std::string path = dir.path(name);
  llvm::cantFail(writer.write(path));
  return path;
}

TEST(GGUFStore, exposes_float_tensors_with_dtype_and_reversed_dims) {
  TempDir dir;
  auto store = openGGUFStore(writeSample(dir, "s.gguf"));
  ASSERT_TRUE(!!store) << llvm::toString(store.takeError());
  const params::TensorRef *w = (*store)->lookup("w.f32");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->dtype, params::DType::F32);
  EXPECT_EQ(std::vector<int64_t>(w->shape.begin(), w->shape.end()),
            (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(w->numElements(), 6);
  EXPECT_EQ(w->data.size(), 24u);
  EXPECT_TRUE(hasPattern(w->data, 1));

  const params::TensorRef *v = (*store)->lookup("v.f16");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->dtype, params::DType::F16);
  EXPECT_EQ(std::vector<int64_t>(v->shape.begin(), v->shape.end()),
            (std::vector<int64_t>{5}));
  EXPECT_TRUE(hasPattern(v->data, 2));

  const params::TensorRef *m = (*store)->lookup("m.bf16");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->dtype, params::DType::BF16);
  EXPECT_EQ(std::vector<int64_t>(m->shape.begin(), m->shape.end()),
            (std::vector<int64_t>{2, 4}));
}

TEST(GGUFStore, exposes_block_formats_as_raw_bytes) {
  TempDir dir;
  auto store = openGGUFStore(writeSample(dir, "s.gguf"));
  ASSERT_TRUE(!!store) << llvm::toString(store.takeError());
  const params::TensorRef *q = (*store)->lookup("q.q8");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->dtype, params::DType::U8);
  EXPECT_EQ(std::vector<int64_t>(q->shape.begin(), q->shape.end()),
            (std::vector<int64_t>{68}));
  EXPECT_TRUE(hasPattern(q->data, 4));
  const params::TensorRef *e = (*store)->lookup("e.q4k");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->dtype, params::DType::U8);
  EXPECT_EQ(std::vector<int64_t>(e->shape.begin(), e->shape.end()),
            (std::vector<int64_t>{4 * 3 * 144}));
  EXPECT_TRUE(hasPattern(e->data, 5));
}

TEST(GGUFStore, data_points_into_the_mapped_file_at_its_offset) {
  TempDir dir;
  std::string path = writeSample(dir, "s.gguf");
  auto store = openGGUFStore(path);
  ASSERT_TRUE(!!store) << llvm::toString(store.takeError());
  ASSERT_EQ((*store)->files().size(), 1u);
  const params::ParamFile &file = (*store)->files().front();
  EXPECT_EQ(file.path, path);
  EXPECT_EQ((*store)->path(), path);
  std::string bytes = test::readFile(path);
  ASSERT_EQ(file.bytes.size(), bytes.size());
  for (llvm::StringRef name : (*store)->names()) {
    const params::TensorRef *t = (*store)->lookup(name);
    EXPECT_EQ(t->file, path);
    // The view lies inside the mapping, where fileOffset says.
    EXPECT_EQ(t->data.data(), file.bytes.data() + t->fileOffset) << name.str();
    EXPECT_EQ(llvm::StringRef(bytes).substr(t->fileOffset, t->data.size()),
              llvm::StringRef(reinterpret_cast<const char *>(t->data.data()),
                              t->data.size()))
        << name.str();
    EXPECT_GE(t->fileOffset, file.dataOffset);
  }
}

TEST(GGUFStore, names_are_sorted_and_unknown_names_are_null) {
  TempDir dir;
  auto store = openGGUFStore(writeSample(dir, "s.gguf"));
  ASSERT_TRUE(!!store) << llvm::toString(store.takeError());
  std::vector<llvm::StringRef> names = (*store)->names();
  EXPECT_EQ(names, (std::vector<llvm::StringRef>{"e.q4k", "m.bf16", "q.q8",
                                                 "v.f16", "w.f32"}));
  EXPECT_EQ((*store)->lookup("nope"), nullptr);
}

TEST(GGUFStore, registry_opens_gguf_by_magic_and_safetensors_otherwise) {
  registerGGUFStore();
  TempDir dir;
  // A GGUF file under another extension is still recognized by its magic.
  std::string path = writeSample(dir, "renamed.bin");
  auto store = params::openParamStore(path);
  ASSERT_TRUE(!!store) << llvm::toString(store.takeError());
  EXPECT_NE((*store)->lookup("q.q8"), nullptr);
  // A checkpoint folder still opens as safetensors.
  auto hf = params::openParamStore(PHIQ_MODELS_DIR "/phi35-tiny");
  ASSERT_TRUE(!!hf) << llvm::toString(hf.takeError());
  EXPECT_NE((*hf)->lookup("model.norm.weight"), nullptr);
}

TEST(GGUFStore, registry_reports_a_truncated_gguf_with_its_path) {
  registerGGUFStore();
  TempDir dir;
  std::string bytes = test::readFile(writeSample(dir, "s.gguf"));
  std::string cut = dir.path("cut.gguf");
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(cut, ec);
    ASSERT_FALSE(ec);
    os << llvm::StringRef(bytes).drop_back(100);
  }
  auto store = params::openParamStore(cut);
  ASSERT_FALSE(!!store);
  std::string message = llvm::toString(store.takeError());
  EXPECT_TRUE(contains(message, cut));
  EXPECT_TRUE(contains(message, "run past the end of the file"));
  // Too short for the magic, but named .gguf: the GGUF reader explains.
  std::string tiny = dir.path("tiny.gguf");
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(tiny, ec);
    os << "GG";
  }
  auto small = params::openParamStore(tiny);
  ASSERT_FALSE(!!small);
  EXPECT_TRUE(contains(llvm::toString(small.takeError()), tiny));
}

TEST(GGUFStore, shapes_follow_the_type) {
  EXPECT_EQ(getElementDType(GGMLType::F32), params::DType::F32);
  EXPECT_EQ(getElementDType(GGMLType::I32), params::DType::I32);
  EXPECT_EQ(getElementDType(GGMLType::Q4_K), std::nullopt);
  EXPECT_EQ(getStoreShape(GGMLType::F16, {7, 3, 2}, 84),
            (llvm::SmallVector<int64_t, 4>{2, 3, 7}));
  EXPECT_EQ(getStoreShape(GGMLType::Q8_0, {32, 3}, 102),
            (llvm::SmallVector<int64_t, 4>{102}));
}

} // namespace
