//===- SearchKernels.cpp - Portable search loops and dispatch ---*- C++ -*-===//
//
// The portable versions of the loops in SearchKernels.h, written as eight
// explicit lanes so they compute exactly what the AVX2 versions compute
// (see SearchKernelsAVX2.cpp), and the choice between them by CPU level.
//
//===----------------------------------------------------------------------===//

#include "SearchKernels.h"
#include "ScaleSearch.h"

#include "phiq/Runtime/Kernels.h"

namespace phiq::quant::detail {

const float kIQ4Grid[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                            1,    13,   25,  38,  53,  69,  89,  113};

namespace {

float requantAffinePortable(const float *x, const float *w, int n, float dl,
                            float ml, float top, float *q) {
  float inv = dl > 0.0f ? 1.0f / dl : 0.0f;
  float error[kLanes] = {};
  for (int i0 = 0; i0 < n; i0 += kLanes)
    for (int k = 0; k < kLanes; ++k) {
      int i = i0 + k;
      float v = roundNearest(clampFloat((x[i] + ml) * inv, 0.0f, top));
      q[i] = v;
      float diff = x[i] - (dl * v - ml);
      error[k] += w[i] * diff * diff;
    }
  return sumLanes(error);
}

float requantSymmetricPortable(const float *x, const float *w, int n, float dl,
                               float lo, float hi, float *q) {
  float inv = dl != 0.0f ? 1.0f / dl : 0.0f;
  float error[kLanes] = {};
  for (int i0 = 0; i0 < n; i0 += kLanes)
    for (int k = 0; k < kLanes; ++k) {
      int i = i0 + k;
      float v = roundNearest(clampFloat(x[i] * inv, lo, hi));
      q[i] = v;
      float diff = x[i] - dl * v;
      error[k] += w[i] * diff * diff;
    }
  return sumLanes(error);
}

FitSums fitSumsPortable(const float *x, const float *w, int n, float base,
                        float iscale, float lo, float hi) {
  float sq[kLanes] = {}, sqq[kLanes] = {}, sxq[kLanes] = {};
  for (int i0 = 0; i0 < n; i0 += kLanes)
    for (int k = 0; k < kLanes; ++k) {
      int i = i0 + k;
      float q = roundNearest(clampFloat((x[i] - base) * iscale, lo, hi));
      float wq = w[i] * q;
      sq[k] += wq;
      sqq[k] += wq * q;
      sxq[k] += w[i] * x[i] * q;
    }
  return {sumLanes(sq), sumLanes(sqq), sumLanes(sxq)};
}

void fitSumsBatchPortable(const float *x, const float *w, int n,
                          const float *base, const float *iscale, int count,
                          float lo, float hi, FitSums *out) {
  for (int c = 0; c < count; ++c)
    out[c] = fitSumsPortable(x, w, n, base[c], iscale[c], lo, hi);
}

void laneFitSumsPortable(const float *x, const float *w, int n,
                         const float *base, const float *iscale, float lo,
                         float hi, LaneSums *out) {
  float sq[kLanes] = {}, sqq[kLanes] = {}, sxq[kLanes] = {};
  for (int i = 0; i < n; ++i)
    for (int k = 0; k < kLanes; ++k) {
      float xi = x[i * kLanes + k], wi = w[i * kLanes + k];
      float q = roundNearest(clampFloat((xi - base[k]) * iscale[k], lo, hi));
      float wq = wi * q;
      sq[k] += wq;
      sqq[k] += wq * q;
      sxq[k] += wi * xi * q;
    }
  for (int k = 0; k < kLanes; ++k) {
    out->q[k] = sq[k];
    out->qq[k] = sqq[k];
    out->xq[k] = sxq[k];
  }
}

void laneRequantPortable(const float *x, const float *w, int n,
                         const float *dl, const float *ml, const float *inv,
                         float lo, float hi, float *q, float *err) {
  float error[kLanes] = {};
  for (int i = 0; i < n; ++i)
    for (int k = 0; k < kLanes; ++k) {
      float xi = x[i * kLanes + k];
      float v = roundNearest(clampFloat((xi + ml[k]) * inv[k], lo, hi));
      q[i * kLanes + k] = v;
      float diff = xi - (dl[k] * v - ml[k]);
      error[k] += w[i * kLanes + k] * diff * diff;
    }
  for (int k = 0; k < kLanes; ++k)
    err[k] = error[k];
}

/// The grid value nearest v and its index: V[0] plus every gap whose
/// midpoint lies below v (ties go to the lower value).
inline float gridValue(float v, float &index) {
  float value = kIQ4Grid[0], k = 0.0f;
  for (int g = 0; g < 15; ++g) {
    bool above = v > 0.5f * (kIQ4Grid[g] + kIQ4Grid[g + 1]);
    value += above ? kIQ4Grid[g + 1] - kIQ4Grid[g] : 0.0f;
    k += above ? 1.0f : 0.0f;
  }
  index = k;
  return value;
}

FitSums gridSumsPortable(const float *x, const float *w, int n, float inv) {
  float sq[kLanes] = {}, sqq[kLanes] = {}, sxq[kLanes] = {};
  for (int i0 = 0; i0 < n; i0 += kLanes)
    for (int k = 0; k < kLanes; ++k) {
      int i = i0 + k;
      float index;
      float q = gridValue(x[i] * inv, index);
      float wq = w[i] * q;
      sq[k] += wq;
      sqq[k] += wq * q;
      sxq[k] += w[i] * x[i] * q;
    }
  return {sumLanes(sq), sumLanes(sqq), sumLanes(sxq)};
}

float gridErrorPortable(const float *x, const float *w, int n, float d,
                        float *index) {
  float inv = d != 0.0f ? 1.0f / d : 0.0f;
  float error[kLanes] = {};
  for (int i0 = 0; i0 < n; i0 += kLanes)
    for (int k = 0; k < kLanes; ++k) {
      int i = i0 + k;
      float value = gridValue(x[i] * inv, index[i]);
      float diff = x[i] - d * value;
      error[k] += w[i] * diff * diff;
    }
  return sumLanes(error);
}


void errorAndNormPortable(const float *x, const float *y, int64_t n,
                          double *error, double *norm) {
  double e = 0.0, s = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    double diff = double(x[i]) - y[i];
    e += diff * diff;
    s += double(x[i]) * x[i];
  }
  *error = e;
  *norm = s;
}

} // namespace

const SearchKernels &portableSearchKernels() {
  static const SearchKernels kernels = {
      requantAffinePortable, requantSymmetricPortable, fitSumsPortable,
      fitSumsBatchPortable, laneFitSumsPortable, laneRequantPortable,
      gridSumsPortable, gridErrorPortable, nullptr, nullptr,
      errorAndNormPortable};
  return kernels;
}

#if !defined(__x86_64__)
const SearchKernels *avx2SearchKernels() { return nullptr; }
#endif

const SearchKernels &searchKernels() {
  if (rt::detectCpuLevel() != rt::CpuLevel::Portable)
    if (const SearchKernels *avx2 = avx2SearchKernels())
      return *avx2;
  return portableSearchKernels();
}

} // namespace phiq::quant::detail
