//===- MatMulNBits.cpp - ONNX Runtime's MatMulNBits blocks ------*- C++ -*-===//
//
// Round-to-nearest as ONNX Runtime's own quantizer computes it
// (matmul_nbits_quantizer.py's default RTN, which calls MLAS'
// MlasQuantizeBlockwise), so that the codes, scales and zero points are
// byte for byte what `quantize_matmul_4bits` / `quantize_matmul_8bits`
// produce for the same weights (test/unit/Quant/MatMulNBitsTest.cpp states
// the rules; test/Quant/ort-matmulnbits.test checks them against ORT):
//
//   symmetric:  m = the block's signed value of largest magnitude (the
//               minimum on a tie), scale = S(-m / 2^(bits-1)), zp = 2^(bits-1)
//               (the scale is negative when m > 0, which maps m to code 0)
//   asymmetric: lo = min(min x, 0), hi = max(max x, 0),
//               s = (hi - lo) / (2^bits - 1), zp = clamp(roundf(-lo / s))
//               (0 when s = 0), scale = S(s)
//   codes:      q = clamp(roundf(x * (1 / float(scale)) + zp), 0, 2^bits - 1)
//               with 1 / 0 taken as 0
//
// S() stores the scale as f32 or f16 (round to nearest even); the codes use
// the stored scale. Decoding is w = (q - zp) * scale.
//
//===----------------------------------------------------------------------===//
#include "RowCodecs.h"

#include "phiq/Quant/Fp16.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>
#include <limits>

using namespace phiq::quant;

namespace {

float loadScale(const MatMulNBitsLayout &l, const uint8_t *block) {
  if (l.fp16Scales) {
    uint16_t h;
    std::memcpy(&h, block, 2);
    return fp16BitsToFp32(h);
  }
  float f;
  std::memcpy(&f, block, 4);
  return f;
}

/// Stores `scale` rounded to the layout's type; returns the stored value.
float storeScale(const MatMulNBitsLayout &l, float scale, uint8_t *block) {
  if (l.fp16Scales) {
    uint16_t h = fp32ToFp16Bits(scale);
    std::memcpy(block, &h, 2);
    return fp16BitsToFp32(h);
  }
  std::memcpy(block, &scale, 4);
  return scale;
}

} // namespace

void phiq::quant::detail::quantizeRowMatMulNBits(const MatMulNBitsLayout &l,
                                                 const float *x, int64_t cols,
                                                 uint8_t *out) {
  const float maxCode = float((1 << l.bits) - 1);
  for (int64_t start = 0; start < cols; start += l.blockSize) {
    const float *v = x + start;
    float lo = std::numeric_limits<float>::max(), hi = -lo;
    for (int64_t i = 0; i < l.blockSize; ++i) {
      lo = std::min(lo, v[i]);
      hi = std::max(hi, v[i]);
    }
    float scale;
    uint8_t zp;
    if (l.symmetric) {
      float m = std::fabs(hi) > std::fabs(lo) ? hi : lo;
      scale = -m / float(l.midCode());
      zp = uint8_t(l.midCode());
    } else {
      lo = std::min(lo, 0.0f);
      hi = std::max(hi, 0.0f);
      scale = (hi - lo) / maxCode;
      float zpf = scale != 0.0f ? 0.0f - lo / scale : lo;
      zp = zpf < 0.0f ? 0 : zpf > maxCode ? uint8_t(maxCode) : uint8_t(std::roundf(zpf));
    }
    scale = storeScale(l, scale, out);
    if (!l.symmetric)
      out[l.scaleBytes()] = zp;
    const float inverse = scale != 0.0f ? 1.0f / scale : 0.0f;
    uint8_t *codes = out + l.scaleBytes() + l.zeroPointBytes();
    auto code = [&](float value) {
      float r = std::roundf(value * inverse + float(zp));
      return uint8_t(std::clamp(r, 0.0f, maxCode));
    };
    if (l.bits == 8) {
      for (int64_t i = 0; i < l.blockSize; ++i)
        codes[i] = code(v[i]);
    } else {
      for (int64_t i = 0; i < l.blockSize; i += 2)
        codes[i / 2] = uint8_t(code(v[i]) | code(v[i + 1]) << 4);
    }
    out += l.blockBytes();
  }
}

void phiq::quant::detail::dequantizeRowMatMulNBits(const MatMulNBitsLayout &l,
                                                   const uint8_t *in,
                                                   int64_t cols, float *out) {
  for (int64_t start = 0; start < cols; start += l.blockSize) {
    const float scale = loadScale(l, in);
    const int zp = l.symmetric ? l.midCode() : in[l.scaleBytes()];
    const uint8_t *codes = in + l.scaleBytes() + l.zeroPointBytes();
    float *w = out + start;
    if (l.bits == 8) {
      for (int64_t i = 0; i < l.blockSize; ++i)
        w[i] = float(int(codes[i]) - zp) * scale;
    } else {
      for (int64_t i = 0; i < l.blockSize; i += 2) {
        w[i] = float(int(codes[i / 2] & 15) - zp) * scale;
        w[i + 1] = float(int(codes[i / 2] >> 4) - zp) * scale;
      }
    }
    in += l.blockBytes();
  }
}

void phiq::quant::dequantizeMatMulNBitsPlanar(
    const MatMulNBitsLayout &l, llvm::ArrayRef<uint8_t> codes,
    llvm::ArrayRef<uint8_t> scales, llvm::ArrayRef<uint8_t> zeroPoints,
    int64_t rows, int64_t cols, llvm::MutableArrayRef<float> dst) {
  const int64_t blocks = cols / l.blockSize;
  const int64_t zpRowBytes = (blocks * l.bits + 7) / 8;
  assert(cols % l.blockSize == 0 && "cols must be whole blocks");
  assert(int64_t(codes.size()) == rows * blocks * l.codeBytes());
  assert(int64_t(scales.size()) == rows * blocks * l.scaleBytes());
  assert(l.symmetric ? zeroPoints.empty()
                     : int64_t(zeroPoints.size()) == rows * zpRowBytes);
  assert(int64_t(dst.size()) == rows * cols);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t blk = 0; blk < blocks; ++blk) {
      const int64_t index = r * blocks + blk;
      const float scale = loadScale(l, scales.data() + index * l.scaleBytes());
      int zp = l.midCode();
      if (!l.symmetric) {
        const uint8_t packed = zeroPoints[size_t(r * zpRowBytes +
                                                 blk * l.bits / 8)];
        zp = l.bits == 8 ? packed : (blk % 2 ? packed >> 4 : packed & 15);
      }
      const uint8_t *q = codes.data() + index * l.codeBytes();
      float *w = dst.data() + r * cols + blk * l.blockSize;
      if (l.bits == 8) {
        for (int64_t i = 0; i < l.blockSize; ++i)
          w[i] = float(int(q[i]) - zp) * scale;
      } else {
        for (int64_t i = 0; i < l.blockSize; i += 2) {
          w[i] = float(int(q[i / 2] & 15) - zp) * scale;
          w[i + 1] = float(int(q[i / 2] >> 4) - zp) * scale;
        }
      }
    }
}
