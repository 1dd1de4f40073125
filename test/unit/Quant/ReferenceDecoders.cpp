//===- ReferenceDecoders.cpp - Slow, obvious block decoders -----*- C++ -*-===//
//
// One function per format decoding one element at a time: find the block,
// find the bits of the element's code and of its scale, apply the format's
// formula in float in the order ggml's dequantizer evaluates it.
//
//===----------------------------------------------------------------------===//

#include "ReferenceDecoders.h"

#include <cassert>
#include <cmath>
#include <cstring>

namespace phiq::quant::testing {
namespace {

uint16_t u16At(const uint8_t *p) { return uint16_t(p[0] | p[1] << 8); }
uint32_t u32At(const uint8_t *p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 |
         uint32_t(p[3]) << 24;
}
float halfAt(const uint8_t *p) { return slowHalfToFloat(u16At(p)); }
/// Nibble `which` (0 low, 1 high) of a byte.
int nibble(uint8_t byte, int which) { return (byte >> (4 * which)) & 15; }

const int kIQ4Grid[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                          1,    13,   25,  38,  53,  69,  89,  113};

/// Element e (0..255) of a K-quant 2-bit plane starting at `qs`:
/// half h = e / 128, shift 2 * ((e % 128) / 32), byte 32 h + e % 32.
int twoBits(const uint8_t *qs, int e) {
  int h = e / 128, k = (e % 128) / 32, l = e % 32;
  return (qs[32 * h + l] >> (2 * k)) & 3;
}

/// Element e of a Q4_K/Q5_K nibble plane: chunk c = e / 64, byte 32 c +
/// e % 32, low nibble for the first 32 of the chunk.
int nibblePlane(const uint8_t *qs, int e) {
  return nibble(qs[32 * (e / 64) + e % 32], (e % 64) / 32);
}

/// The 6-bit (scale, min) pair j of Q4_K/Q5_K.
void scaleMin6(const uint8_t *s, int j, int &sc, int &m) {
  if (j < 4) {
    sc = s[j] & 63;
    m = s[j + 4] & 63;
  } else {
    sc = (s[j + 4] & 15) | (s[j - 4] >> 6) << 4;
    m = (s[j + 4] >> 4) | (s[j] >> 6) << 4;
  }
}

float decodeElement(BlockFormat format, const uint8_t *b, int e) {
  switch (format) {
  case BlockFormat::F32: {
    float v;
    std::memcpy(&v, b, 4);
    return v;
  }
  case BlockFormat::F16:
    return halfAt(b);
  case BlockFormat::BF16: {
    uint32_t bits = uint32_t(u16At(b)) << 16;
    float v;
    std::memcpy(&v, &bits, 4);
    return v;
  }
  case BlockFormat::Q8_0:
    return float(int8_t(b[2 + e])) * halfAt(b);
  case BlockFormat::Q4_0:
    return float(nibble(b[2 + e % 16], e / 16) - 8) * halfAt(b);
  case BlockFormat::Q4_1:
    return float(nibble(b[4 + e % 16], e / 16)) * halfAt(b) + halfAt(b + 2);
  case BlockFormat::Q5_0: {
    int q = nibble(b[6 + e % 16], e / 16) | int((u32At(b + 2) >> e) & 1) << 4;
    return float(q - 16) * halfAt(b);
  }
  case BlockFormat::Q5_1: {
    int q = nibble(b[8 + e % 16], e / 16) | int((u32At(b + 4) >> e) & 1) << 4;
    return float(q) * halfAt(b) + halfAt(b + 2);
  }
  case BlockFormat::IQ4_NL:
    return halfAt(b) * float(kIQ4Grid[nibble(b[2 + e % 16], e / 16)]);
  case BlockFormat::Q2_K: {
    int j = e / 16;
    float dl = halfAt(b + 80) * float(b[j] & 15);
    float ml = halfAt(b + 82) * float(b[j] >> 4);
    return dl * float(twoBits(b + 16, e)) - ml;
  }
  case BlockFormat::Q3_K: {
    int j = e / 16;
    const uint8_t *s = b + 96;
    int low = j < 8 ? s[j] & 15 : s[j - 8] >> 4;
    int high = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
    float dl = halfAt(b + 108) * float((low | high << 4) - 32);
    int hbit = (b[e % 32] >> (e / 32)) & 1;
    return dl * float(twoBits(b + 32, e) - (hbit ? 0 : 4));
  }
  case BlockFormat::Q4_K:
  case BlockFormat::Q5_K: {
    int sc, m;
    scaleMin6(b + 4, e / 32, sc, m);
    float dl = halfAt(b) * float(sc);
    float ml = halfAt(b + 2) * float(m);
    if (format == BlockFormat::Q4_K)
      return dl * float(nibblePlane(b + 16, e)) - ml;
    int q = nibblePlane(b + 48, e) | ((b[16 + e % 32] >> (e / 32)) & 1) << 4;
    return dl * float(q) - ml;
  }
  case BlockFormat::Q6_K: {
    int h = e / 128, k = (e % 128) / 32, l = e % 32;
    int low = nibble(b[64 * h + 32 * (k % 2) + l], k / 2);
    int high = (b[128 + 32 * h + l] >> (2 * k)) & 3;
    float dl = halfAt(b + 208) * float(int8_t(b[192 + e / 16]));
    return dl * float((low | high << 4) - 32);
  }
  default: // the ONNX, OpenVINO and MLX formats have other references
    break;
  }
  return NAN;
}

} // namespace

float slowHalfToFloat(uint16_t half) {
  int sign = half >> 15, exponent = (half >> 10) & 31, mantissa = half & 1023;
  float magnitude;
  if (exponent == 31)
    magnitude = mantissa ? NAN : INFINITY;
  else if (exponent == 0)
    magnitude = std::ldexp(float(mantissa), -24);
  else
    magnitude = std::ldexp(float(1024 + mantissa), exponent - 25);
  return sign ? -magnitude : magnitude;
}

std::vector<float> referenceDecode(BlockFormat format,
                                   const std::vector<uint8_t> &bytes,
                                   int64_t rows, int64_t cols) {
  const FormatInfo &info = formatInfo(format);
  int64_t blocksPerRow = cols / info.blockElements;
  assert(int64_t(bytes.size()) == rows * blocksPerRow * info.blockBytes);
  std::vector<float> out(rows * cols);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      int64_t block = r * blocksPerRow + c / info.blockElements;
      out[r * cols + c] =
          decodeElement(format, bytes.data() + block * info.blockBytes,
                        int(c % info.blockElements));
    }
  return out;
}

} // namespace phiq::quant::testing
