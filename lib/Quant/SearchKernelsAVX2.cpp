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

#include "phiq/Runtime/Kernels.h"

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

const SearchKernels *avx2SearchKernels() {
  static const SearchKernels kernels = {requantAffineAVX2, requantSymmetricAVX2,
                                        fitSumsAVX2, gridSumsAVX2,
                                        gridErrorAVX2};
  return rt::hardwareCpuLevel() == rt::CpuLevel::Portable ? nullptr : &kernels;
}

} // namespace phiq::quant::detail
