//===- phi-gguf-dump.cpp - Print a GGUF file's metadata ---------*- C++ -*-===//
//
// Prints what a GGUF file holds without touching its tensor data: the
// header, every KV pair (arrays summarized by element type, count and their
// first items) and the tensor table (name, ggml type, dims in ggml order,
// offset, bytes, optionally a CRC-32 of the data). One line per item, in a
// fixed format, so that lit tests and scripts can compare it with other
// readers. Malformed files print the reader's error and exit 1.
//
// The hidden --write-sample option writes a small file with every KV type
// and a few tensors of known bytes; the gguf-py lit test reads it. Keeping
// it here spares a test-only tool.
//
//===----------------------------------------------------------------------===//
#include "phiq/Target/GGUF/GGUFReader.h"
#include "phiq/Target/GGUF/GGUFWriter.h"

#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/CRC.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <cstring>
#include <limits>

using namespace phiq::gguf;
using llvm::Error;

static llvm::cl::OptionCategory category("phi-gguf-dump options");

static llvm::cl::opt<std::string> inputPath(llvm::cl::Positional,
                                            llvm::cl::desc("<file.gguf>"),
                                            llvm::cl::cat(category));

static llvm::cl::opt<unsigned>
    arrayItems("array-items",
               llvm::cl::desc("Array items to print per KV pair (0: all)"),
               llvm::cl::init(8), llvm::cl::cat(category));

static llvm::cl::opt<bool>
    printCrc("crc", llvm::cl::desc("Print a CRC-32 of each tensor's data"),
             llvm::cl::cat(category));

static llvm::cl::opt<std::string> samplePath(
    "write-sample",
    llvm::cl::desc("Write the test sample file to this path and exit"),
    llvm::cl::value_desc("path"), llvm::cl::Hidden, llvm::cl::cat(category));

static llvm::cl::opt<unsigned> sampleAlignment(
    "sample-alignment",
    llvm::cl::desc("general.alignment of the sample (0: leave the key out)"),
    llvm::cl::init(0), llvm::cl::Hidden, llvm::cl::cat(category));

//===----------------------------------------------------------------------===//
// Dumping
//===----------------------------------------------------------------------===//

static void dump(const GGUFFile &file, llvm::raw_ostream &os) {
  os << "GGUF file: " << file.getPath() << "\n";
  os << "version: " << file.getVersion() << "\n";
  os << "alignment: " << file.getAlignment() << "\n";
  os << "data offset: " << file.getDataOffset() << "\n";
  os << "kv count: " << file.getKeyValues().size() << "\n";
  os << "tensor count: " << file.getTensors().size() << "\n";
  for (auto [index, kv] : llvm::enumerate(file.getKeyValues())) {
    os << "kv[" << index << "] " << kv.key << ": " << kv.value.getTypeString()
       << " = ";
    kv.value.print(os, arrayItems);
    os << "\n";
  }
  for (auto [index, tensor] : llvm::enumerate(file.getTensors())) {
    os << "tensor[" << index << "] " << tensor.getName() << ": "
       << getGGMLTypeName(tensor.getType()) << " [";
    llvm::interleave(tensor.getDims(), os, ", ");
    os << "] offset=" << tensor.getOffset()
       << " bytes=" << tensor.getByteSize();
    if (printCrc)
      os << " crc32=" << llvm::format("0x%08x", llvm::crc32(tensor.data()));
    os << "\n";
  }
}

//===----------------------------------------------------------------------===//
// The sample file
//===----------------------------------------------------------------------===//
// The Python check (test/Target/GGUF/Inputs/check_with_gguf_py.py) rebuilds
// every value below; change both together.

/// Bytes of the quantized sample tensors: byte i of tensor number `seed` is
/// (i * 31 + seed) mod 256.
static Error fillPattern(llvm::MutableArrayRef<uint8_t> out, unsigned seed) {
  for (auto [i, byte] : llvm::enumerate(out))
    byte = static_cast<uint8_t>(i * 31 + seed);
  return Error::success();
}

static uint16_t toHalfBits(float value) {
  llvm::APFloat half(value);
  bool losesInfo = false;
  half.convert(llvm::APFloat::IEEEhalf(), llvm::APFloat::rmNearestTiesToEven,
               &losesInfo);
  return static_cast<uint16_t>(half.bitcastToAPInt().getZExtValue());
}

static Error writeSample(llvm::StringRef path) {
  constexpr int64_t int64Min = std::numeric_limits<int64_t>::min();
  constexpr int64_t int64Max = std::numeric_limits<int64_t>::max();
  constexpr uint64_t uint64Max = std::numeric_limits<uint64_t>::max();
  std::vector<std::pair<const char *, GGUFValue>> kvs = {
      {"general.architecture", "phiq-sample"},
      {"sample.u8", uint8_t(200)},
      {"sample.i8", int8_t(-100)},
      {"sample.u16", uint16_t(60000)},
      {"sample.i16", int16_t(-30000)},
      {"sample.u32", uint32_t(4000000000u)},
      {"sample.i32", int32_t(-2000000000)},
      {"sample.f32", 3.14159265f},
      {"sample.bool", true},
      {"sample.str", "h\xc3\xa9llo \"quoted\"\n\ttab\\ \x01 end"},
      {"sample.u64", uint64Max},
      {"sample.i64", int64Min},
      {"sample.f64", -2.718281828459045},
      {"sample.empty_str", ""},
      {"sample.arr.u8", std::vector<uint8_t>{0, 1, 255}},
      {"sample.arr.i8", std::vector<int8_t>{-128, 0, 127}},
      {"sample.arr.u16", std::vector<uint16_t>{0, 65535}},
      {"sample.arr.i16", std::vector<int16_t>{-32768, 32767}},
      {"sample.arr.u32", std::vector<uint32_t>{1, 2, 3, 4294967295u}},
      {"sample.arr.i32", std::vector<int32_t>{-1, 0, 2147483647}},
      {"sample.arr.f32", std::vector<float>{0.5f, -1.25f, 1e-8f}},
      {"sample.arr.bool", std::vector<bool>{true, false, true}},
      {"sample.arr.str",
       std::vector<std::string>{"a", "", "\xc3\xbcn\xc3\xafq", "x y"}},
      {"sample.arr.u64", std::vector<uint64_t>{0, uint64Max}},
      {"sample.arr.i64", std::vector<int64_t>{int64Min, int64Max}},
      {"sample.arr.f64", std::vector<double>{1e300, -0.0}},
      {"sample.arr.empty", std::vector<uint32_t>{}},
  };
  if (sampleAlignment != 0)
    kvs.emplace_back(kAlignmentKey.data(), uint32_t(sampleAlignment));

  GGUFWriter writer;
  for (auto &[key, value] : kvs)
    if (Error error = writer.addKV(key, std::move(value)))
      return error;

  // F32 [4, 3]: element i is i * 0.25 - 1.
  if (Error e = writer.addTensor(
          "sample.f32", GGMLType::F32, {4, 3}, 48,
          [](llvm::MutableArrayRef<uint8_t> out) {
            for (unsigned i = 0; i < 12; ++i)
              llvm::support::endian::write32le(
                  out.data() + 4 * i,
                  llvm::bit_cast<uint32_t>(static_cast<float>(i) * 0.25f - 1));
            return Error::success();
          }))
    return e;
  // F16 [8]: element i is i * 0.5 - 2.
  if (Error e = writer.addTensor("sample.f16", GGMLType::F16, {8}, 16,
                                 [](llvm::MutableArrayRef<uint8_t> out) {
                                   for (unsigned i = 0; i < 8; ++i)
                                     llvm::support::endian::write16le(
                                         out.data() + 2 * i,
                                         toHalfBits(
                                             static_cast<float>(i) * 0.5f - 2));
                                   return Error::success();
                                 }))
    return e;
  // BF16 [16]: element i is i * 0.125 (exact in bf16).
  if (Error e = writer.addTensor("sample.bf16", GGMLType::BF16, {16}, 32,
                                 [](llvm::MutableArrayRef<uint8_t> out) {
                                   for (unsigned i = 0; i < 16; ++i)
                                     llvm::support::endian::write16le(
                                         out.data() + 2 * i,
                                         llvm::bit_cast<uint32_t>(
                                             static_cast<float>(i) * 0.125f) >>
                                             16);
                                   return Error::success();
                                 }))
    return e;
  // Quantized tensors hold the byte pattern of fillPattern.
  struct Quantized {
    const char *name;
    GGMLType type;
    llvm::SmallVector<uint64_t, 4> dims;
    uint64_t bytes;
    unsigned seed;
  };
  const Quantized quantized[] = {
      {"sample.q8_0", GGMLType::Q8_0, {64, 2}, 4 * 34, 3},
      {"sample.q4_k", GGMLType::Q4_K, {256, 1, 2}, 2 * 144, 4},
      {"sample.iq4_nl", GGMLType::IQ4_NL, {32, 1, 1, 2}, 2 * 18, 5},
  };
  for (const Quantized &q : quantized) {
    unsigned seed = q.seed;
    if (Error e = writer.addTensor(q.name, q.type, q.dims, q.bytes,
                                   [seed](llvm::MutableArrayRef<uint8_t> out) {
                                     return fillPattern(out, seed);
                                   }))
      return e;
  }
  return writer.write(path);
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  llvm::cl::HideUnrelatedOptions(category);
  llvm::cl::ParseCommandLineOptions(
      argc, argv,
      "phi-gguf-dump: print the KV pairs and the tensor table of a GGUF "
      "file\n");

  auto fail = [](Error error) {
    llvm::WithColor::error(llvm::errs(), "phi-gguf-dump")
        << llvm::toString(std::move(error)) << "\n";
    return 1;
  };

  if (!samplePath.empty()) {
    if (Error error = writeSample(samplePath))
      return fail(std::move(error));
    return 0;
  }
  if (inputPath.empty())
    return fail(llvm::createStringError("no input file (see --help)"));

  llvm::Expected<std::unique_ptr<GGUFFile>> file = GGUFFile::open(inputPath);
  if (!file)
    return fail(file.takeError());
  dump(**file, llvm::outs());
  return 0;
}
