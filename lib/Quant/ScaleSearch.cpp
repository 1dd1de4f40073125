//===- ScaleSearch.cpp - Weighted least-squares scale fits -------*- C++
//-*-===//
//
// The grid scans and Lloyd polishing described in ScaleSearch.h. The
// per-candidate sums run in float lanes (they vectorize); the error of a
// candidate, a small difference of those sums, is formed in double.
//
//===----------------------------------------------------------------------===//

#include "ScaleSearch.h"
#include "SearchKernels.h"

#include "phiq/Quant/Fp16.h"

#include <cmath>
#include <initializer_list>
#include <limits>

namespace phiq::quant::detail {

const float *usableWeights(const float *w, int n, float *scratch) {
  float sum = 0.0f;
  for (int i = 0; i < n; ++i)
    sum += w[i];
  if (sum > 0.0f)
    return w;
  for (int i = 0; i < n; ++i)
    scratch[i] = 1.0f;
  return scratch;
}

bool solve2x2(double suu, double suv, double svv, double sxu, double sxv,
              double &a, double &b) {
  double det = suu * svv - suv * suv;
  if (!(det > 1e-12 * suu * svv) || !(det > 0.0))
    return false;
  a = (sxu * svv - sxv * suv) / det;
  b = (suu * sxv - suv * sxu) / det;
  return true;
}

float scanSpan(float end, float minSpan) {
  float relative = kScanRelativeSpan * std::fabs(end);
  return relative > minSpan ? relative : minSpan;
}

float fp16Neighbor(float value, int ulps) {
  uint16_t half = fp32ToFp16Bits(value);
  int magnitude = (half & 0x7fff) + ulps;
  magnitude = magnitude < 0 ? 0 : (magnitude > 0x7bff ? 0x7bff : magnitude);
  return fp16BitsToFp32(static_cast<uint16_t>((half & 0x8000) | magnitude));
}

SymmetricFit fitSymmetric(const float *x, const float *w, int n, int qmin,
                          int qmax, float minSpan) {
  float amax = 0.0f, extreme = 0.0f;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      extreme = x[i];
    }
  }
  SymmetricFit best;
  if (amax < kGroupZero)
    return best;
  const SearchKernels &kernels = searchKernels();
  double bestScore = -1.0;
  float lo = static_cast<float>(qmin), hi = static_cast<float>(qmax);
  // Codes q = clamp(round(iscale * x)) and the least-squares scale
  // a = sum w x q / sum w q^2 they imply, scored by the error reduction
  // (sum w x q)^2 / sum w q^2.
  auto judge = [&](const FitSums &t) {
    if (!(t.qq > 0.0f))
      return false;
    double score = double(t.xq) * t.xq / t.qq;
    if (score <= bestScore)
      return false;
    bestScore = score;
    best.scale = static_cast<float>(double(t.xq) / t.qq);
    best.gain = score;
    return true;
  };
  auto consider = [&](float iscale) {
    return judge(kernels.fitSums(x, w, n, 0.0f, iscale, lo, hi));
  };
  // The extreme value lands on each end of the code range, moved by up to
  // its scan span either way. The grid's sums come from one batched call;
  // the candidates are then judged in scan order.
  float spanLo = scanSpan(lo, minSpan), spanHi = scanSpan(hi, minSpan);
  constexpr int kGrid = 2 * (2 * kScanSteps + 1);
  float bases[kGrid] = {}, iscales[kGrid];
  int count = 0;
  for (int k = -kScanSteps; k <= kScanSteps; ++k) {
    float t = static_cast<float>(k) / kScanSteps;
    iscales[count++] = (lo + t * spanLo) / extreme;
    iscales[count++] = (hi + t * spanHi) / extreme;
  }
  FitSums sums[kGrid];
  kernels.fitSumsBatch(x, w, n, bases, iscales, count, lo, hi, sums);
  for (int c = 0; c < count; ++c)
    judge(sums[c]);
  // Lloyd: codes from the best scale, then the scale from those codes.
  for (int iter = 0; iter < 4 && best.scale != 0.0f; ++iter)
    if (!consider(1.0f / best.scale))
      break;
  return best;
}

AffineFit fitAffine(const float *x, const float *w, int n, int nmax,
                    bool offsetNonPositive, float minSpan) {
  float lo = x[0], hi = x[0];
  double sw = 0.0, swx = 0.0, swxx = 0.0;
  for (int i = 0; i < n; ++i) {
    lo = x[i] < lo ? x[i] : lo;
    hi = x[i] > hi ? x[i] : hi;
    sw += w[i];
    swx += static_cast<double>(w[i]) * x[i];
    swxx += static_cast<double>(w[i]) * x[i] * x[i];
  }
  if (offsetNonPositive && lo > 0.0f)
    lo = 0.0f;
  AffineFit best;
  best.offset = lo;
  if (!(hi > lo))
    return best;
  double bestError = std::numeric_limits<double>::infinity();
  float top = static_cast<float>(nmax);
  // Codes q_i = clamp(round((x_i - base) * iscale), 0, nmax), then the
  // least-squares (a, c) for them, with c clamped to <= 0 when asked.
  const SearchKernels &kernels = searchKernels();
  auto judge = [&](const FitSums &t) {
    double sq = t.q, sqq = t.qq, sxq = t.xq;
    if (!(sqq > 0.0))
      return false;
    // With det = sqq sw - sq^2, the least-squares fit is
    //   a = (sxq sw - swx sq) / det,  c = (sqq swx - sq sxq) / det,
    // and its error swxx - a sxq - c swx; with c pinned to 0 it is
    // a = sxq / sqq and swxx - a sxq.
    double det = sqq * sw - sq * sq;
    double aNum = sxq * sw - swx * sq, cNum = sqq * swx - sq * sxq;
    double a, c;
    if (det > 1e-12 * sqq * sw && !(offsetNonPositive && cNum > 0.0)) {
      a = aNum / det;
      c = cNum / det;
    } else {
      a = sxq / sqq;
      c = 0.0;
    }
    if (!(a > 0.0))
      return false;
    double error = swxx - a * sxq - c * swx;
    if (error >= bestError)
      return false;
    bestError = error;
    best.scale = static_cast<float>(a);
    best.offset = static_cast<float>(c);
    return true;
  };
  auto consider = [&](float base, float iscale) {
    return judge(kernels.fitSums(x, w, n, base, iscale, 0.0f, top));
  };
  // The codes of the scan start at the minimum, or half a step below or
  // above it: rounding the same scale from a shifted origin moves whole
  // runs of values to the next code, which the least-squares offset then
  // absorbs.
  float range = hi - lo;
  float span = scanSpan(top, minSpan);
  constexpr int kGrid = 3 * (2 * kScanSteps + 1);
  float bases[kGrid], iscales[kGrid];
  int count = 0;
  for (float shift : {0.0f, -0.5f, 0.5f})
    for (int k = -kScanSteps; k <= kScanSteps; ++k) {
      bases[count] = lo + shift * range / top;
      iscales[count++] =
          (top + span * static_cast<float>(k) / kScanSteps) / range;
    }
  FitSums sums[kGrid];
  kernels.fitSumsBatch(x, w, n, bases, iscales, count, 0.0f, top, sums);
  for (int c = 0; c < count; ++c)
    judge(sums[c]);
  if (best.scale == 0.0f) {
    // Nothing well-posed (e.g. zero weights on all but one value): plain
    // min/max quantization.
    best.scale = range / top;
    best.offset = lo;
    return best;
  }
  for (int iter = 0; iter < 4; ++iter)
    if (!consider(best.offset, 1.0f / best.scale))
      break;
  return best;
}

void fitSymmetricLanes(const float *x, const float *w, int n, int qmin,
                       int qmax, float minSpan, int scanSteps,
                       SymmetricFit *out) {
  float amax[kLanes] = {}, extreme[kLanes] = {};
  for (int i = 0; i < n; ++i)
    for (int k = 0; k < kLanes; ++k) {
      float v = x[i * kLanes + k];
      if (std::fabs(v) > amax[k]) {
        amax[k] = std::fabs(v);
        extreme[k] = v;
      }
    }
  bool live[kLanes];
  // Per lane, the sums of the best candidate so far: its score (error
  // reduction) xq^2 / qq is compared by cross-multiplying, so the scan
  // divides nothing (an exact zero xq, whose scale would be zero, never
  // wins: that leaves the scale at zero, as a zero score would).
  float bestXQ[kLanes], bestQQ[kLanes];
  for (int k = 0; k < kLanes; ++k) {
    out[k] = SymmetricFit();
    live[k] = !(amax[k] < kGroupZero);
    bestXQ[k] = 0.0f;
    bestQQ[k] = 1.0f;
  }
  const SearchKernels &kernels = searchKernels();
  float lo = static_cast<float>(qmin), hi = static_cast<float>(qmax);
  // The judge of fitSymmetric for all lanes; improved[k] says which won.
  bool improved[kLanes];
  auto judge = [&](const LaneSums &t) {
    for (int k = 0; k < kLanes; ++k) {
      double xq = t.xq[k], qq = t.qq[k], bx = bestXQ[k];
      bool take = live[k] && qq > 0.0 && xq * xq * bestQQ[k] > bx * bx * qq;
      bestXQ[k] = take ? t.xq[k] : bestXQ[k];
      bestQQ[k] = take ? t.qq[k] : bestQQ[k];
      improved[k] = take;
    }
  };
  const float zeros[kLanes] = {};
  float spanLo = scanSpan(lo, minSpan), spanHi = scanSpan(hi, minSpan);
  float iscale[kLanes], invExtreme[kLanes];
  for (int k = 0; k < kLanes; ++k)
    invExtreme[k] = live[k] ? 1.0f / extreme[k] : 0.0f;
  LaneSums sums;
  for (int kk = -scanSteps; kk <= scanSteps; ++kk) {
    float t = static_cast<float>(kk) / scanSteps;
    for (float target : {lo + t * spanLo, hi + t * spanHi}) {
      for (int k = 0; k < kLanes; ++k)
        iscale[k] = target * invExtreme[k];
      kernels.laneFitSums(x, w, n, zeros, iscale, lo, hi, &sums);
      judge(sums);
    }
  }
  auto scaleOf = [&](int k) {
    return bestXQ[k] != 0.0f
               ? static_cast<float>(double(bestXQ[k]) / bestQQ[k])
               : 0.0f;
  };
  // Lloyd steps, per lane until one fails to improve.
  for (int k = 0; k < kLanes; ++k)
    live[k] = live[k] && bestXQ[k] != 0.0f;
  for (int iter = 0; iter < 4; ++iter) {
    bool any = false;
    for (int k = 0; k < kLanes; ++k) {
      iscale[k] = live[k] ? 1.0f / scaleOf(k) : 0.0f;
      any |= live[k];
    }
    if (!any)
      break;
    kernels.laneFitSums(x, w, n, zeros, iscale, lo, hi, &sums);
    judge(sums);
    for (int k = 0; k < kLanes; ++k)
      live[k] = improved[k];
  }
  for (int k = 0; k < kLanes; ++k) {
    out[k].scale = scaleOf(k);
    out[k].gain = double(bestXQ[k]) * bestXQ[k] / bestQQ[k];
  }
}

void fitAffineLanes(const float *x, const float *w, int n, int nmax,
                    bool offsetNonPositive, float minSpan, int scanSteps,
                    AffineFit *out) {
  float lo[kLanes], hi[kLanes];
  double sw[kLanes] = {}, swx[kLanes] = {};
  for (int k = 0; k < kLanes; ++k)
    lo[k] = hi[k] = x[k];
  for (int i = 0; i < n; ++i)
    for (int k = 0; k < kLanes; ++k) {
      float xi = x[i * kLanes + k], wi = w[i * kLanes + k];
      lo[k] = xi < lo[k] ? xi : lo[k];
      hi[k] = xi > hi[k] ? xi : hi[k];
      sw[k] += wi;
      swx[k] += static_cast<double>(wi) * xi;
    }
  bool live[kLanes];
  // Per lane, the best fit so far as fractions over one positive
  // denominator: a = bestA / bestD, c = bestC / bestD, and its error
  // reduction bestN / bestD (error = swxx - a sxq - c swx); candidates are
  // compared by cross-multiplying, so the scan divides nothing.
  double bestN[kLanes], bestD[kLanes], bestA[kLanes], bestC[kLanes];
  bool found[kLanes];
  for (int k = 0; k < kLanes; ++k) {
    if (offsetNonPositive && lo[k] > 0.0f)
      lo[k] = 0.0f;
    out[k] = AffineFit();
    out[k].offset = lo[k];
    live[k] = hi[k] > lo[k];
    found[k] = false;
    bestN[k] = bestA[k] = bestC[k] = 0.0;
    bestD[k] = 1.0;
  }
  float top = static_cast<float>(nmax);
  const SearchKernels &kernels = searchKernels();
  // The judge of fitAffine for all lanes, without branches (which of the
  // 39 candidates wins is unpredictable); improved[k] says which won.
  bool improved[kLanes];
  auto judge = [&](const LaneSums &t) {
    for (int k = 0; k < kLanes; ++k) {
      double sq = t.q[k], sqq = t.qq[k], sxq = t.xq[k];
      double det = sqq * sw[k] - sq * sq;
      double aNum = sxq * sw[k] - swx[k] * sq, cNum = sqq * swx[k] - sq * sxq;
      bool full =
          det > 1e-12 * sqq * sw[k] && !(offsetNonPositive && cNum > 0.0);
      double A = full ? aNum : sxq, C = full ? cNum : 0.0,
             D = full ? det : sqq;
      double N = A * sxq + C * swx[k];
      bool take = live[k] && sqq > 0.0 && A > 0.0 &&
                  (!found[k] || N * bestD[k] > bestN[k] * D);
      bestN[k] = take ? N : bestN[k];
      bestD[k] = take ? D : bestD[k];
      bestA[k] = take ? A : bestA[k];
      bestC[k] = take ? C : bestC[k];
      found[k] = found[k] || take;
      improved[k] = take;
    }
  };
  auto setFit = [&](int k) {
    out[k].scale = static_cast<float>(bestA[k] / bestD[k]);
    out[k].offset = static_cast<float>(bestC[k] / bestD[k]);
  };
  float span = scanSpan(top, minSpan);
  float base[kLanes], iscale[kLanes];
  LaneSums sums;
  float invRange[kLanes];
  for (int k = 0; k < kLanes; ++k)
    invRange[k] = live[k] ? 1.0f / (hi[k] - lo[k]) : 0.0f;
  for (float shift : {0.0f, -0.5f, 0.5f}) {
    for (int k = 0; k < kLanes; ++k)
      base[k] = live[k] ? lo[k] + shift * (hi[k] - lo[k]) / top : 0.0f;
    for (int kk = -scanSteps; kk <= scanSteps; ++kk) {
      float target = top + span * static_cast<float>(kk) / scanSteps;
      for (int k = 0; k < kLanes; ++k)
        iscale[k] = target * invRange[k];
      kernels.laneFitSums(x, w, n, base, iscale, 0.0f, top, &sums);
      judge(sums);
    }
  }
  for (int k = 0; k < kLanes; ++k) {
    if (!live[k])
      continue;
    if (found[k] && static_cast<float>(bestA[k] / bestD[k]) != 0.0f) {
      setFit(k);
    } else {
      // Nothing well-posed: plain min/max quantization.
      out[k].scale = (hi[k] - lo[k]) / top;
      out[k].offset = lo[k];
      live[k] = false;
    }
  }
  for (int iter = 0; iter < 4; ++iter) {
    bool any = false;
    for (int k = 0; k < kLanes; ++k) {
      base[k] = live[k] ? out[k].offset : 0.0f;
      iscale[k] = live[k] ? 1.0f / out[k].scale : 0.0f;
      any |= live[k];
    }
    if (!any)
      break;
    kernels.laneFitSums(x, w, n, base, iscale, 0.0f, top, &sums);
    judge(sums);
    for (int k = 0; k < kLanes; ++k) {
      live[k] = improved[k];
      if (live[k])
        setFit(k);
    }
  }
}

} // namespace phiq::quant::detail
