//===- SafetensorsErrorTest.cpp - Tests of rejecting bad files --*- C++ -*-===//
//
// One test per way a safetensors file can be broken. Each builds the bad
// file in a temporary folder and checks that opening it fails (never
// crashes) with a message naming the file and the problem.
//
//===----------------------------------------------------------------------===//
#include "TestFiles.h"

#include "phiq/Params/ParamStore.h"

#include "llvm/Support/Endian.h"

#include "gtest/gtest.h"

using namespace phiq::params;
using namespace phiq::params::test;

namespace {

/// A test folder with one file, "bad.safetensors".
class SafetensorsErrorTest : public ::testing::Test {
protected:
  /// Writes `bytes` as the file and returns its path.
  std::string write(llvm::StringRef bytes) {
    std::string path = dir.file("bad.safetensors");
    writeFile(path, bytes);
    return path;
  }
  /// Writes a file with `header` and `dataSize` bytes of data.
  std::string write(llvm::StringRef header, size_t dataSize) {
    return write(safetensorsBytes(header, dataSize));
  }
  /// A header with one F32 tensor "t" whose entry is `entry`.
  std::string withEntry(llvm::StringRef entry, size_t dataSize = 8) {
    return write("{\"t\": " + entry.str() + "}", dataSize);
  }

  TempDir dir;
};

TEST_F(SafetensorsErrorTest, RejectsMissingFile) {
  std::string path = dir.file("absent.safetensors");
  expectOpenError(path, {"cannot open", "absent.safetensors"});
}

TEST_F(SafetensorsErrorTest, RejectsFileShorterThanTheLengthPrefix) {
  std::string path = write(llvm::StringRef("\x05\0\0\0\0", 5));
  expectOpenError(path, {path.c_str(), "file is 5 bytes",
                         "8-byte header "
                         "length"});
}

TEST_F(SafetensorsErrorTest, RejectsEmptyFile) {
  std::string path = write("");
  expectOpenError(path, {path.c_str(), "file is 0 bytes"});
}

TEST_F(SafetensorsErrorTest, RejectsHeaderLengthLargerThanTheFile) {
  std::string bytes(8, '\0');
  llvm::support::endian::write64le(bytes.data(), 1000);
  bytes += "{}";
  std::string path = write(bytes);
  expectOpenError(path, {path.c_str(), "header length 1000",
                         "larger than the file", "only 2 bytes"});
}

TEST_F(SafetensorsErrorTest, RejectsHeaderLengthAboveTheSanityCap) {
  std::string bytes(8, '\0');
  llvm::support::endian::write64le(bytes.data(), uint64_t(1) << 40);
  bytes += "{}";
  std::string path = write(bytes);
  expectOpenError(path, {path.c_str(), "header length 1099511627776",
                         "exceeds the limit of 100000000 bytes"});
}

TEST_F(SafetensorsErrorTest, RejectsHeaderThatIsNotJSON) {
  std::string path = write("{\"t\": {\"dtype\": ", 0);
  expectOpenError(path, {path.c_str(), "not valid JSON"});
}

TEST_F(SafetensorsErrorTest, RejectsHeaderThatIsNotUTF8) {
  std::string path = write("{\"\xff\": 1}", 0);
  expectOpenError(path, {path.c_str(), "not valid JSON", "UTF-8"});
}

TEST_F(SafetensorsErrorTest, RejectsHeaderThatIsNotAnObject) {
  std::string path = write("[1, 2]", 0);
  expectOpenError(path,
                  {path.c_str(), "is an array", "expected a JSON object"});
}

TEST_F(SafetensorsErrorTest, RejectsEntryThatIsNotAnObject) {
  std::string path = withEntry("[1]");
  expectOpenError(
      path, {path.c_str(), "tensor 't'", "is an array", "expected an object"});
}

TEST_F(SafetensorsErrorTest, RejectsEntryMissingDType) {
  std::string path = withEntry(R"({"shape": [2], "data_offsets": [0, 8]})");
  expectOpenError(path, {path.c_str(), "tensor 't'", "missing \"dtype\""});
}

TEST_F(SafetensorsErrorTest, RejectsEntryMissingShape) {
  std::string path = withEntry(R"({"dtype": "F32", "data_offsets": [0, 8]})");
  expectOpenError(path, {path.c_str(), "tensor 't'", "missing \"shape\""});
}

TEST_F(SafetensorsErrorTest, RejectsEntryMissingDataOffsets) {
  std::string path = withEntry(R"({"dtype": "F32", "shape": [2]})");
  expectOpenError(path,
                  {path.c_str(), "tensor 't'", "missing \"data_offsets\""});
}

TEST_F(SafetensorsErrorTest, RejectsDTypeThatIsNotAString) {
  std::string path =
      withEntry(R"({"dtype": 4, "shape": [2], "data_offsets": [0, 8]})");
  expectOpenError(path, {path.c_str(), "tensor 't'", "\"dtype\" is a number",
                         "expected a string"});
}

TEST_F(SafetensorsErrorTest, RejectsUnknownDType) {
  std::string path =
      withEntry(R"({"dtype": "F4", "shape": [2], "data_offsets": [0, 8]})");
  expectOpenError(path,
                  {path.c_str(), "tensor 't'", "unknown dtype \"F4\"", "BF16"});
}

TEST_F(SafetensorsErrorTest, RejectsShapeThatIsNotAnArray) {
  std::string path =
      withEntry(R"({"dtype": "F32", "shape": 2, "data_offsets": [0, 8]})");
  expectOpenError(path, {path.c_str(), "tensor 't'", "\"shape\" is a number",
                         "expected an array"});
}

TEST_F(SafetensorsErrorTest, RejectsNonIntegerDimension) {
  std::string path = withEntry(
      R"({"dtype": "F32", "shape": [2, "3"], "data_offsets": [0, 8]})");
  expectOpenError(path, {path.c_str(), "tensor 't'", "shape[1] is a string",
                         "expected an integer"});
}

TEST_F(SafetensorsErrorTest, RejectsFractionalDimension) {
  std::string path =
      withEntry(R"({"dtype": "F32", "shape": [1.5], "data_offsets": [0, 8]})");
  expectOpenError(
      path, {path.c_str(), "tensor 't'", "shape[0]", "expected an integer"});
}

TEST_F(SafetensorsErrorTest, RejectsNegativeDimension) {
  std::string path = withEntry(
      R"({"dtype": "F32", "shape": [-2, -1], "data_offsets": [0, 8]})");
  expectOpenError(path, {path.c_str(), "tensor 't'", "shape[0] is -2",
                         "expected a dimension >= 0"});
}

TEST_F(SafetensorsErrorTest, RejectsDataOffsetsThatAreNotAnArray) {
  std::string path = withEntry(
      R"({"dtype": "F32", "shape": [2], "data_offsets": {"begin": 0}})");
  expectOpenError(
      path, {path.c_str(), "tensor 't'", "\"data_offsets\" is an object"});
}

TEST_F(SafetensorsErrorTest, RejectsDataOffsetsWithWrongArity) {
  std::string path =
      withEntry(R"({"dtype": "F32", "shape": [2], "data_offsets": [0, 4, 8]})");
  expectOpenError(path,
                  {path.c_str(), "tensor 't'", "has 3 elements", "expected 2"});
}

TEST_F(SafetensorsErrorTest, RejectsNegativeDataOffset) {
  std::string path =
      withEntry(R"({"dtype": "F32", "shape": [2], "data_offsets": [-8, 0]})");
  expectOpenError(path, {path.c_str(), "tensor 't'", "data_offsets[0] is -8",
                         "expected an offset >= 0"});
}

TEST_F(SafetensorsErrorTest, RejectsNonNumericDataOffset) {
  std::string path =
      withEntry(R"({"dtype": "F32", "shape": [2], "data_offsets": [0, null]})");
  expectOpenError(path, {path.c_str(), "tensor 't'", "data_offsets[1] is null",
                         "non-negative integer"});
}

TEST_F(SafetensorsErrorTest, RejectsBeginAfterEnd) {
  std::string path =
      withEntry(R"({"dtype": "F32", "shape": [2], "data_offsets": [8, 0]})");
  expectOpenError(path, {path.c_str(), "tensor 't'", "data_offsets [8, 0]",
                         "begin is after end"});
}

TEST_F(SafetensorsErrorTest, RejectsOffsetsPastEndOfFile) {
  std::string path = withEntry(
      R"({"dtype": "F32", "shape": [4], "data_offsets": [0, 16]})", 8);
  expectOpenError(path, {path.c_str(), "tensor 't'", "data_offsets [0, 16]",
                         "past the end of the file", "holds 8 bytes"});
}

TEST_F(SafetensorsErrorTest, RejectsByteSizeThatDoesNotMatchTheShape) {
  std::string path =
      withEntry(R"({"dtype": "F32", "shape": [3], "data_offsets": [0, 8]})", 8);
  expectOpenError(path, {path.c_str(), "tensor 't'", "span 8 bytes",
                         "shape [3] of F32 needs 12 bytes"});
}

TEST_F(SafetensorsErrorTest, RejectsShapeWhoseSizeOverflows) {
  std::string path = withEntry(R"({"dtype": "F32", )"
                               R"("shape": [4294967296, 4294967296], )"
                               R"("data_offsets": [0, 8]})");
  expectOpenError(
      path, {path.c_str(), "tensor 't'", "more elements than fit in 64 bits"});
}

TEST_F(SafetensorsErrorTest, RejectsOverlappingTensors) {
  std::string path =
      write(R"({"a": {"dtype": "U8", "shape": [6], "data_offsets": [0, 6]},)"
            R"( "b": {"dtype": "U8", "shape": [6], "data_offsets": [4, 10]}})",
            10);
  expectOpenError(path, {path.c_str(), "'a' (data_offsets [0, 6])",
                         "'b' (data_offsets [4, 10])", "overlap"});
}

TEST_F(SafetensorsErrorTest, RejectsGapBetweenTensors) {
  std::string path =
      write(R"({"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},)"
            R"( "b": {"dtype": "U8", "shape": [4], "data_offsets": [6, 10]}})",
            10);
  expectOpenError(path, {path.c_str(), "data bytes [4, 6)", "before tensor 'b'",
                         "belong to no tensor"});
}

TEST_F(SafetensorsErrorTest, RejectsTrailingBytesAfterTheLastTensor) {
  std::string path = write(
      R"({"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]}})", 7);
  expectOpenError(path, {path.c_str(), "end at data offset 4", "holds 7 bytes",
                         "trailing 3 bytes"});
}

TEST_F(SafetensorsErrorTest, RejectsDuplicateEntryWhoseBytesAreLost) {
  // The JSON parser keeps the last of duplicate keys; the bytes of the
  // first copy then belong to no tensor.
  std::string path =
      write(R"({"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},)"
            R"( "a": {"dtype": "U8", "shape": [4], "data_offsets": [4, 8]}})",
            8);
  expectOpenError(path,
                  {path.c_str(), "data bytes [0, 4)", "belong to no tensor"});
}

TEST_F(SafetensorsErrorTest, RejectsMetadataThatIsNotAnObject) {
  std::string path = write(R"({"__metadata__": ["pt"]})", 0);
  expectOpenError(path, {path.c_str(), "\"__metadata__\" is an array"});
}

TEST_F(SafetensorsErrorTest, RejectsMetadataWithNonStringValue) {
  std::string path = write(R"({"__metadata__": {"format": 1}})", 0);
  expectOpenError(path, {path.c_str(), "value for \"format\" is a number",
                         "expected a string"});
}

TEST_F(SafetensorsErrorTest, RejectsFolderWithoutWeights) {
  expectOpenError(dir.path(), {dir.path().c_str(), "folder holds neither",
                               "model.safetensors"});
}

} // namespace
