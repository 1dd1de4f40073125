//===- MLXRetarget.cpp - MLX affine groups in GGUF and ONNX forms -*- C++ -*-=//
//
// See MLXRetarget.h. MLX stores a group as {scale; bias; codes as an
// LSB-first bit stream}; Q4_1 stores a block of 32 as {d; m; qs[16]} with
// qs[j] = q[j] | q[j + 16] << 4, and Q5_1 adds qh (u32, bit j = bit 4 of
// q[j]) before qs. Both decode to d * q + m in f32, which is MLX's
// scale * q + bias when d and m are the same floats.
//
//===----------------------------------------------------------------------===//
#include "phiq/Quant/MLXRetarget.h"

#include "phiq/Quant/Fp16.h"

#include "llvm/Support/FormatVariadic.h"

#include <cstring>

using namespace phiq::quant;
using llvm::Error;

namespace {

float loadScale(MLXScaleType type, const uint8_t *src) {
  if (type == MLXScaleType::F32) {
    float f;
    std::memcpy(&f, src, 4);
    return f;
  }
  uint16_t h;
  std::memcpy(&h, src, 2);
  return type == MLXScaleType::F16 ? fp16BitsToFp32(h) : bf16BitsToFp32(h);
}

/// Code `i` of a group's LSB-first bit stream.
uint32_t codeAt(const uint8_t *codes, int bits, int64_t i) {
  const int64_t bit = i * bits;
  uint32_t pair = codes[bit / 8];
  if ((bit % 8) + bits > 8)
    pair |= uint32_t(codes[bit / 8 + 1]) << 8;
  return (pair >> (bit % 8)) & ((1u << bits) - 1u);
}

/// The f16 bits of `value`, if f16 holds it exactly.
std::optional<uint16_t> exactFp16(float value) {
  const uint16_t h = fp32ToFp16Bits(value);
  if (fp16BitsToFp32(h) != value)
    return std::nullopt;
  return h;
}

} // namespace

std::optional<BlockFormat>
phiq::quant::ggufFormatForMLX(const MLXAffineLayout &layout) {
  if (layout.bits == 4)
    return BlockFormat::Q4_1;
  if (layout.bits == 5)
    return BlockFormat::Q5_1;
  return std::nullopt;
}

Error phiq::quant::mlxToGGUFBlocks(const MLXAffineLayout &l,
                                   llvm::ArrayRef<uint8_t> src, int64_t rows,
                                   int64_t cols,
                                   llvm::MutableArrayRef<uint8_t> dst) {
  std::optional<BlockFormat> format = ggufFormatForMLX(l);
  if (!format)
    return llvm::createStringError(
        llvm::formatv("{0}-bit MLX groups have no GGUF block format", l.bits)
            .str());
  const bool five = l.bits == 5;
  const int64_t blockBytes = five ? 24 : 20;
  const int64_t groups = cols / l.groupSize;
  if (cols % l.groupSize != 0 ||
      int64_t(src.size()) != rows * groups * l.blockBytes() ||
      int64_t(dst.size()) != rows * (cols / 32) * blockBytes)
    return llvm::createStringError("MLX-to-GGUF rewrite: sizes do not match");
  const uint8_t *in = src.data();
  uint8_t *out = dst.data();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t g = 0; g < groups; ++g, in += l.blockBytes()) {
      const float scale = loadScale(l.scaleType, in);
      const float bias = loadScale(l.scaleType, in + l.scaleBytes());
      const uint8_t *codes = in + 2 * l.scaleBytes();
      std::optional<uint16_t> d = exactFp16(scale), m = exactFp16(bias);
      // A group whose codes are all 0 decodes to its bias whatever the
      // scale (mx.quantize gives a constant group the scale 1e-7, below
      // f16's range): d = 0 decodes the same.
      bool allZero = true;
      for (int64_t i = 0; i < l.codeBytes(); ++i)
        allZero &= codes[i] == 0;
      if (!d && allZero)
        d = uint16_t(0);
      if (!d || !m)
        return llvm::createStringError(
            llvm::formatv("row {0}, group {1}: {2} {3:e} is not an f16 value, "
                          "so no {4} block decodes to the same weights",
                          r, g, d ? "bias" : "scale", d ? bias : scale,
                          five ? "Q5_1" : "Q4_1")
                .str());
      for (int64_t start = 0; start < l.groupSize; start += 32) {
        std::memcpy(out, &*d, 2);
        std::memcpy(out + 2, &*m, 2);
        uint32_t qh = 0;
        uint8_t *qs = out + (five ? 8 : 4);
        for (int64_t j = 0; j < 16; ++j) {
          const uint32_t lo = codeAt(codes, l.bits, start + j);
          const uint32_t hi = codeAt(codes, l.bits, start + j + 16);
          qs[j] = uint8_t((lo & 15u) | ((hi & 15u) << 4));
          qh |= ((lo >> 4) & 1u) << j;
          qh |= ((hi >> 4) & 1u) << (j + 16);
        }
        if (five) {
          const uint8_t bytes[4] = {uint8_t(qh), uint8_t(qh >> 8),
                                    uint8_t(qh >> 16), uint8_t(qh >> 24)};
          std::memcpy(out + 4, bytes, 4);
        }
        out += blockBytes;
      }
    }
  return Error::success();
}

llvm::Expected<MLXNBits>
phiq::quant::mlxToMatMulNBits(const MLXAffineLayout &l,
                              llvm::ArrayRef<uint8_t> src, int64_t rows,
                              int64_t cols) {
  if (l.bits != 4)
    return llvm::createStringError(
        llvm::formatv("{0}-bit MLX groups have no MatMulNBits form with float "
                      "zero points (ONNX Runtime's CPU kernel takes them "
                      "for 4 bits only)",
                      l.bits)
            .str());
  const int64_t groups = cols / l.groupSize;
  if (cols % l.groupSize != 0 ||
      int64_t(src.size()) != rows * groups * l.blockBytes())
    return llvm::createStringError("MLX-to-MatMulNBits: sizes do not match");
  MLXNBits out;
  out.codes.resize(size_t(rows * cols / 2));
  out.scales.resize(size_t(rows * groups));
  out.zeroPoints.resize(size_t(rows * groups));
  const uint8_t *in = src.data();
  for (int64_t i = 0; i < rows * groups; ++i, in += l.blockBytes()) {
    const float scale = loadScale(l.scaleType, in);
    const float bias = loadScale(l.scaleType, in + l.scaleBytes());
    if (scale == 0.0f && bias != 0.0f)
      return llvm::createStringError(
          llvm::formatv("row {0}, group {1}: scale 0 with bias {2:e} has no "
                        "zero point",
                        i / groups, i % groups, bias)
              .str());
    out.scales[size_t(i)] = scale;
    out.zeroPoints[size_t(i)] = scale == 0.0f ? 0.0f : -bias / scale;
    // 4-bit MLX codes are already low nibble first, two per byte.
    std::memcpy(&out.codes[size_t(i * l.groupSize / 2)],
                in + 2 * l.scaleBytes(), size_t(l.groupSize / 2));
  }
  return out;
}
