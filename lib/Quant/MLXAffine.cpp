//===- MLXAffine.cpp - Apple MLX's affine quantization groups ---*- C++ -*-===//
//
// Round to nearest as MLX's own mx.quantize (mode "affine") computes it on
// the CPU, so that codes, scales and biases are byte for byte what
// mlx_lm.convert writes for the same weights (test/e2e/mlx-quantize-bytes
// compares them with mx.quantize; test/unit/Quant/MLXAffineTest.cpp states
// the rules on hand-made groups). Per group of g elements, all in fp32:
//
//   lo = min x, hi = max x, n = 2^bits - 1
//   s  = max((hi - lo) / n, 1e-7), negated unless |lo| > |hi|
//   e  = lo if |lo| > |hi| else hi           (the edge of larger magnitude)
//   q0 = rint(e / s); if q0 != 0: s = e / q0, b = e; else b = 0
//   q  = clamp(rint((x - b) / s), 0, n)
//
// so the edge value is represented exactly by code 0 or n. The stored scale
// and bias are s and b rounded to the model's float type (round to nearest
// even); the codes are computed with the unrounded fp32 s and b, as MLX
// does. Decoding is w = float(scale) * q + float(bias).
//
//===----------------------------------------------------------------------===//
#include "RowCodecs.h"

#include "phiq/Quant/Fp16.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

using namespace phiq::quant;

namespace {

/// Stores `value` in the layout's scale type.
void storeScale(MLXScaleType type, float value, uint8_t *dst) {
  switch (type) {
  case MLXScaleType::F32:
    std::memcpy(dst, &value, 4);
    return;
  case MLXScaleType::F16: {
    uint16_t h = fp32ToFp16Bits(value);
    std::memcpy(dst, &h, 2);
    return;
  }
  case MLXScaleType::BF16: {
    uint16_t h = fp32ToBf16Bits(value);
    std::memcpy(dst, &h, 2);
    return;
  }
  }
}

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

} // namespace

void phiq::quant::detail::quantizeRowMLXAffine(const MLXAffineLayout &l,
                                               const float *x, int64_t cols,
                                               uint8_t *out) {
  const float levels = float((1 << l.bits) - 1);
  const float eps = 1e-7f;
  for (int64_t start = 0; start < cols; start += l.groupSize) {
    const float *v = x + start;
    float lo = std::numeric_limits<float>::infinity(), hi = -lo;
    for (int64_t i = 0; i < l.groupSize; ++i) {
      lo = std::min(lo, v[i]);
      hi = std::max(hi, v[i]);
    }
    const bool lowEdge = std::fabs(lo) > std::fabs(hi);
    float scale = std::max((hi - lo) / levels, eps);
    scale = lowEdge ? scale : -scale;
    const float edge = lowEdge ? lo : hi;
    const float q0 = std::rint(edge / scale);
    float bias = 0.0f;
    if (q0 != 0.0f) {
      scale = edge / q0;
      bias = edge;
    }
    storeScale(l.scaleType, scale, out);
    storeScale(l.scaleType, bias, out + l.scaleBytes());
    // Codes as an LSB-first bit stream: element i at bit i * bits.
    uint8_t *codes = out + 2 * l.scaleBytes();
    std::memset(codes, 0, size_t(l.codeBytes()));
    for (int64_t i = 0; i < l.groupSize; ++i) {
      float q = std::rint((v[i] - bias) / scale);
      q = std::min(std::max(q, 0.0f), levels);
      uint32_t code = uint32_t(q);
      int64_t bit = i * l.bits;
      for (int b = 0; b < l.bits; ++b, ++bit)
        codes[bit / 8] |= uint8_t(((code >> b) & 1u) << (bit % 8));
    }
    out += l.blockBytes();
  }
}

void phiq::quant::detail::dequantizeRowMLXAffine(const MLXAffineLayout &l,
                                                 const uint8_t *in,
                                                 int64_t cols, float *out) {
  const uint32_t mask = (1u << l.bits) - 1u;
  for (int64_t start = 0; start < cols; start += l.groupSize) {
    const float scale = loadScale(l.scaleType, in);
    const float bias = loadScale(l.scaleType, in + l.scaleBytes());
    const uint8_t *codes = in + 2 * l.scaleBytes();
    for (int64_t i = 0; i < l.groupSize; ++i) {
      // A code spans at most two bytes (bits <= 8).
      int64_t bit = i * l.bits;
      uint32_t pair = codes[bit / 8];
      if ((bit % 8) + l.bits > 8)
        pair |= uint32_t(codes[bit / 8 + 1]) << 8;
      uint32_t q = (pair >> (bit % 8)) & mask;
      out[start + i] = scale * float(q) + bias;
    }
    in += l.blockBytes();
  }
}
