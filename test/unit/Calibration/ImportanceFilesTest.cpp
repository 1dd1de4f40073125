//===- ImportanceFilesTest.cpp - Statistics and imatrix files ---*- C++ -*-===//
//
// Round trips through the three files of phiq/Calibration/Importance.h:
// what is written is what lookup() returns (sum / count per column), under
// either naming (checkpoint key or GGUF name), per expert for stacked
// entries; and the errors for shapes that disagree and for broken files.
//
//===----------------------------------------------------------------------===//
#include "phiq/Calibration/Importance.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

#include <cstring>

using namespace phiq::calib;

namespace {

class ImportanceFiles : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("phiq-importance", dir));
  }
  void TearDown() override { llvm::sys::fs::remove_directories(dir); }
  std::string path(llvm::StringRef name) {
    llvm::SmallString<128> p(dir);
    llvm::sys::path::append(p, name);
    return p.str().str();
  }
  llvm::SmallString<128> dir;

  /// Two dense weights and the four experts of one PhiMoE projection, the
  /// third expert never routed to.
  std::vector<WeightStatistics> sample() {
    std::vector<WeightStatistics> w;
    auto make = [](std::string key, int64_t cols, float scale, float count) {
      WeightStatistics s;
      s.key = std::move(key);
      s.cols = cols;
      for (int64_t c = 0; c < cols; ++c) {
        s.sumsq.push_back(scale * float(c + 1) * count);
        s.absmax.push_back(scale * float(c));
      }
      s.counts = {count};
      return s;
    };
    w.push_back(make("model.layers.0.self_attn.qkv_proj.weight", 8, 1.0f, 10));
    w.push_back(make("model.layers.0.mlp.down_proj.weight", 16, 2.0f, 10));
    for (int e = 0; e < 4; ++e)
      w.push_back(make("model.layers.1.block_sparse_moe.experts." +
                           std::to_string(e) + ".w1.weight",
                       8, float(e + 1), e == 2 ? 0.0f : float(3 + e)));
    return w;
  }
};

/// The mean squared activation sample() encodes: scale * (c + 1).
void expectMeans(const std::vector<float> &values, float scale) {
  for (size_t c = 0; c < values.size(); ++c)
    EXPECT_FLOAT_EQ(values[c], scale * float(c + 1)) << "column " << c;
}

TEST_F(ImportanceFiles, statistics_store_round_trip) {
  std::vector<WeightStatistics> stats = sample();
  stats[0].hessian.assign(64, 0.5f);
  ASSERT_FALSE(bool(writeStatisticsFile(path("s.safetensors"), stats,
                                        {{"format", "phiq-calibration"}})));
  auto table = ImportanceTable::open(path("s.safetensors"));
  ASSERT_TRUE(bool(table)) << llvm::toString(table.takeError());
  EXPECT_EQ((*table)->format(), ImportanceTable::Format::PhiQStatistics);
  EXPECT_EQ((*table)->names().size(), 6u);
  auto qkv = (*table)->lookup("model.layers.0.self_attn.qkv_proj.weight", 8);
  ASSERT_TRUE(qkv && *qkv);
  expectMeans(**qkv, 1.0f);
  // A GGUF name finds nothing in a store keyed by checkpoint names, but
  // the checkpoint name of a GGUF-keyed model is looked up through the map.
  auto missing = (*table)->lookup("model.layers.5.mlp.down_proj.weight", 16);
  ASSERT_TRUE(bool(missing));
  EXPECT_FALSE(missing->has_value());
  // An expert that saw no token has no preference.
  auto idle = (*table)->lookup(
      "model.layers.1.block_sparse_moe.experts.2.w1.weight", 8);
  ASSERT_TRUE(idle && *idle);
  EXPECT_EQ(**idle, std::vector<float>(8, 1.0f));
}

TEST_F(ImportanceFiles, gguf_imatrix_round_trip_with_llama_cpp_names) {
  auto entries = toImatrixEntries(sample());
  ASSERT_TRUE(bool(entries)) << llvm::toString(entries.takeError());
  // Sorted GGUF names; the experts gathered into one stacked entry.
  ASSERT_EQ(entries->size(), 3u);
  EXPECT_EQ((*entries)[0].name, "blk.0.attn_qkv.weight");
  EXPECT_EQ((*entries)[1].name, "blk.0.ffn_down.weight");
  EXPECT_EQ((*entries)[2].name, "blk.1.ffn_gate_exps.weight");
  EXPECT_EQ((*entries)[2].counts, (std::vector<float>{3, 4, 0, 6}));
  ASSERT_FALSE(bool(writeImatrixGGUF(path("i.gguf"), *entries,
                                     {{"calib.i32"}, 4, 512})));
  auto table = ImportanceTable::open(path("i.gguf"));
  ASSERT_TRUE(bool(table)) << llvm::toString(table.takeError());
  EXPECT_EQ((*table)->format(), ImportanceTable::Format::GGUFImatrix);
  // Checkpoint keys find their GGUF entries, experts their slice.
  auto down = (*table)->lookup("model.layers.0.mlp.down_proj.weight", 16);
  ASSERT_TRUE(down && *down);
  expectMeans(**down, 2.0f);
  for (int e : {0, 1, 3}) {
    auto expert = (*table)->lookup(
        "model.layers.1.block_sparse_moe.experts." + std::to_string(e) +
            ".w1.weight",
        8);
    ASSERT_TRUE(expert && *expert);
    expectMeans(**expert, float(e + 1));
  }
  // The stacked entry as a whole, by its GGUF name.
  auto stacked = (*table)->lookup("blk.1.ffn_gate_exps.weight", 8, 4);
  ASSERT_TRUE(stacked && *stacked);
  EXPECT_EQ((*stacked)->size(), 32u);
}

TEST_F(ImportanceFiles, legacy_imatrix_round_trip) {
  auto entries = toImatrixEntries(sample());
  ASSERT_TRUE(bool(entries));
  ASSERT_FALSE(bool(writeImatrixLegacy(path("i.dat"), *entries,
                                       {{"calib.i32"}, 4, 512})));
  auto table = ImportanceTable::open(path("i.dat"));
  ASSERT_TRUE(bool(table)) << llvm::toString(table.takeError());
  EXPECT_EQ((*table)->format(), ImportanceTable::Format::LegacyImatrix);
  auto qkv = (*table)->lookup("model.layers.0.self_attn.qkv_proj.weight", 8);
  ASSERT_TRUE(qkv && *qkv);
  expectMeans(**qkv, 1.0f);
  auto expert = (*table)->lookup(
      "model.layers.1.block_sparse_moe.experts.3.w1.weight", 8);
  ASSERT_TRUE(expert && *expert);
  expectMeans(**expert, 4.0f);
  // llama.cpp stores 1 for an expert without data.
  auto idle = (*table)->lookup(
      "model.layers.1.block_sparse_moe.experts.2.w1.weight", 8);
  ASSERT_TRUE(idle && *idle);
  EXPECT_EQ(**idle, std::vector<float>(8, 1.0f));
}

TEST_F(ImportanceFiles, shape_disagreement_names_file_and_tensor) {
  auto entries = toImatrixEntries(sample());
  ASSERT_TRUE(bool(entries));
  ASSERT_FALSE(bool(writeImatrixGGUF(path("i.gguf"), *entries, {})));
  auto table = ImportanceTable::open(path("i.gguf"));
  ASSERT_TRUE(bool(table));
  auto wrong = (*table)->lookup("model.layers.0.mlp.down_proj.weight", 12);
  ASSERT_FALSE(bool(wrong));
  std::string message = llvm::toString(wrong.takeError());
  EXPECT_NE(message.find("i.gguf"), std::string::npos) << message;
  EXPECT_NE(message.find("blk.0.ffn_down.weight"), std::string::npos)
      << message;
}

TEST_F(ImportanceFiles, truncated_legacy_file_is_an_error) {
  auto entries = toImatrixEntries(sample());
  ASSERT_TRUE(bool(entries));
  ASSERT_FALSE(bool(writeImatrixLegacy(path("i.dat"), *entries, {})));
  {
    auto whole = llvm::MemoryBuffer::getFile(path("i.dat"));
    ASSERT_TRUE(bool(whole));
    std::string half = (*whole)->getBuffer().take_front(
        (*whole)->getBufferSize() / 2).str();
    std::error_code ec;
    llvm::raw_fd_ostream os(path("i.dat"), ec);
    ASSERT_FALSE(ec);
    os << half;
  }
  auto table = ImportanceTable::open(path("i.dat"));
  ASSERT_FALSE(bool(table));
  EXPECT_NE(llvm::toString(table.takeError()).find("i.dat"),
            std::string::npos);
}

TEST_F(ImportanceFiles, key_without_gguf_name_cannot_go_to_imatrix) {
  WeightStatistics s;
  s.key = "inline.3";
  s.cols = 4;
  s.sumsq.assign(4, 1.0f);
  s.absmax.assign(4, 1.0f);
  s.counts = {1};
  auto entries = toImatrixEntries({s});
  ASSERT_FALSE(bool(entries));
  EXPECT_NE(llvm::toString(entries.takeError()).find("inline.3"),
            std::string::npos);
}

} // namespace
