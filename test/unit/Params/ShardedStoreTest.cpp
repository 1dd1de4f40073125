//===- ShardedStoreTest.cpp - Tests of sharded checkpoints ------*- C++ -*-===//
//
// Builds sharded checkpoints (shards plus model.safetensors.index.json) in
// a temporary folder and checks that the store joins them, that a folder's
// index wins over a model.safetensors next to it, and that every mismatch
// between index and shards is an error naming the file and the tensor.
//
//===----------------------------------------------------------------------===//
#include "TestFiles.h"

#include "phiq/Params/ParamStore.h"
#include "phiq/Params/Safetensors.h"
#include "phiq/Params/ShardIndex.h"

#include "gtest/gtest.h"

using namespace phiq::params;
using namespace phiq::params::test;

namespace {

class ShardedStoreTest : public ::testing::Test {
protected:
  /// Writes shard `name` holding U8 tensors of the given names, each of
  /// `size` bytes filled with the tensor's index + 1.
  void writeShard(llvm::StringRef name, std::vector<std::string> tensors,
                  int64_t size = 4) {
    std::vector<TensorLayout> layouts;
    std::string data;
    for (const std::string &tensor : tensors) {
      layouts.push_back({tensor, DType::U8, {size}});
      data.append(size, static_cast<char>(layouts.size()));
    }
    uint64_t dataBytes = 0;
    std::string header = buildSafetensorsHeader(layouts, {}, dataBytes);
    ASSERT_EQ(dataBytes, data.size());
    writeFile(dir.file(name), header + data);
  }

  void writeIndex(std::vector<std::pair<std::string, std::string>> map) {
    writeFile(dir.file(kShardIndexFileName), buildShardIndex(123, map));
  }

  std::string indexPath() const { return dir.file(kShardIndexFileName); }

  /// The usual two-shard checkpoint.
  void writeTwoShards() {
    writeShard("s1.safetensors", {"a", "b"});
    writeShard("s2.safetensors", {"c"}, 6);
    writeIndex({{"a", "s1.safetensors"},
                {"b", "s1.safetensors"},
                {"c", "s2.safetensors"}});
  }

  TempDir dir;
};

TEST_F(ShardedStoreTest, OpensAFolderWithAnIndexAcrossShards) {
  writeTwoShards();
  auto store = openSafetensors(dir.path());
  ASSERT_TRUE(bool(store)) << llvm::toString(store.takeError());
  EXPECT_EQ((*store)->path(), dir.path());
  EXPECT_EQ((*store)->names(), (std::vector<llvm::StringRef>{"a", "b", "c"}));
  ASSERT_EQ((*store)->files().size(), 2u);

  const TensorRef *b = (*store)->lookup("b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->file, dir.file("s1.safetensors"));
  EXPECT_EQ(b->data.size(), 4u);
  EXPECT_EQ(b->data[0], 2);
  const TensorRef *c = (*store)->lookup("c");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->file, dir.file("s2.safetensors"));
  EXPECT_EQ(c->data.size(), 6u);
  EXPECT_EQ(c->data[5], 1);
  // Each tensor's bytes lie inside its own shard's mapping.
  for (const ParamFile &file : (*store)->files()) {
    if (file.path == c->file) {
      EXPECT_EQ(c->data.data(), file.bytes.data() + c->fileOffset);
    }
  }
}

TEST_F(ShardedStoreTest, OpensTheIndexFileDirectly) {
  writeTwoShards();
  auto store = openSafetensors(indexPath());
  ASSERT_TRUE(bool(store)) << llvm::toString(store.takeError());
  EXPECT_EQ((*store)->names().size(), 3u);
}

TEST_F(ShardedStoreTest, FolderPrefersTheIndexOverModelSafetensors) {
  writeTwoShards();
  writeShard(kSingleFileName, {"only_in_single_file"});
  auto store = openSafetensors(dir.path());
  ASSERT_TRUE(bool(store)) << llvm::toString(store.takeError());
  EXPECT_EQ((*store)->lookup("only_in_single_file"), nullptr);
  EXPECT_NE((*store)->lookup("a"), nullptr);
}

TEST_F(ShardedStoreTest, AcceptsShardNamesWithDotSlash) {
  writeShard("s1.safetensors", {"a", "b"});
  writeIndex({{"a", "./s1.safetensors"}, {"b", "s1.safetensors"}});
  auto store = openSafetensors(dir.path());
  ASSERT_TRUE(bool(store)) << llvm::toString(store.takeError());
  EXPECT_EQ((*store)->files().size(), 1u);
}

TEST_F(ShardedStoreTest, IndexWriterAndReaderAgree) {
  std::string text =
      buildShardIndex(42, {{"a", "s1.safetensors"}, {"b", "s2.safetensors"}});
  auto index = parseShardIndex(text, "x.json");
  ASSERT_TRUE(bool(index)) << llvm::toString(index.takeError());
  EXPECT_EQ(index->metadata, (std::vector<std::pair<std::string, std::string>>{
                                 {"total_size", "42"}}));
  EXPECT_EQ(index->weightMap,
            (std::vector<std::pair<std::string, std::string>>{
                {"a", "s1.safetensors"}, {"b", "s2.safetensors"}}));
  EXPECT_EQ(index->shards,
            (std::vector<std::string>{"s1.safetensors", "s2.safetensors"}));
}

TEST_F(ShardedStoreTest, RejectsIndexNamingAShardThatDoesNotExist) {
  writeShard("s1.safetensors", {"a"});
  writeIndex({{"a", "s1.safetensors"}, {"z", "s9.safetensors"}});
  expectOpenError(dir.path(), {indexPath().c_str(), "tensor 'z'",
                               "'s9.safetensors'", "does not exist"});
}

TEST_F(ShardedStoreTest, RejectsTensorMissingFromItsShard) {
  writeShard("s1.safetensors", {"a"});
  writeShard("s2.safetensors", {"c"});
  writeIndex({{"a", "s1.safetensors"},
              {"b", "s1.safetensors"},
              {"c", "s2.safetensors"}});
  expectOpenError(dir.path(), {indexPath().c_str(), "tensor 'b'",
                               "'s1.safetensors'", "does not contain it"});
}

TEST_F(ShardedStoreTest, RejectsTensorInADifferentShardThanTheIndexSays) {
  writeShard("s1.safetensors", {"a"});
  writeShard("s2.safetensors", {"c", "b"});
  writeIndex({{"a", "s1.safetensors"},
              {"b", "s1.safetensors"},
              {"c", "s2.safetensors"}});
  expectOpenError(dir.path(), {indexPath().c_str(), "tensor 'b'",
                               "does not contain it", "s2.safetensors"});
}

TEST_F(ShardedStoreTest, RejectsTheSameTensorInTwoShards) {
  writeShard("s1.safetensors", {"a", "b"});
  writeShard("s2.safetensors", {"c", "b"});
  writeIndex({{"a", "s1.safetensors"},
              {"b", "s1.safetensors"},
              {"c", "s2.safetensors"}});
  expectOpenError(dir.path(),
                  {indexPath().c_str(), "tensor 'b'", "stored in two shards",
                   "s1.safetensors", "s2.safetensors"});
}

TEST_F(ShardedStoreTest, RejectsShardTensorTheIndexDoesNotList) {
  writeShard("s1.safetensors", {"a", "stray"});
  writeIndex({{"a", "s1.safetensors"}});
  expectOpenError(dir.path(), {dir.file("s1.safetensors").c_str(),
                               "holds tensor 'stray'", "does not list"});
}

TEST_F(ShardedStoreTest, ReportsBrokenShardsByTheirOwnPath) {
  writeShard("s1.safetensors", {"a"});
  writeFile(dir.file("s2.safetensors"), "xx");
  writeIndex({{"a", "s1.safetensors"}, {"b", "s2.safetensors"}});
  expectOpenError(dir.path(),
                  {dir.file("s2.safetensors").c_str(), "file is 2 bytes"});
}

TEST_F(ShardedStoreTest, RejectsIndexThatIsNotJSON) {
  writeFile(indexPath(), "{\"weight_map\": ");
  expectOpenError(dir.path(), {indexPath().c_str(), "not valid JSON"});
}

TEST_F(ShardedStoreTest, RejectsIndexThatIsNotAnObject) {
  writeFile(indexPath(), "[]");
  expectOpenError(dir.path(),
                  {indexPath().c_str(), "is an array", "expected an object"});
}

TEST_F(ShardedStoreTest, RejectsIndexWithoutWeightMap) {
  writeFile(indexPath(), R"({"metadata": {}})");
  expectOpenError(dir.path(), {indexPath().c_str(), "missing \"weight_map\""});
}

TEST_F(ShardedStoreTest, RejectsWeightMapThatIsNotAnObject) {
  writeFile(indexPath(), R"({"weight_map": ["s1.safetensors"]})");
  expectOpenError(dir.path(),
                  {indexPath().c_str(), "\"weight_map\" is an array"});
}

TEST_F(ShardedStoreTest, RejectsEmptyWeightMap) {
  writeFile(indexPath(), R"({"weight_map": {}})");
  expectOpenError(dir.path(), {indexPath().c_str(), "is empty"});
}

TEST_F(ShardedStoreTest, RejectsShardNameThatIsNotAString) {
  writeFile(indexPath(), R"({"weight_map": {"a": 1}})");
  expectOpenError(dir.path(), {indexPath().c_str(), "entry 'a' is a number",
                               "expected a shard file name"});
}

TEST_F(ShardedStoreTest, RejectsShardPathsOutsideTheFolder) {
  for (const char *shard :
       {"../s1.safetensors", "/etc/passwd", "a/../../x", ""}) {
    writeIndex({{"a", shard}});
    expectOpenError(dir.path(), {indexPath().c_str(), "entry 'a'",
                                 "inside the index's folder"});
  }
}

TEST_F(ShardedStoreTest, RejectsMetadataThatIsNotAnObject) {
  writeFile(indexPath(),
            R"({"metadata": 3, "weight_map": {"a": "s1.safetensors"}})");
  expectOpenError(dir.path(),
                  {indexPath().c_str(), "\"metadata\" is a number"});
}

} // namespace
