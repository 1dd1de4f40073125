//===- LegacyQuants.cpp - Q8_0, Q4_0, Q4_1, Q5_0, Q5_1 ----------*- C++ -*-===//
//
// ggml's first block formats: 32 values per block, one binary16 scale d
// (and for the _1 formats a binary16 minimum m), codes packed low nibble
// first, the fifth bit of the 5-bit codes in a little-endian 32-bit mask:
//
//   Q8_0  [d][32 x int8 q]               y = q * d
//   Q4_0  [d][16 bytes]                  y = (q - 8) * d,    q in [0, 15]
//   Q4_1  [d][m][16 bytes]               y = q * d + m,      q in [0, 15]
//   Q5_0  [d][qh: u32][16 bytes]         y = (q - 16) * d,   q in [0, 31]
//   Q5_1  [d][m][qh: u32][16 bytes]      y = q * d + m,      q in [0, 31]
//
// Byte j of the nibble array holds value j (low nibble) and value j + 16
// (high nibble); bit j of qh is the fifth bit of value j.
//
// Without an importance vector the quantizers are ggml's reference
// round-to-nearest, float operation for float operation, so the bytes are
// identical to ggml's:
//
//   Q8_0: d = max|x| / 127,          q = round_half_away(x / d)
//   Q4_0: d = x_ext / -8,            q = min(15, trunc(x / d + 8.5))
//   Q5_0: d = x_ext / -16,           q = min(31, trunc(x / d + 16.5))
//   Q4_1: d = (max - min) / 15,      q = min(15, trunc((x - min) / d + 0.5))
//   Q5_1: d = (max - min) / 31,      q = trunc((x - min) / d + 0.5)
//
// where x_ext is the first value of largest magnitude and "/ d" is a
// multiplication by the float 1/d (0 when d is 0). With importance weights
// w (ggml then runs a search too, except for Q8_0, where we search too) we
// minimize sum w (x - y)^2 over the decoded y directly: a least-squares
// scale scan (ScaleSearch.h), then binary16 rounding of the scale and its
// neighbours with codes re-rounded and errors measured on the decoded
// values, keeping the best of those and of the round-to-nearest block.
//
//===----------------------------------------------------------------------===//

#include "RowCodecs.h"
#include "ScaleSearch.h"
#include "SearchKernels.h"

#include "phiq/Quant/Fp16.h"

#include <cfloat>
#include <algorithm>
#include <cmath>
#include <cstring>

namespace phiq::quant::detail {
namespace {

constexpr int kBlock = 32;

/// One decoded legacy block: binary16 scale (and min) and the codes.
struct LegacyBlock {
  uint16_t d = 0;
  uint16_t m = 0;
  uint8_t q[kBlock] = {};
};

uint16_t loadU16(const uint8_t *p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

void storeU16(uint8_t *p, uint16_t v) { std::memcpy(p, &v, 2); }

/// ggml's extreme: the first value of largest magnitude; +0 if all zero.
float signedExtreme(const float *x) {
  float amax = 0.0f, extreme = 0.0f;
  for (int i = 0; i < kBlock; ++i) {
    if (amax < std::fabs(x[i])) {
      amax = std::fabs(x[i]);
      extreme = x[i];
    }
  }
  return extreme;
}

/// round() of C: nearest, halfway cases away from zero (|v| < 2^23).
float roundHalfAway(float v) {
  float t = static_cast<float>(static_cast<int>(v));
  float frac = v - t;
  return t + (frac >= 0.5f ? 1.0f : 0.0f) - (frac <= -0.5f ? 1.0f : 0.0f);
}

//===-- Round-to-nearest reference blocks ---------------------------------===//

/// Q4_0 / Q5_0: d = x_ext / -half, q = min(top, trunc(x * id + half + .5)).
LegacyBlock roundSymmetric(const float *x, int half) {
  LegacyBlock b;
  float d = signedExtreme(x) / static_cast<float>(-half);
  float id = d != 0.0f ? 1.0f / d : 0.0f;
  b.d = fp32ToFp16Bits(d);
  float bias = static_cast<float>(half) + 0.5f;
  int top = 2 * half - 1;
  for (int i = 0; i < kBlock; ++i) {
    int q = static_cast<int>(x[i] * id + bias);
    b.q[i] = static_cast<uint8_t>(q < top ? q : top);
  }
  return b;
}

/// Q4_1 / Q5_1: d = (max - min) / top, q = trunc((x - min) * id + .5),
/// clamped to 15 for Q4_1 only (as ggml does).
LegacyBlock roundAffine(const float *x, int top, bool clampTop) {
  LegacyBlock b;
  float lo = FLT_MAX, hi = -FLT_MAX;
  for (int i = 0; i < kBlock; ++i) {
    if (x[i] < lo)
      lo = x[i];
    if (x[i] > hi)
      hi = x[i];
  }
  float d = (hi - lo) / static_cast<float>(top);
  float id = d != 0.0f ? 1.0f / d : 0.0f;
  b.d = fp32ToFp16Bits(d);
  b.m = fp32ToFp16Bits(lo);
  for (int i = 0; i < kBlock; ++i) {
    int q = static_cast<int>((x[i] - lo) * id + 0.5f);
    b.q[i] = static_cast<uint8_t>(clampTop && q > top ? top : q);
  }
  return b;
}

//===-- Weighted search ---------------------------------------------------===//

/// sum w (x - y)^2 for y = (q - offset) * d, with the codes re-rounded for
/// d: q = clamp(round(x / d) + offset, 0, top).
double evalSymmetric(const SearchKernels &kernels, const float *x,
                     const float *w, float d, int offset, int top,
                     uint8_t *codes) {
  float v[kBlock];
  float error =
      kernels.requantSymmetric(x, w, kBlock, d, static_cast<float>(-offset),
                               static_cast<float>(top - offset), v);
  for (int i = 0; i < kBlock; ++i)
    codes[i] = static_cast<uint8_t>(static_cast<int>(v[i]) + offset);
  return error;
}

/// sum w (x - y)^2 for y = q * d + m, codes q = clamp(round((x - m) / d)).
/// (The affine kernel decodes d * q - ml; with ml = -m that is the same
/// float as q * d + m, and x + ml the same as x - m.)
double evalAffine(const SearchKernels &kernels, const float *x, const float *w,
                  float d, float m, int top, uint8_t *codes) {
  float v[kBlock];
  float error =
      kernels.requantAffine(x, w, kBlock, d, -m, static_cast<float>(top), v);
  for (int i = 0; i < kBlock; ++i)
    codes[i] = static_cast<uint8_t>(v[i]);
  return error;
}

/// Q4_0 / Q5_0 with weights: the best of round-to-nearest and the searched
/// binary16 scales.
LegacyBlock searchSymmetric(const float *x, const float *w, int half) {
  const SearchKernels &kernels = searchKernels();
  int top = 2 * half - 1;
  LegacyBlock best = roundSymmetric(x, half);
  uint8_t codes[kBlock];
  double bestError =
      evalSymmetric(kernels, x, w, fp16BitsToFp32(best.d), half, top, codes);
  // The RTN codes are not re-rounded for the stored d; measure them as
  // they decode.
  {
    float d = fp16BitsToFp32(best.d);
    double e = 0.0;
    for (int i = 0; i < kBlock; ++i) {
      float diff = x[i] - static_cast<float>(best.q[i] - half) * d;
      e += static_cast<double>(w[i] * diff) * diff;
    }
    if (bestError < e)
      std::memcpy(best.q, codes, kBlock);
    else
      bestError = e;
  }
  SymmetricFit fit = fitSymmetric(x, w, kBlock, -half, top - half, 1.0f);
  float scale = fit.scale;
  for (int round = 0; round < 3 && scale != 0.0f; ++round) {
    bool improved = false;
    for (int k = -1; k <= 1; ++k) {
      float d = fp16Neighbor(scale, k);
      double e = evalSymmetric(kernels, x, w, d, half, top, codes);
      if (e < bestError) {
        bestError = e;
        best.d = fp32ToFp16Bits(d);
        std::memcpy(best.q, codes, kBlock);
        improved = true;
      }
    }
    if (!improved)
      break;
    // Least-squares scale for the best codes, then round again.
    double sxq = 0.0, sqq = 0.0;
    for (int i = 0; i < kBlock; ++i) {
      double q = best.q[i] - half;
      sxq += w[i] * x[i] * q;
      sqq += w[i] * q * q;
    }
    scale = sqq > 0.0 ? static_cast<float>(sxq / sqq) : 0.0f;
  }
  return best;
}

/// Q4_1 / Q5_1 with weights.
LegacyBlock searchAffine(const float *x, const float *w, int top,
                         bool clampTop) {
  const SearchKernels &kernels = searchKernels();
  LegacyBlock best = roundAffine(x, top, clampTop);
  double bestError = 0.0;
  {
    float d = fp16BitsToFp32(best.d), m = fp16BitsToFp32(best.m);
    for (int i = 0; i < kBlock; ++i) {
      // Q5_1's RTN code can be 32, which its 5 bits store as 0.
      float diff = x[i] - (static_cast<float>(best.q[i] & 31) * d + m);
      bestError += static_cast<double>(w[i] * diff) * diff;
    }
  }
  AffineFit fit = fitAffine(x, w, kBlock, top, false, 1.0f);
  float scale = fit.scale, offset = fit.offset;
  uint8_t codes[kBlock];
  for (int round = 0; round < 3 && scale > 0.0f; ++round) {
    bool improved = false;
    for (int kd = -1; kd <= 1; ++kd) {
      for (int km = -1; km <= 1; ++km) {
        float d = fp16Neighbor(scale, kd), m = fp16Neighbor(offset, km);
        double e = evalAffine(kernels, x, w, d, m, top, codes);
        if (e < bestError) {
          bestError = e;
          best.d = fp32ToFp16Bits(d);
          best.m = fp32ToFp16Bits(m);
          std::memcpy(best.q, codes, kBlock);
          improved = true;
        }
      }
    }
    if (!improved)
      break;
    double sw = 0, sq = 0, sqq = 0, sx = 0, sxq = 0;
    for (int i = 0; i < kBlock; ++i) {
      double q = best.q[i];
      sw += w[i];
      sq += w[i] * q;
      sqq += w[i] * q * q;
      sx += w[i] * x[i];
      sxq += w[i] * x[i] * q;
    }
    double a, c;
    if (!solve2x2(sqq, sq, sw, sxq, sx, a, c) || !(a > 0.0))
      break;
    scale = static_cast<float>(a);
    offset = static_cast<float>(c);
  }
  return best;
}

/// Runs `quantizeBlock(x, w) -> LegacyBlock` over a row and packs it with
/// `pack(block, out)`; w is null without importance.
template <typename QuantizeBlock, typename Pack>
void quantizeLegacyRow(const float *x, int64_t cols, const float *importance,
                       int blockBytes, QuantizeBlock quantizeBlock, Pack pack,
                       uint8_t *out) {
  float scratch[kBlock];
  for (int64_t b = 0; b < cols / kBlock; ++b) {
    const float *w =
        importance ? usableWeights(importance + b * kBlock, kBlock, scratch)
                   : nullptr;
    pack(quantizeBlock(x + b * kBlock, w), out + b * blockBytes);
  }
}

/// Q8_0 with weights (ggml ignores them for Q8_0; the search costs little
/// and is never worse): the round-to-nearest block, then the weighted
/// least-squares scale and its binary16 neighbours with Lloyd steps, codes
/// in ggml's [-127, 127].
void searchRowQ8_0(const float *x, const float *w, uint8_t *out) {
  const SearchKernels &kernels = searchKernels();
  float amax = 0.0f;
  for (int i = 0; i < kBlock; ++i)
    amax = std::max(amax, std::fabs(x[i]));
  uint16_t bestD = fp32ToFp16Bits(amax / 127.0f);
  int8_t best[kBlock];
  double bestError = 0.0;
  {
    float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
    float stored = fp16BitsToFp32(bestD);
    for (int i = 0; i < kBlock; ++i) {
      best[i] = static_cast<int8_t>(static_cast<int>(roundHalfAway(x[i] * id)));
      float diff = x[i] - static_cast<float>(best[i]) * stored;
      bestError += static_cast<double>(w[i] * diff) * diff;
    }
  }
  float scale = fitSymmetric(x, w, kBlock, -127, 127, 1.0f).scale;
  float v[kBlock];
  for (int round = 0; round < 3 && scale != 0.0f; ++round) {
    bool improved = false;
    for (int k = -1; k <= 1; ++k) {
      float d = fp16Neighbor(scale, k);
      if (d == 0.0f)
        continue;
      double e = kernels.requantSymmetric(x, w, kBlock, d, -127.0f, 127.0f, v);
      if (e < bestError) {
        bestError = e;
        bestD = fp32ToFp16Bits(d);
        for (int i = 0; i < kBlock; ++i)
          best[i] = static_cast<int8_t>(v[i]);
        improved = true;
      }
    }
    if (!improved)
      break;
    double sxq = 0.0, sqq = 0.0;
    for (int i = 0; i < kBlock; ++i) {
      sxq += static_cast<double>(w[i]) * x[i] * best[i];
      sqq += static_cast<double>(w[i]) * best[i] * best[i];
    }
    scale = sqq > 0.0 ? static_cast<float>(sxq / sqq) : 0.0f;
  }
  storeU16(out, bestD);
  std::memcpy(out + 2, best, kBlock);
}

} // namespace

//===-- Packing -----------------------------------------------------------===//

void packNibbles(const uint8_t *q, uint8_t *out) {
  for (int j = 0; j < 16; ++j)
    out[j] = static_cast<uint8_t>((q[j] & 0x0f) | ((q[j + 16] & 0x0f) << 4));
}

void packFifthBits(const uint8_t *q, uint8_t *out) {
  uint32_t qh = 0;
  for (int j = 0; j < 32; ++j)
    qh |= static_cast<uint32_t>((q[j] >> 4) & 1) << j;
  std::memcpy(out, &qh, 4);
}

/// Codes of a nibble block (plus the fifth bits when `qh` is given).
void unpackCodes(const uint8_t *nibbles, const uint8_t *qh, int *q) {
  uint32_t high = 0;
  if (qh)
    std::memcpy(&high, qh, 4);
  for (int j = 0; j < 32 / 2; ++j) {
    q[j] = (nibbles[j] & 0x0f) | static_cast<int>(((high >> j) & 1) << 4);
    q[j + 16] =
        (nibbles[j] >> 4) | static_cast<int>(((high >> (j + 16)) & 1) << 4);
  }
}

//===-- Q8_0 --------------------------------------------------------------===//

void quantizeRowQ8_0(const float *x, int64_t cols, const float *importance,
                     uint8_t *out) {
  if (importance) {
    float scratch[kBlock];
    for (int64_t b = 0; b < cols / kBlock; ++b)
      searchRowQ8_0(x + b * kBlock,
                    usableWeights(importance + b * kBlock, kBlock, scratch),
                    out + b * 34);
    return;
  }
  if (auto fast = searchKernels().roundRowQ8_0)
    return fast(x, cols, out);
  for (int64_t b = 0; b < cols / kBlock; ++b) {
    const float *xb = x + b * kBlock;
    uint8_t *ob = out + b * 34;
    float amax = 0.0f;
    for (int i = 0; i < kBlock; ++i) {
      float a = std::fabs(xb[i]);
      amax = amax > a ? amax : a;
    }
    float d = amax / 127.0f;
    float id = d != 0.0f ? 1.0f / d : 0.0f;
    storeU16(ob, fp32ToFp16Bits(d));
    for (int i = 0; i < kBlock; ++i)
      ob[2 + i] = static_cast<uint8_t>(
          static_cast<int8_t>(static_cast<int>(roundHalfAway(xb[i] * id))));
  }
}

void dequantizeRowQ8_0(const uint8_t *in, int64_t cols, float *out) {
  for (int64_t b = 0; b < cols / kBlock; ++b) {
    const uint8_t *ib = in + b * 34;
    float d = fp16BitsToFp32(loadU16(ib));
    for (int i = 0; i < kBlock; ++i)
      out[b * kBlock + i] =
          static_cast<float>(static_cast<int8_t>(ib[2 + i])) * d;
  }
}

//===-- Q4_0 / Q5_0 -------------------------------------------------------===//

void quantizeRowQ4_0(const float *x, int64_t cols, const float *importance,
                     uint8_t *out) {
  if (auto fast = searchKernels().roundRowQ4_0; fast && !importance)
    return fast(x, cols, out);
  quantizeLegacyRow(
      x, cols, importance, 18,
      [](const float *xb, const float *w) {
        return w ? searchSymmetric(xb, w, 8) : roundSymmetric(xb, 8);
      },
      [](const LegacyBlock &b, uint8_t *ob) {
        storeU16(ob, b.d);
        packNibbles(b.q, ob + 2);
      },
      out);
}

void dequantizeRowQ4_0(const uint8_t *in, int64_t cols, float *out) {
  int q[kBlock];
  for (int64_t b = 0; b < cols / kBlock; ++b) {
    const uint8_t *ib = in + b * 18;
    float d = fp16BitsToFp32(loadU16(ib));
    unpackCodes(ib + 2, nullptr, q);
    for (int i = 0; i < kBlock; ++i)
      out[b * kBlock + i] = static_cast<float>(q[i] - 8) * d;
  }
}

void quantizeRowQ5_0(const float *x, int64_t cols, const float *importance,
                     uint8_t *out) {
  quantizeLegacyRow(
      x, cols, importance, 22,
      [](const float *xb, const float *w) {
        return w ? searchSymmetric(xb, w, 16) : roundSymmetric(xb, 16);
      },
      [](const LegacyBlock &b, uint8_t *ob) {
        storeU16(ob, b.d);
        packFifthBits(b.q, ob + 2);
        packNibbles(b.q, ob + 6);
      },
      out);
}

void dequantizeRowQ5_0(const uint8_t *in, int64_t cols, float *out) {
  int q[kBlock];
  for (int64_t b = 0; b < cols / kBlock; ++b) {
    const uint8_t *ib = in + b * 22;
    float d = fp16BitsToFp32(loadU16(ib));
    unpackCodes(ib + 6, ib + 2, q);
    for (int i = 0; i < kBlock; ++i)
      out[b * kBlock + i] = static_cast<float>(q[i] - 16) * d;
  }
}

//===-- Q4_1 / Q5_1 -------------------------------------------------------===//

void quantizeRowQ4_1(const float *x, int64_t cols, const float *importance,
                     uint8_t *out) {
  quantizeLegacyRow(
      x, cols, importance, 20,
      [](const float *xb, const float *w) {
        return w ? searchAffine(xb, w, 15, true) : roundAffine(xb, 15, true);
      },
      [](const LegacyBlock &b, uint8_t *ob) {
        storeU16(ob, b.d);
        storeU16(ob + 2, b.m);
        packNibbles(b.q, ob + 4);
      },
      out);
}

void dequantizeRowQ4_1(const uint8_t *in, int64_t cols, float *out) {
  int q[kBlock];
  for (int64_t b = 0; b < cols / kBlock; ++b) {
    const uint8_t *ib = in + b * 20;
    float d = fp16BitsToFp32(loadU16(ib));
    float m = fp16BitsToFp32(loadU16(ib + 2));
    unpackCodes(ib + 4, nullptr, q);
    for (int i = 0; i < kBlock; ++i)
      out[b * kBlock + i] = static_cast<float>(q[i]) * d + m;
  }
}

void quantizeRowQ5_1(const float *x, int64_t cols, const float *importance,
                     uint8_t *out) {
  quantizeLegacyRow(
      x, cols, importance, 24,
      [](const float *xb, const float *w) {
        return w ? searchAffine(xb, w, 31, false) : roundAffine(xb, 31, false);
      },
      [](const LegacyBlock &b, uint8_t *ob) {
        storeU16(ob, b.d);
        storeU16(ob + 2, b.m);
        packFifthBits(b.q, ob + 4);
        packNibbles(b.q, ob + 8);
      },
      out);
}

void dequantizeRowQ5_1(const uint8_t *in, int64_t cols, float *out) {
  int q[kBlock];
  for (int64_t b = 0; b < cols / kBlock; ++b) {
    const uint8_t *ib = in + b * 24;
    float d = fp16BitsToFp32(loadU16(ib));
    float m = fp16BitsToFp32(loadU16(ib + 2));
    unpackCodes(ib + 8, ib + 4, q);
    for (int i = 0; i < kBlock; ++i)
      out[b * kBlock + i] = static_cast<float>(q[i]) * d + m;
  }
}

} // namespace phiq::quant::detail
