//===- phi-quant-blocks.cpp - Quantize raw float rows -----------*- C++ -*-===//
//
// A thin driver over lib/Quant for checks against other implementations
// (test/Quant/check_ggml_blocks.py compares with ggml through ctypes). It
// reads a file of little-endian float32 values, `--cols` per row, and for
// each format in `--formats` writes <out>/<FORMAT>.bin with the quantized
// rows and prints one line: the weighted squared error, the time taken and
// a digest of the decoded values,
//
//   digest = sum_i bits(y_i) * (2i + 1) * 0x9E3779B97F4A7C15  (mod 2^64)
//
// over the row-major decoded floats y (every multiplier is odd, so any
// single changed value changes the digest), which lets a caller compare our
// decoder with another one without a file of floats per format. With
// --dequantize the decoded values are also written to <out>/<FORMAT>.f32.
// With --decode=FORMAT it instead reads block bytes and writes the floats
// our dequantizer gives for them to the file named by -o.
//
//===----------------------------------------------------------------------===//

#include "phiq/Quant/BlockFormat.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cstring>
#include <vector>

using namespace phiq::quant;

static llvm::cl::OptionCategory category("phi-quant-blocks options");

static llvm::cl::opt<std::string>
    inputPath(llvm::cl::Positional, llvm::cl::Required,
              llvm::cl::desc("<input: float32 rows, or block bytes with "
                             "--decode>"),
              llvm::cl::cat(category));
static llvm::cl::opt<std::string>
    outputPath("o", llvm::cl::Required,
               llvm::cl::desc("Output folder (quantize) or file (--decode)"),
               llvm::cl::value_desc("path"), llvm::cl::cat(category));
static llvm::cl::opt<int64_t> cols("cols", llvm::cl::Required,
                                   llvm::cl::desc("Elements per row"),
                                   llvm::cl::cat(category));
static llvm::cl::list<std::string>
    formats("formats", llvm::cl::CommaSeparated,
            llvm::cl::desc("Formats to quantize to (q4_k,q8_0,...; "
                           "'all' for every format)"),
            llvm::cl::cat(category));
static llvm::cl::opt<std::string>
    importancePath("importance",
                   llvm::cl::desc("float32 file of `cols` importance weights"),
                   llvm::cl::value_desc("file"), llvm::cl::cat(category));
static llvm::cl::opt<bool>
    writeDequantized("dequantize",
                     llvm::cl::desc("Also write <FORMAT>.f32, the decoded "
                                    "values"),
                     llvm::cl::cat(category));
static llvm::cl::opt<std::string>
    decodeFormat("decode",
                 llvm::cl::desc("Decode block bytes of this format instead"),
                 llvm::cl::value_desc("format"), llvm::cl::cat(category));

/// The digest described at the top of this file.
static uint64_t digestOf(llvm::ArrayRef<float> values) {
  uint64_t sum = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    uint32_t bits;
    std::memcpy(&bits, &values[i], 4);
    sum += bits * ((2 * static_cast<uint64_t>(i) + 1) * 0x9E3779B97F4A7C15ull);
  }
  return sum;
}

static llvm::Error writeFile(llvm::StringRef path, const void *data,
                             size_t size) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec, llvm::sys::fs::OF_None);
  if (ec)
    return llvm::createStringError(ec, "cannot write %s: %s",
                                   path.str().c_str(), ec.message().c_str());
  os.write(static_cast<const char *>(data), size);
  os.close();
  if (os.has_error())
    return llvm::createStringError(os.error(), "cannot write %s",
                                   path.str().c_str());
  return llvm::Error::success();
}

static llvm::Expected<std::vector<float>> readFloats(llvm::StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return llvm::createStringError(buffer.getError(), "cannot read %s",
                                   path.str().c_str());
  size_t size = (*buffer)->getBufferSize();
  if (size % sizeof(float) != 0)
    return llvm::createStringError(
        "%s has %zu bytes, not a whole number of float32 values",
        path.str().c_str(), size);
  std::vector<float> values(size / sizeof(float));
  std::memcpy(values.data(), (*buffer)->getBufferStart(), size);
  return values;
}

static llvm::Error decode() {
  std::optional<BlockFormat> format = parseBlockFormat(decodeFormat);
  if (!format)
    return llvm::createStringError("unknown format '%s'", decodeFormat.c_str());
  llvm::Expected<int64_t> bytesPerRow = rowBytes(*format, cols);
  if (!bytesPerRow)
    return bytesPerRow.takeError();
  auto buffer = llvm::MemoryBuffer::getFile(inputPath, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return llvm::createStringError(buffer.getError(), "cannot read %s",
                                   inputPath.c_str());
  int64_t size = static_cast<int64_t>((*buffer)->getBufferSize());
  if (size % *bytesPerRow != 0)
    return llvm::createStringError(
        "%s has %lld bytes, not a whole number of %lld-byte %s rows",
        inputPath.c_str(), static_cast<long long>(size),
        static_cast<long long>(*bytesPerRow),
        formatInfo(*format).name.str().c_str());
  int64_t rows = size / *bytesPerRow;
  llvm::ArrayRef<uint8_t> bytes(
      reinterpret_cast<const uint8_t *>((*buffer)->getBufferStart()), size);
  std::vector<float> values(rows * cols);
  dequantize(*format, bytes, rows, cols, values);
  return writeFile(outputPath, values.data(), values.size() * sizeof(float));
}

static llvm::Error quantizeAll() {
  llvm::SmallVector<BlockFormat> selected;
  for (const std::string &name : formats) {
    if (llvm::StringRef(name).equals_insensitive("all")) {
      llvm::append_range(selected, allBlockFormats());
      continue;
    }
    std::optional<BlockFormat> format = parseBlockFormat(name);
    if (!format)
      return llvm::createStringError("unknown format '%s'", name.c_str());
    selected.push_back(*format);
  }
  if (selected.empty())
    return llvm::createStringError("no formats given (--formats=q4_k,...)");
  llvm::Expected<std::vector<float>> src = readFloats(inputPath);
  if (!src)
    return src.takeError();
  if (cols <= 0 || src->size() % cols != 0)
    return llvm::createStringError(
        "%s holds %zu floats, not a whole number of %lld-element rows",
        inputPath.c_str(), src->size(),
        static_cast<long long>(cols.getValue()));
  int64_t rows = static_cast<int64_t>(src->size()) / cols;
  std::vector<float> importance;
  if (!importancePath.empty()) {
    llvm::Expected<std::vector<float>> loaded = readFloats(importancePath);
    if (!loaded)
      return loaded.takeError();
    if (static_cast<int64_t>(loaded->size()) != cols)
      return llvm::createStringError(
          "%s holds %zu weights, expected one per column (%lld)",
          importancePath.c_str(), loaded->size(),
          static_cast<long long>(cols.getValue()));
    importance = std::move(*loaded);
  }
  const float *weights = importance.empty() ? nullptr : importance.data();
  if (std::error_code ec = llvm::sys::fs::create_directories(outputPath))
    return llvm::createStringError(ec, "cannot create %s", outputPath.c_str());
  for (BlockFormat format : selected) {
    const FormatInfo &info = formatInfo(format);
    llvm::Expected<int64_t> bytesPerRow = rowBytes(format, cols);
    if (!bytesPerRow)
      return bytesPerRow.takeError();
    std::vector<uint8_t> bytes(rows * *bytesPerRow);
    auto start = std::chrono::steady_clock::now();
    if (llvm::Error err = quantize(format, *src, rows, cols, bytes, weights))
      return err;
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    llvm::SmallString<256> path(outputPath);
    llvm::sys::path::append(path, info.name + ".bin");
    if (llvm::Error err = writeFile(path, bytes.data(), bytes.size()))
      return err;
    std::vector<float> values(rows * cols);
    dequantize(format, bytes, rows, cols, values);
    if (writeDequantized) {
      path = outputPath;
      llvm::sys::path::append(path, info.name + ".f32");
      if (llvm::Error err =
              writeFile(path, values.data(), values.size() * sizeof(float)))
        return err;
    }
    double error =
        weightedSquaredError(format, *src, rows, cols, bytes, weights);
    llvm::outs() << llvm::formatv(
        "{0,-7} {1}x{2} error {3:e6} in {4:f3} s digest {5:x16}\n", info.name,
        rows, cols, error, seconds, digestOf(values));
  }
  return llvm::Error::success();
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  llvm::cl::HideUnrelatedOptions(category);
  llvm::cl::ParseCommandLineOptions(
      argc, argv, "quantize float32 rows to ggml block formats\n");
  llvm::Error err = decodeFormat.empty() ? quantizeAll() : decode();
  if (err) {
    llvm::WithColor::error(llvm::errs(), "phi-quant-blocks")
        << llvm::toString(std::move(err)) << "\n";
    return 1;
  }
  return 0;
}
