//===- SearchKernelsAVX2.cpp - AVX2 search loops ----------------*- C++ -*-===//
//
// The loops of SearchKernels.h eight floats at a time. One __m256 of
// partial sums is exactly the portable code's eight lanes, and each
// instruction is the IEEE operation the portable code performs on that
// lane (no FMA: products and sums round separately), so the results are
// bit-identical to the portable kernels. min/max stand for the portable
// clamps: they differ only for NaN (inputs are finite) and for the sign of
// a zero, which the rounding step below erases.
//
// This file is compiled with -mavx2; nothing here runs unless the CPU level
// in use is AVX2 or better.
//
//===----------------------------------------------------------------------===//

#include "ScaleSearch.h"
#include "SearchKernels.h"

#include "phiq/Quant/Fp16.h"
#include "phiq/Runtime/Kernels.h"

#include <algorithm>
#include <cstring>

#include <immintrin.h>

namespace phiq::quant::detail {
namespace {

/// Sum of the eight lanes in lane order, as sumLanes does.
inline float sumInOrder(__m256 v) {
  alignas(32) float lanes[kLanes];
  _mm256_store_ps(lanes, v);
  return sumLanes(lanes);
}

inline __m256 roundNearest8(__m256 v) {
  const __m256 magic = _mm256_set1_ps(12582912.0f);
  return _mm256_sub_ps(_mm256_add_ps(v, magic), magic);
}

inline __m256 clamp8(__m256 v, __m256 lo, __m256 hi) {
  return _mm256_min_ps(_mm256_max_ps(v, lo), hi);
}

float requantAffineAVX2(const float *x, const float *w, int n, float dl,
                        float ml, float top, float *q) {
  __m256 inv = _mm256_set1_ps(dl > 0.0f ? 1.0f / dl : 0.0f);
  __m256 vdl = _mm256_set1_ps(dl), vml = _mm256_set1_ps(ml);
  __m256 lo = _mm256_setzero_ps(), hi = _mm256_set1_ps(top);
  __m256 error = _mm256_setzero_ps();
  for (int i = 0; i < n; i += kLanes) {
    __m256 xi = _mm256_loadu_ps(x + i), wi = _mm256_loadu_ps(w + i);
    __m256 v = roundNearest8(
        clamp8(_mm256_mul_ps(_mm256_add_ps(xi, vml), inv), lo, hi));
    _mm256_storeu_ps(q + i, v);
    __m256 diff = _mm256_sub_ps(xi, _mm256_sub_ps(_mm256_mul_ps(vdl, v), vml));
    error = _mm256_add_ps(error, _mm256_mul_ps(_mm256_mul_ps(wi, diff), diff));
  }
  return sumInOrder(error);
}

float requantSymmetricAVX2(const float *x, const float *w, int n, float dl,
                           float lo, float hi, float *q) {
  __m256 inv = _mm256_set1_ps(dl != 0.0f ? 1.0f / dl : 0.0f);
  __m256 vdl = _mm256_set1_ps(dl);
  __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
  __m256 error = _mm256_setzero_ps();
  for (int i = 0; i < n; i += kLanes) {
    __m256 xi = _mm256_loadu_ps(x + i), wi = _mm256_loadu_ps(w + i);
    __m256 v = roundNearest8(clamp8(_mm256_mul_ps(xi, inv), vlo, vhi));
    _mm256_storeu_ps(q + i, v);
    __m256 diff = _mm256_sub_ps(xi, _mm256_mul_ps(vdl, v));
    error = _mm256_add_ps(error, _mm256_mul_ps(_mm256_mul_ps(wi, diff), diff));
  }
  return sumInOrder(error);
}

FitSums fitSumsAVX2(const float *x, const float *w, int n, float base,
                    float iscale, float lo, float hi) {
  __m256 vbase = _mm256_set1_ps(base), vscale = _mm256_set1_ps(iscale);
  __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
  __m256 sq = _mm256_setzero_ps(), sqq = sq, sxq = sq;
  for (int i = 0; i < n; i += kLanes) {
    __m256 xi = _mm256_loadu_ps(x + i), wi = _mm256_loadu_ps(w + i);
    __m256 q = roundNearest8(
        clamp8(_mm256_mul_ps(_mm256_sub_ps(xi, vbase), vscale), vlo, vhi));
    __m256 wq = _mm256_mul_ps(wi, q);
    sq = _mm256_add_ps(sq, wq);
    sqq = _mm256_add_ps(sqq, _mm256_mul_ps(wq, q));
    sxq = _mm256_add_ps(sxq, _mm256_mul_ps(_mm256_mul_ps(wi, xi), q));
  }
  return {sumInOrder(sq), sumInOrder(sqq), sumInOrder(sxq)};
}

/// Transposes the 8 x 8 matrix whose rows are r[0..7].
inline void transpose8(__m256 r[8]) {
  __m256 t[8], u[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    u[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 4; ++i) {
    r[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
    r[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
  }
}

/// Adds lanes 0..7 of each row in order (as sumInOrder does), for eight
/// rows at once: lane c of the result is row c's sum.
inline __m256 sumRowsInOrder(__m256 r[8]) {
  transpose8(r);
  __m256 sum = _mm256_setzero_ps();
  for (int k = 0; k < kLanes; ++k)
    sum = _mm256_add_ps(sum, r[k]);
  return sum;
}

void fitSumsBatchAVX2(const float *x, const float *w, int n,
                      const float *base, const float *iscale, int count,
                      float lo, float hi, FitSums *out) {
  __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
  for (int c0 = 0; c0 < count; c0 += 8) {
    int m = count - c0 < 8 ? count - c0 : 8;
    __m256 sq[8], sqq[8], sxq[8];
    for (int c = 0; c < 8; ++c) {
      sq[c] = sqq[c] = sxq[c] = _mm256_setzero_ps();
      if (c >= m)
        continue;
      __m256 vbase = _mm256_set1_ps(base[c0 + c]);
      __m256 vscale = _mm256_set1_ps(iscale[c0 + c]);
      for (int i = 0; i < n; i += kLanes) {
        __m256 xi = _mm256_loadu_ps(x + i), wi = _mm256_loadu_ps(w + i);
        __m256 q = roundNearest8(
            clamp8(_mm256_mul_ps(_mm256_sub_ps(xi, vbase), vscale), vlo, vhi));
        __m256 wq = _mm256_mul_ps(wi, q);
        sq[c] = _mm256_add_ps(sq[c], wq);
        sqq[c] = _mm256_add_ps(sqq[c], _mm256_mul_ps(wq, q));
        sxq[c] = _mm256_add_ps(sxq[c], _mm256_mul_ps(_mm256_mul_ps(wi, xi), q));
      }
    }
    alignas(32) float tq[8], tqq[8], txq[8];
    _mm256_store_ps(tq, sumRowsInOrder(sq));
    _mm256_store_ps(tqq, sumRowsInOrder(sqq));
    _mm256_store_ps(txq, sumRowsInOrder(sxq));
    for (int c = 0; c < m; ++c)
      out[c0 + c] = {tq[c], tqq[c], txq[c]};
  }
}

void laneFitSumsAVX2(const float *x, const float *w, int n, const float *base,
                     const float *iscale, float lo, float hi, LaneSums *out) {
  __m256 vbase = _mm256_loadu_ps(base), vscale = _mm256_loadu_ps(iscale);
  __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
  __m256 sq = _mm256_setzero_ps(), sqq = sq, sxq = sq;
  for (int i = 0; i < n; ++i) {
    __m256 xi = _mm256_loadu_ps(x + i * kLanes);
    __m256 wi = _mm256_loadu_ps(w + i * kLanes);
    __m256 q = roundNearest8(
        clamp8(_mm256_mul_ps(_mm256_sub_ps(xi, vbase), vscale), vlo, vhi));
    __m256 wq = _mm256_mul_ps(wi, q);
    sq = _mm256_add_ps(sq, wq);
    sqq = _mm256_add_ps(sqq, _mm256_mul_ps(wq, q));
    sxq = _mm256_add_ps(sxq, _mm256_mul_ps(_mm256_mul_ps(wi, xi), q));
  }
  _mm256_storeu_ps(out->q, sq);
  _mm256_storeu_ps(out->qq, sqq);
  _mm256_storeu_ps(out->xq, sxq);
}

void laneRequantAVX2(const float *x, const float *w, int n, const float *dl,
                     const float *ml, const float *inv, float lo, float hi,
                     float *q, float *err) {
  __m256 vdl = _mm256_loadu_ps(dl), vml = _mm256_loadu_ps(ml);
  __m256 vinv = _mm256_loadu_ps(inv);
  __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
  __m256 error = _mm256_setzero_ps();
  for (int i = 0; i < n; ++i) {
    __m256 xi = _mm256_loadu_ps(x + i * kLanes);
    __m256 wi = _mm256_loadu_ps(w + i * kLanes);
    __m256 v = roundNearest8(
        clamp8(_mm256_mul_ps(_mm256_add_ps(xi, vml), vinv), vlo, vhi));
    _mm256_storeu_ps(q + i * kLanes, v);
    __m256 diff = _mm256_sub_ps(xi, _mm256_sub_ps(_mm256_mul_ps(vdl, v), vml));
    error = _mm256_add_ps(error, _mm256_mul_ps(_mm256_mul_ps(wi, diff), diff));
  }
  _mm256_storeu_ps(err, error);
}

/// Nearest grid value (and index) of eight values, as gridValue does.
inline __m256 gridValue8(__m256 v, __m256 &index) {
  __m256 value = _mm256_set1_ps(kIQ4Grid[0]);
  __m256 k = _mm256_setzero_ps();
  const __m256 one = _mm256_set1_ps(1.0f);
  for (int g = 0; g < 15; ++g) {
    __m256 mid = _mm256_set1_ps(0.5f * (kIQ4Grid[g] + kIQ4Grid[g + 1]));
    __m256 above = _mm256_cmp_ps(v, mid, _CMP_GT_OQ);
    __m256 gap = _mm256_set1_ps(kIQ4Grid[g + 1] - kIQ4Grid[g]);
    value = _mm256_add_ps(value, _mm256_and_ps(above, gap));
    k = _mm256_add_ps(k, _mm256_and_ps(above, one));
  }
  index = k;
  return value;
}

FitSums gridSumsAVX2(const float *x, const float *w, int n, float inv) {
  __m256 vinv = _mm256_set1_ps(inv);
  __m256 sq = _mm256_setzero_ps(), sqq = sq, sxq = sq;
  for (int i = 0; i < n; i += kLanes) {
    __m256 xi = _mm256_loadu_ps(x + i), wi = _mm256_loadu_ps(w + i);
    __m256 index;
    __m256 q = gridValue8(_mm256_mul_ps(xi, vinv), index);
    __m256 wq = _mm256_mul_ps(wi, q);
    sq = _mm256_add_ps(sq, wq);
    sqq = _mm256_add_ps(sqq, _mm256_mul_ps(wq, q));
    sxq = _mm256_add_ps(sxq, _mm256_mul_ps(_mm256_mul_ps(wi, xi), q));
  }
  return {sumInOrder(sq), sumInOrder(sqq), sumInOrder(sxq)};
}

float gridErrorAVX2(const float *x, const float *w, int n, float d,
                    float *index) {
  __m256 vinv = _mm256_set1_ps(d != 0.0f ? 1.0f / d : 0.0f);
  __m256 vd = _mm256_set1_ps(d);
  __m256 error = _mm256_setzero_ps();
  for (int i = 0; i < n; i += kLanes) {
    __m256 xi = _mm256_loadu_ps(x + i), wi = _mm256_loadu_ps(w + i);
    __m256 k;
    __m256 value = gridValue8(_mm256_mul_ps(xi, vinv), k);
    _mm256_storeu_ps(index + i, k);
    __m256 diff = _mm256_sub_ps(xi, _mm256_mul_ps(vd, value));
    error = _mm256_add_ps(error, _mm256_mul_ps(_mm256_mul_ps(wi, diff), diff));
  }
  return sumInOrder(error);
}

} // namespace

namespace {

//===-- Round-to-nearest Q8_0 / Q4_0 rows ---------------------------------===//

constexpr int kBlockElements = 32;

/// C's round() (halfway cases away from zero) of each lane, exactly as the
/// portable roundHalfAway: truncate, then step by one where the (exact)
/// remainder reaches a half.
inline __m256 roundHalfAway8(__m256 v) {
  const __m256 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.0f);
  __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  __m256 frac = _mm256_sub_ps(v, t);
  __m256 up = _mm256_and_ps(_mm256_cmp_ps(frac, half, _CMP_GE_OQ), one);
  __m256 down = _mm256_and_ps(
      _mm256_cmp_ps(frac, _mm256_sub_ps(_mm256_setzero_ps(), half),
                    _CMP_LE_OQ),
      one);
  return _mm256_sub_ps(_mm256_add_ps(t, up), down);
}

/// The largest |x| of a block (max is exact, so the order does not matter).
inline float blockAbsMax(const __m256 v[4], __m256 abs[4]) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  for (int k = 0; k < 4; ++k)
    abs[k] = _mm256_andnot_ps(sign, v[k]);
  __m256 m = _mm256_max_ps(_mm256_max_ps(abs[0], abs[1]),
                           _mm256_max_ps(abs[2], abs[3]));
  __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
  h = _mm_max_ps(h, _mm_movehl_ps(h, h));
  h = _mm_max_ss(h, _mm_movehdup_ps(h));
  return _mm_cvtss_f32(h);
}

/// 32 int32 lanes (each in -128..255) to 32 bytes in element order.
inline __m256i packBytes(__m256i a, __m256i b, __m256i c, __m256i d) {
  __m256i ab = _mm256_packs_epi32(a, b), cd = _mm256_packs_epi32(c, d);
  __m256i bytes = _mm256_packs_epi16(ab, cd);
  // The packs interleave 128-bit lanes; put the dwords back in order.
  return _mm256_permutevar8x32_epi32(bytes,
                                     _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

void roundRowQ8_0AVX2(const float *x, int64_t cols, uint8_t *out) {
  for (int64_t b = 0; b < cols / kBlockElements; ++b) {
    const float *xb = x + b * kBlockElements;
    uint8_t *ob = out + b * 34;
    __m256 v[4], abs[4];
    for (int k = 0; k < 4; ++k)
      v[k] = _mm256_loadu_ps(xb + 8 * k);
    float amax = blockAbsMax(v, abs);
    float d = amax / 127.0f;
    float id = d != 0.0f ? 1.0f / d : 0.0f;
    uint16_t dBits = fp32ToFp16Bits(d);
    std::memcpy(ob, &dBits, 2);
    __m256 scale = _mm256_set1_ps(id);
    __m256i q[4];
    for (int k = 0; k < 4; ++k)
      q[k] = _mm256_cvttps_epi32(roundHalfAway8(_mm256_mul_ps(v[k], scale)));
    _mm256_storeu_si256(reinterpret_cast<__m256i *>(ob + 2),
                        packBytes(q[0], q[1], q[2], q[3]));
  }
}

void roundRowQ4_0AVX2(const float *x, int64_t cols, uint8_t *out) {
  const __m256 bias = _mm256_set1_ps(8.5f);
  const __m256i top = _mm256_set1_epi32(15);
  for (int64_t b = 0; b < cols / kBlockElements; ++b) {
    const float *xb = x + b * kBlockElements;
    uint8_t *ob = out + b * 18;
    __m256 v[4], abs[4];
    for (int k = 0; k < 4; ++k)
      v[k] = _mm256_loadu_ps(xb + 8 * k);
    float amax = blockAbsMax(v, abs);
    // ggml keeps the sign of the first value of largest magnitude.
    float extreme = 0.0f;
    if (amax != 0.0f) {
      __m256 m = _mm256_set1_ps(amax);
      uint32_t hits = 0;
      for (int k = 0; k < 4; ++k)
        hits |= uint32_t(_mm256_movemask_ps(
                    _mm256_cmp_ps(abs[k], m, _CMP_EQ_OQ)))
                << (8 * k);
      extreme = xb[__builtin_ctz(hits)];
    }
    float d = extreme / -8.0f;
    float id = d != 0.0f ? 1.0f / d : 0.0f;
    uint16_t dBits = fp32ToFp16Bits(d);
    std::memcpy(ob, &dBits, 2);
    __m256 scale = _mm256_set1_ps(id);
    __m256i q[4];
    for (int k = 0; k < 4; ++k)
      q[k] = _mm256_min_epi32(
          _mm256_cvttps_epi32(
              _mm256_add_ps(_mm256_mul_ps(v[k], scale), bias)),
          top);
    __m256i codes = packBytes(q[0], q[1], q[2], q[3]);
    // Byte j holds codes j (low nibble) and j + 16 (high nibble).
    __m128i low = _mm256_castsi256_si128(codes);
    __m128i high = _mm256_extracti128_si256(codes, 1);
    _mm_storeu_si128(reinterpret_cast<__m128i *>(ob + 2),
                     _mm_or_si128(low, _mm_slli_epi16(high, 4)));
  }
}

/// Eight float lanes of squares per 256 elements, then double: plenty for a
/// reported error, and no float sum grows long enough to lose it.
void errorAndNormAVX2(const float *x, const float *y, int64_t n,
                      double *error, double *norm) {
  double e = 0.0, s = 0.0;
  int64_t i = 0;
  while (i + 8 <= n) {
    __m256 laneError = _mm256_setzero_ps(), laneNorm = _mm256_setzero_ps();
    int64_t end = std::min<int64_t>(n - n % 8, i + 256);
    for (; i < end; i += 8) {
      __m256 xv = _mm256_loadu_ps(x + i);
      __m256 d = _mm256_sub_ps(xv, _mm256_loadu_ps(y + i));
      laneError = _mm256_add_ps(laneError, _mm256_mul_ps(d, d));
      laneNorm = _mm256_add_ps(laneNorm, _mm256_mul_ps(xv, xv));
    }
    alignas(32) float le[8], ln[8];
    _mm256_store_ps(le, laneError);
    _mm256_store_ps(ln, laneNorm);
    for (int k = 0; k < 8; ++k) {
      e += le[k];
      s += ln[k];
    }
  }
  for (; i < n; ++i) {
    double diff = double(x[i]) - y[i];
    e += diff * diff;
    s += double(x[i]) * x[i];
  }
  *error = e;
  *norm = s;
}

} // namespace

const SearchKernels *avx2SearchKernels() {
  static const SearchKernels kernels = {requantAffineAVX2, requantSymmetricAVX2,
                                        fitSumsAVX2, fitSumsBatchAVX2,
                                        laneFitSumsAVX2, laneRequantAVX2,
                                        gridSumsAVX2,
                                        gridErrorAVX2, roundRowQ8_0AVX2,
                                        roundRowQ4_0AVX2, errorAndNormAVX2};
  return rt::hardwareCpuLevel() == rt::CpuLevel::Portable ? nullptr : &kernels;
}

} // namespace phiq::quant::detail
