//===- BlockFormat.cpp - Registry of the ggml block formats -----*- C++ -*-===//
//
// One table row per format (its GGUF name, ggml type id, block geometry and
// row codecs) and the matrix-level entry points: argument checks that turn
// caller mistakes into llvm::Error messages, and the split of rows over
// phiq::rt::parallelFor. Rows are independent in every format, so any
// split gives the same bytes.
//
//===----------------------------------------------------------------------===//

#include "phiq/Quant/BlockFormat.h"

#include "RowCodecs.h"
#include "SearchKernels.h"

#include "phiq/Runtime/Kernels.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/FormatVariadic.h"

#include <atomic>
#include <cmath>
#include <cstring>
#include <vector>

namespace phiq::quant {
namespace {

struct FormatEntry {
  BlockFormat format;
  FormatInfo info;
  detail::QuantizeRowFn quantizeRow;
  detail::DequantizeRowFn dequantizeRow;
};

using namespace detail;

constexpr int64_t mnbBlockBytes(int bits, int64_t block, bool symmetric,
                                bool fp16Scales) {
  return (fp16Scales ? 2 : 4) + (symmetric ? 0 : 1) + block * bits / 8;
}

// MatMulNBits formats have no ggml type (-1): GGUF cannot hold them.
#define PHIQ_MNB(BITS, BLOCK, SYM, F16, NAME)                                  \
  {BlockFormat::NAME,                                                          \
   {#NAME, -1, BLOCK, mnbBlockBytes(BITS, BLOCK, SYM, F16), false},            \
   quantizeRowMNB<BITS, BLOCK, SYM, F16>,                                      \
   dequantizeRowMNB<BITS, BLOCK, SYM, F16>}

// NNCF groups: MatMulNBits' bytes with fp16 scales, NNCF's rounding.
#define PHIQ_NNCF(BITS, BLOCK, SYM, NAME)                                       \
  {BlockFormat::NAME,                                                          \
   {#NAME, -1, BLOCK, mnbBlockBytes(BITS, BLOCK, SYM, true), false},           \
   quantizeRowNNCF<BITS, BLOCK, SYM>,                                          \
   dequantizeRowMNB<BITS, BLOCK, SYM, true>}
// MLX formats have no ggml type either.
#define PHIQ_MLX(BITS, GROUP, SCALE, NAME)                                     \
  {BlockFormat::NAME,                                                          \
   {#NAME, -1, GROUP,                                                          \
    MLXAffineLayout{BITS, GROUP, MLXScaleType::SCALE}.blockBytes(), false},    \
   quantizeRowMLX<BITS, GROUP, MLXScaleType::SCALE>,                           \
   dequantizeRowMLX<BITS, GROUP, MLXScaleType::SCALE>}
#define PHIQ_MLX_GROUPS(BITS)                                                  \
  PHIQ_MLX(BITS, 32, F32, MLX##BITS##_G32_F32),                                \
      PHIQ_MLX(BITS, 32, F16, MLX##BITS##_G32_F16),                            \
      PHIQ_MLX(BITS, 32, BF16, MLX##BITS##_G32_BF16),                          \
      PHIQ_MLX(BITS, 64, F32, MLX##BITS##_G64_F32),                            \
      PHIQ_MLX(BITS, 64, F16, MLX##BITS##_G64_F16),                            \
      PHIQ_MLX(BITS, 64, BF16, MLX##BITS##_G64_BF16),                          \
      PHIQ_MLX(BITS, 128, F32, MLX##BITS##_G128_F32),                          \
      PHIQ_MLX(BITS, 128, F16, MLX##BITS##_G128_F16),                          \
      PHIQ_MLX(BITS, 128, BF16, MLX##BITS##_G128_BF16)


// Block sizes and type ids are ggml's (ggml.h, ggml-common.h).
const FormatEntry kFormats[] = {
    {BlockFormat::F32,
     {"F32", 0, 1, 4, false},
     quantizeRowF32,
     dequantizeRowF32},
    {BlockFormat::F16,
     {"F16", 1, 1, 2, false},
     quantizeRowF16,
     dequantizeRowF16},
    {BlockFormat::BF16,
     {"BF16", 30, 1, 2, false},
     quantizeRowBF16,
     dequantizeRowBF16},
    {BlockFormat::Q8_0,
     {"Q8_0", 8, 32, 34, false},
     quantizeRowQ8_0,
     dequantizeRowQ8_0},
    {BlockFormat::Q4_0,
     {"Q4_0", 2, 32, 18, false},
     quantizeRowQ4_0,
     dequantizeRowQ4_0},
    {BlockFormat::Q4_1,
     {"Q4_1", 3, 32, 20, false},
     quantizeRowQ4_1,
     dequantizeRowQ4_1},
    {BlockFormat::Q5_0,
     {"Q5_0", 6, 32, 22, false},
     quantizeRowQ5_0,
     dequantizeRowQ5_0},
    {BlockFormat::Q5_1,
     {"Q5_1", 7, 32, 24, false},
     quantizeRowQ5_1,
     dequantizeRowQ5_1},
    {BlockFormat::Q2_K,
     {"Q2_K", 10, 256, 84, true},
     quantizeRowQ2_K,
     dequantizeRowQ2_K},
    {BlockFormat::Q3_K,
     {"Q3_K", 11, 256, 110, true},
     quantizeRowQ3_K,
     dequantizeRowQ3_K},
    {BlockFormat::Q4_K,
     {"Q4_K", 12, 256, 144, true},
     quantizeRowQ4_K,
     dequantizeRowQ4_K},
    {BlockFormat::Q5_K,
     {"Q5_K", 13, 256, 176, true},
     quantizeRowQ5_K,
     dequantizeRowQ5_K},
    {BlockFormat::Q6_K,
     {"Q6_K", 14, 256, 210, true},
     quantizeRowQ6_K,
     dequantizeRowQ6_K},
    {BlockFormat::IQ4_NL,
     {"IQ4_NL", 20, 32, 18, false},
     quantizeRowIQ4_NL,
     dequantizeRowIQ4_NL},
    PHIQ_MNB(4, 16, true, false, MNB4_G16_SYM),
    PHIQ_MNB(4, 16, false, false, MNB4_G16_ASYM),
    PHIQ_MNB(4, 16, true, true, MNB4_G16_SYM_F16),
    PHIQ_MNB(4, 16, false, true, MNB4_G16_ASYM_F16),
    PHIQ_MNB(4, 32, true, false, MNB4_G32_SYM),
    PHIQ_MNB(4, 32, false, false, MNB4_G32_ASYM),
    PHIQ_MNB(4, 32, true, true, MNB4_G32_SYM_F16),
    PHIQ_MNB(4, 32, false, true, MNB4_G32_ASYM_F16),
    PHIQ_MNB(4, 64, true, false, MNB4_G64_SYM),
    PHIQ_MNB(4, 64, false, false, MNB4_G64_ASYM),
    PHIQ_MNB(4, 64, true, true, MNB4_G64_SYM_F16),
    PHIQ_MNB(4, 64, false, true, MNB4_G64_ASYM_F16),
    PHIQ_MNB(4, 128, true, false, MNB4_G128_SYM),
    PHIQ_MNB(4, 128, false, false, MNB4_G128_ASYM),
    PHIQ_MNB(4, 128, true, true, MNB4_G128_SYM_F16),
    PHIQ_MNB(4, 128, false, true, MNB4_G128_ASYM_F16),
    PHIQ_MNB(8, 32, true, false, MNB8_G32_SYM),
    PHIQ_MNB(8, 32, false, false, MNB8_G32_ASYM),
    PHIQ_MNB(8, 32, true, true, MNB8_G32_SYM_F16),
    PHIQ_MNB(8, 32, false, true, MNB8_G32_ASYM_F16),
    PHIQ_MNB(8, 64, true, false, MNB8_G64_SYM),
    PHIQ_MNB(8, 64, false, false, MNB8_G64_ASYM),
    PHIQ_MNB(8, 64, true, true, MNB8_G64_SYM_F16),
    PHIQ_MNB(8, 64, false, true, MNB8_G64_ASYM_F16),
    PHIQ_MNB(8, 128, true, false, MNB8_G128_SYM),
    PHIQ_MNB(8, 128, false, false, MNB8_G128_ASYM),
    PHIQ_MNB(8, 128, true, true, MNB8_G128_SYM_F16),
    PHIQ_MNB(8, 128, false, true, MNB8_G128_ASYM_F16),
    PHIQ_NNCF(4, 64, false, NNCF_U4_G64),
    PHIQ_NNCF(4, 128, false, NNCF_U4_G128),
    PHIQ_NNCF(4, 64, true, NNCF_I4_G64),
    PHIQ_NNCF(4, 128, true, NNCF_I4_G128),
    // One group per row: its f16 scale and u8 zero point lead the row.
    {BlockFormat::NNCF_U8_CHANNEL,
     {"NNCF_U8_CHANNEL", -1, 1, 1, false, 3},
     quantizeRowNNCFChannelU8,
     dequantizeRowNNCFChannelU8},
    PHIQ_MLX_GROUPS(2),
    PHIQ_MLX_GROUPS(3),
    PHIQ_MLX_GROUPS(4),
    PHIQ_MLX_GROUPS(5),
    PHIQ_MLX_GROUPS(6),
    PHIQ_MLX_GROUPS(8),
    // One group per row: its f32 scale leads the row.
    {BlockFormat::QDQ8_CHANNEL,
     {"QDQ8_CHANNEL", -1, 1, 1, false, 4},
     quantizeRowQDQ8Channel,
     dequantizeRowQDQ8Channel},
};
#undef PHIQ_NNCF
#undef PHIQ_MNB
#undef PHIQ_MLX
#undef PHIQ_MLX_GROUPS
const FormatEntry &entry(BlockFormat format) {
  const FormatEntry &e = kFormats[static_cast<int>(format)];
  assert(e.format == format && "format table out of enum order");
  return e;
}

bool isFloatFormat(BlockFormat format) {
  return format == BlockFormat::F32 || format == BlockFormat::F16 ||
         format == BlockFormat::BF16;
}

/// Rows per parallelFor chunk: about 16K elements.
int64_t rowGrain(int64_t cols) {
  return std::max<int64_t>(1, (int64_t(1) << 14) / std::max<int64_t>(cols, 1));
}

} // namespace

llvm::ArrayRef<BlockFormat> allBlockFormats() {
  static const BlockFormat formats[] = {
      BlockFormat::F32,  BlockFormat::F16,   BlockFormat::BF16,
      BlockFormat::Q8_0, BlockFormat::Q4_0,  BlockFormat::Q4_1,
      BlockFormat::Q5_0, BlockFormat::Q5_1,  BlockFormat::Q2_K,
      BlockFormat::Q3_K, BlockFormat::Q4_K,  BlockFormat::Q5_K,
      BlockFormat::Q6_K, BlockFormat::IQ4_NL};
  return formats;
}

llvm::ArrayRef<BlockFormat> matMulNBitsFormats() {
  static const std::vector<BlockFormat> formats = [] {
    std::vector<BlockFormat> all;
    for (const FormatEntry &e : kFormats)
      if (e.info.name.starts_with("MNB"))
        all.push_back(e.format);
    return all;
  }();
  return formats;
}

llvm::ArrayRef<BlockFormat> nncfFormats() {
  static const std::vector<BlockFormat> formats = [] {
    std::vector<BlockFormat> all;
    for (const FormatEntry &e : kFormats)
      if (e.info.name.starts_with("NNCF"))
        all.push_back(e.format);
    return all;
  }();
  return formats;
}

llvm::ArrayRef<BlockFormat> mlxAffineFormats() {
  static const std::vector<BlockFormat> formats = [] {
    std::vector<BlockFormat> all;
    for (const FormatEntry &e : kFormats)
      if (e.info.name.starts_with("MLX"))
        all.push_back(e.format);
    return all;
  }();
  return formats;
}

std::optional<BlockFormat> nncfFormat(int bits, int64_t groupSize,
                                      bool symmetric) {
  if (bits == 8 && groupSize == -1 && !symmetric)
    return BlockFormat::NNCF_U8_CHANNEL;
  for (BlockFormat format : nncfFormats()) {
    std::optional<MatMulNBitsLayout> l = matMulNBitsLayout(format);
    if (l && l->bits == bits && l->blockSize == groupSize &&
        l->symmetric == symmetric)
      return format;
  }
  return std::nullopt;
}

std::optional<MLXAffineLayout> mlxAffineLayout(BlockFormat format) {
  llvm::StringRef name = formatInfo(format).name;
  if (!name.consume_front("MLX"))
    return std::nullopt;
  // MLX<bits>_G<group>_<F32|F16|BF16>
  MLXAffineLayout layout;
  layout.bits = name.front() - '0';
  layout.groupSize = formatInfo(format).blockElements;
  layout.scaleType = name.ends_with("_BF16")  ? MLXScaleType::BF16
                     : name.ends_with("_F16") ? MLXScaleType::F16
                                              : MLXScaleType::F32;
  return layout;
}

std::optional<BlockFormat> mlxAffineFormat(int bits, int64_t groupSize,
                                           MLXScaleType scaleType) {
  for (BlockFormat format : mlxAffineFormats()) {
    MLXAffineLayout l = *mlxAffineLayout(format);
    if (l.bits == bits && l.groupSize == groupSize && l.scaleType == scaleType)
      return format;
  }
  return std::nullopt;
}

llvm::StringRef mlxScaleTypeName(MLXScaleType type) {
  switch (type) {
  case MLXScaleType::F32: return "f32";
  case MLXScaleType::F16: return "f16";
  case MLXScaleType::BF16: return "bf16";
  }
  llvm_unreachable("unknown MLX scale type");
}

const FormatInfo &formatInfo(BlockFormat format) { return entry(format).info; }

detail::QuantizeRowFn detail::rowQuantizer(BlockFormat format) {
  return entry(format).quantizeRow;
}

std::optional<MatMulNBitsLayout> matMulNBitsLayout(BlockFormat format) {
  const FormatInfo &info = formatInfo(format);
  if (!info.name.starts_with("MNB") && !info.name.starts_with("NNCF"))
    return std::nullopt;
  // The name spells the parameters: MNB<bits>_G<block>_<SYM|ASYM>[_F16],
  // NNCF_<U4|I4>_G<group> (fp16 scales; I4 is symmetric).
  llvm::StringRef name = info.name;
  MatMulNBitsLayout layout;
  if (format == BlockFormat::NNCF_U8_CHANNEL)
    return std::nullopt; // one group per row, not a block layout
  if (name.starts_with("NNCF")) {
    layout.bits = 4;
    layout.blockSize = info.blockElements;
    layout.symmetric = name.starts_with("NNCF_I");
    layout.fp16Scales = true;
    return layout;
  }
  layout.bits = name.starts_with("MNB8") ? 8 : 4;
  layout.blockSize = info.blockElements;
  layout.symmetric = name.contains("_SYM");
  layout.fp16Scales = name.ends_with("_F16");
  return layout;
}

std::optional<BlockFormat> matMulNBitsFormat(int bits, int64_t blockSize,
                                             bool symmetric, bool fp16Scales) {
  for (BlockFormat format : matMulNBitsFormats()) {
    MatMulNBitsLayout l = *matMulNBitsLayout(format);
    if (l.bits == bits && l.blockSize == blockSize &&
        l.symmetric == symmetric && l.fp16Scales == fp16Scales)
      return format;
  }
  return std::nullopt;
}

std::optional<BlockFormat> parseBlockFormat(llvm::StringRef name) {
  for (const FormatEntry &e : kFormats)
    if (name.equals_insensitive(e.info.name))
      return e.format;
  return std::nullopt;
}

llvm::Expected<int64_t> rowBytes(BlockFormat format, int64_t cols) {
  const FormatInfo &info = formatInfo(format);
  if (cols <= 0)
    return llvm::createStringError(
        llvm::formatv("{0} rows need a positive length, got {1}", info.name,
                      cols)
            .str());
  if (cols % info.blockElements != 0)
    return llvm::createStringError(
        llvm::formatv("{0} packs rows in blocks of {1} elements, but a row "
                      "has {2}; pad the row to a multiple of {1} or choose a "
                      "format with smaller blocks (Q8_0, Q4_0, ..., IQ4_NL "
                      "use 32)",
                      info.name, info.blockElements, cols)
            .str());
  return info.rowHeaderBytes + cols / info.blockElements * info.blockBytes;
}

namespace {

/// The checks quantize() and quantizeRows() share: sizes and importance.
llvm::Error checkQuantizeArguments(const FormatEntry &e, int64_t rows,
                                   int64_t cols, size_t dstBytes,
                                   const float *importance) {
  if (rows < 0)
    return llvm::createStringError(
        llvm::formatv("row count must be non-negative, got {0}", rows).str());
  llvm::Expected<int64_t> bytesPerRow = rowBytes(e.format, cols);
  if (!bytesPerRow)
    return bytesPerRow.takeError();
  if (static_cast<int64_t>(dstBytes) != rows * *bytesPerRow)
    return llvm::createStringError(
        llvm::formatv("{0} output of {1}x{2} needs {3} bytes, got {4}",
                      e.info.name, rows, cols, rows * *bytesPerRow, dstBytes)
            .str());
  if (importance) {
    for (int64_t c = 0; c < cols; ++c)
      if (!(importance[c] >= 0.0f) || !std::isfinite(importance[c]))
        return llvm::createStringError(
            llvm::formatv("importance[{0}] is {1}; weights must be finite "
                          "and non-negative",
                          c, importance[c])
                .str());
  }
  return llvm::Error::success();
}

/// The first non-finite element seen by any worker (flat index).
class FirstNonFinite {
public:
  explicit FirstNonFinite(int64_t size) : index(size), size(size) {}
  /// Scans `count` elements that start at flat index `base`.
  void scan(const float *x, int64_t base, int64_t count) {
    // A branch-free pass first (it vectorizes): inputs are almost always
    // all finite, and only then is the first bad index worth finding.
    uint32_t nonFinite = 0;
    for (int64_t i = 0; i < count; ++i) {
      uint32_t bits;
      std::memcpy(&bits, x + i, sizeof(bits));
      nonFinite |= uint32_t((bits & 0x7f800000u) == 0x7f800000u);
    }
    if (!nonFinite)
      return;
    for (int64_t i = 0; i < count; ++i)
      if (!std::isfinite(x[i])) {
        int64_t seen = index.load();
        while (base + i < seen &&
               !index.compare_exchange_weak(seen, base + i)) {
        }
        return;
      }
  }
  std::optional<int64_t> get() const {
    int64_t i = index.load();
    return i < size ? std::optional<int64_t>(i) : std::nullopt;
  }

private:
  std::atomic<int64_t> index;
  int64_t size;
};

llvm::Error nonFiniteError(const FormatEntry &e, int64_t index, int64_t cols,
                           float value) {
  return llvm::createStringError(
      llvm::formatv("{0} needs finite inputs, but row {1} column {2} is {3}",
                    e.info.name, index / cols, index % cols, value)
          .str());
}

} // namespace

llvm::Error quantize(BlockFormat format, llvm::ArrayRef<float> src,
                     int64_t rows, int64_t cols,
                     llvm::MutableArrayRef<uint8_t> dst,
                     const float *importance) {
  const FormatEntry &e = entry(format);
  if (rows >= 0 && static_cast<int64_t>(src.size()) != rows * cols)
    return llvm::createStringError(
        llvm::formatv("{0}x{1} matrix needs {2} floats, got {3}", rows, cols,
                      rows * cols, src.size())
            .str());
  if (llvm::Error error =
          checkQuantizeArguments(e, rows, cols, dst.size(), importance))
    return error;
  if (!isFloatFormat(format)) {
    // Scales of non-finite blocks are meaningless; name the first one.
    FirstNonFinite bad(rows * cols);
    rt::parallelFor(rows, rowGrain(cols), [&](int64_t begin, int64_t end) {
      bad.scan(src.data() + begin * cols, begin * cols, (end - begin) * cols);
    });
    if (std::optional<int64_t> i = bad.get())
      return nonFiniteError(e, *i, cols, src[*i]);
  }
  int64_t stride = dst.size() / std::max<int64_t>(rows, 1);
  rt::parallelFor(rows, rowGrain(cols), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r)
      e.quantizeRow(src.data() + r * cols, cols, importance,
                    dst.data() + r * stride);
  });
  return llvm::Error::success();
}

llvm::Error quantizeRows(BlockFormat format, int64_t rows, int64_t cols,
                         RowLoader load, llvm::MutableArrayRef<uint8_t> dst,
                         const float *importance, QuantizationError *error) {
  const FormatEntry &e = entry(format);
  if (llvm::Error failure =
          checkQuantizeArguments(e, rows, cols, dst.size(), importance))
    return failure;
  const int64_t stride = dst.size() / std::max<int64_t>(rows, 1);
  const bool checkFinite = !isFloatFormat(format);
  FirstNonFinite bad(rows * cols);
  std::vector<double> rowError(error ? rows : 0), rowNorm(error ? rows : 0);
  rt::parallelFor(rows, rowGrain(cols), [&](int64_t begin, int64_t end) {
    thread_local std::vector<float> x, decoded;
    int64_t count = end - begin;
    x.resize(size_t(count * cols));
    load(begin, count, x.data());
    if (checkFinite) {
      bad.scan(x.data(), begin * cols, count * cols);
      if (bad.get())
        return;
    }
    if (error)
      decoded.resize(size_t(cols));
    for (int64_t r = 0; r < count; ++r) {
      const float *row = x.data() + r * cols;
      uint8_t *packed = dst.data() + (begin + r) * stride;
      e.quantizeRow(row, cols, importance, packed);
      if (!error)
        continue;
      e.dequantizeRow(packed, cols, decoded.data());
      double squaredError, squaredNorm;
      detail::searchKernels().errorAndNorm(row, decoded.data(), cols,
                                           &squaredError, &squaredNorm);
      rowError[begin + r] = squaredError;
      rowNorm[begin + r] = squaredNorm;
    }
  });
  if (std::optional<int64_t> i = bad.get()) {
    std::vector<float> row(static_cast<size_t>(cols));
    load(*i / cols, 1, row.data());
    return nonFiniteError(e, *i, cols, row[*i % cols]);
  }
  if (error) {
    *error = {};
    for (int64_t r = 0; r < rows; ++r) {
      error->squaredError += rowError[r];
      error->squaredNorm += rowNorm[r];
    }
  }
  return llvm::Error::success();
}

void dequantize(BlockFormat format, llvm::ArrayRef<uint8_t> src, int64_t rows,
                int64_t cols, llvm::MutableArrayRef<float> dst) {
  const FormatEntry &e = entry(format);
  llvm::Expected<int64_t> bytesPerRow = rowBytes(format, cols);
  assert(bytesPerRow && "row length not a multiple of the block size");
  int64_t stride = bytesPerRow ? *bytesPerRow : 0;
  llvm::consumeError(bytesPerRow.takeError());
  assert(static_cast<int64_t>(src.size()) == rows * stride &&
         static_cast<int64_t>(dst.size()) == rows * cols &&
         "dequantize buffer sizes do not match rows x cols");
  rt::parallelFor(rows, rowGrain(cols), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r)
      e.dequantizeRow(src.data() + r * stride, cols, dst.data() + r * cols);
  });
}

double weightedSquaredError(BlockFormat format, llvm::ArrayRef<float> src,
                            int64_t rows, int64_t cols,
                            llvm::ArrayRef<uint8_t> quantized,
                            const float *importance) {
  const FormatEntry &e = entry(format);
  llvm::Expected<int64_t> bytesPerRow = rowBytes(format, cols);
  assert(bytesPerRow && "row length not a multiple of the block size");
  int64_t stride = bytesPerRow ? *bytesPerRow : 0;
  llvm::consumeError(bytesPerRow.takeError());
  assert(static_cast<int64_t>(src.size()) == rows * cols &&
         static_cast<int64_t>(quantized.size()) == rows * stride &&
         "weightedSquaredError buffer sizes do not match rows x cols");
  // One partial sum per row, added in row order: the result does not
  // depend on the thread count.
  std::vector<double> perRow(rows, 0.0);
  rt::parallelFor(rows, rowGrain(cols), [&](int64_t begin, int64_t end) {
    std::vector<float> decoded(cols);
    for (int64_t r = begin; r < end; ++r) {
      e.dequantizeRow(quantized.data() + r * stride, cols, decoded.data());
      const float *x = src.data() + r * cols;
      double sum = 0.0;
      for (int64_t c = 0; c < cols; ++c) {
        double diff = static_cast<double>(x[c]) - decoded[c];
        sum += (importance ? importance[c] : 1.0) * diff * diff;
      }
      perRow[r] = sum;
    }
  });
  double total = 0.0;
  for (double s : perRow)
    total += s;
  return total;
}

} // namespace phiq::quant
