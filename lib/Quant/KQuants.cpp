//===- KQuants.cpp - Q2_K, Q3_K, Q4_K, Q5_K, Q6_K quantizers ----*- C++ -*-===//
//
// A K-quant super-block stores y = d*sc_j * q - dmin*m_j (Q2_K, Q4_K,
// Q5_K) or y = d*sc_j * q (Q3_K, Q6_K) for sub-block j, with integer codes
// q, integer sub-block scales sc_j and mins m_j, and binary16 d, dmin
// (KQuantLayout.h). The quantizer minimizes the weighted error of the
// decoded block,
//
//   E = sum_i w_i (x_i - y_i)^2,   w = importance (imatrix) or 1,
//
// in three steps. ggml's reference quantizer does the first two, with
// weights of its own (|x| + rms(x), or the importance times sqrt(sigma^2 +
// x^2)) rather than the error it is judged by, and stops there:
//
//   1. Sub-block fit: continuous (a_j, b_j) minimizing
//      sum w (x - a_j q + b_j)^2 (b_j >= 0) or sum w (x - a_j q)^2, by a
//      scan of inverse scales plus least squares (ScaleSearch.h).
//   2. Super-scales: d (and dmin) from a scan of d = max|a| / (top + t)
//      with the least-squares d* = sum s a c / sum s c^2 for the codes
//      c_j = round(a_j / d), weighted by each sub-block's sensitivity
//      s_j = sum w q^2 (sum w for the mins); the max-based d that ggml uses
//      is always a candidate, and so is zero. Each candidate is rounded to
//      binary16 and measured exactly (codes re-rounded for the decoded
//      steps).
//   3. Refinement, repeated while E drops:
//      a. per sub-block, sc_j +- 1 and m_j +- 1 and the rounded least-
//         squares (a, b) of its current codes, keeping what lowers E;
//      b. the least-squares (d, dmin) for the current integer sc, m, q
//         (a 2x2 system), rounded to binary16 with one-ulp neighbours.
//
// Every error above is computed from exactly the floats ggml's dequantizer
// produces (dl = d * sc, ml = dmin * m, y = dl * q - ml), so "lower E" is
// lower in llama.cpp too.
//
//===----------------------------------------------------------------------===//

#include "KQuantLayout.h"
#include "RowCodecs.h"
#include "ScaleSearch.h"
#include "SearchKernels.h"

#include "phiq/Quant/Fp16.h"

#include <cmath>
#include <cstring>

namespace phiq::quant::detail {
namespace {

/// The least distance (in code units) the sub-block scans look past the
/// end of the code range: more for few levels, where clipping pays off
/// more (ScaleSearch.h scales it up for many levels).
float subBlockSpan(const KFormatShape &shape) {
  return shape.qmax - shape.qmin <= 7 ? 1.5f : 1.0f;
}

/// Steps each way of the sub-block scans (ScaleSearch.h). Measured against
/// ggml on the tiny models (test/Quant/ggml-blocks.test): Q6_K's 64 levels
/// and Q4_K's 16 keep their margin with coarser scans, the Lloyd steps and
/// the refinement recovering the rest; the other formats keep the default.
int subBlockScanSteps(const KFormatShape &shape) {
  int levels = shape.qmax - shape.qmin + 1;
  if (levels == 64)
    return 3;
  if (levels == 16 && shape.mMax)
    return 4;
  return kScanSteps;
}

int clampInt(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }

/// round(v) clamped to [lo, hi], clamping first so that no out-of-range
/// float is ever converted.
int roundClamp(double v, int lo, int hi) {
  double c = v < lo ? lo : (v > hi ? hi : v);
  return static_cast<int>(std::lrint(c));
}

/// Step 2's scan: candidate super-scales for sub-block values v_j with
/// sensitivities s_j and integer codes in [cmin, cmax]. Writes the
/// max-based scale (the extreme value on the end of the code range) and the
/// best least-squares scale of the scan; returns how many (0 if all v are
/// zero).
int superScaleCandidates(const float *v, const float *s, int count, int cmin,
                         int cmax, float *out) {
  float amax = 0.0f, extreme = 0.0f;
  for (int j = 0; j < count; ++j)
    if (std::fabs(v[j]) > amax) {
      amax = std::fabs(v[j]);
      extreme = v[j];
    }
  if (amax < kGroupZero)
    return 0;
  // ggml maps the extreme onto the negative end when there is one.
  out[0] = extreme / static_cast<float>(cmin < 0 ? cmin : cmax);
  double bestProxy = -1.0;
  float bestScale = 0.0f;
  auto consider = [&](float target) {
    float inv = target / extreme;
    float lo = static_cast<float>(cmin), hi = static_cast<float>(cmax);
    float svc = 0.0f, scc = 0.0f;
    for (int j = 0; j < count; ++j) {
      float c = roundNearest(clampFloat(v[j] * inv, lo, hi));
      svc += s[j] * v[j] * c;
      scc += s[j] * c * c;
    }
    if (!(scc > 0.0f))
      return;
    // The proxy error sum s (v - d* c)^2 is sum s v^2 - svc^2 / scc.
    double gain = double(svc) * svc / scc;
    if (gain > bestProxy) {
      bestProxy = gain;
      bestScale = svc / scc;
    }
  };
  for (int k = -8; k <= 4; ++k) {
    float t = static_cast<float>(k) / 4.0f;
    consider(static_cast<float>(cmax) + t);
    if (cmin < 0)
      consider(static_cast<float>(cmin) - t);
  }
  if (bestScale == 0.0f || bestScale == out[0])
    return 1;
  out[1] = bestScale;
  return 2;
}

/// Alternating refinements of the sub-block scales and the super-scale after
/// the candidate search. Each round re-measures every sub-block. Measured on
/// the tiny models against ggml (test/Quant): one round keeps the weighted
/// error within 0.6% of four rounds (Q4_K 0.943 vs 0.942 of ggml's error,
/// Q6_K 0.858 vs 0.858) and makes Q4_K 25% faster.
constexpr int kRefineRounds = 1;

/// Most super-scales storedScales returns: zero, two candidates, and up to
/// four doublings of each.
constexpr int kMaxStoredScales = 11;

/// The binary16 super-scales step 2 measures: zero, which decodes the
/// sub-blocks to their mins alone (or to zeros), a floor no search result
/// may lose to; each candidate rounded (one that underflows to zero becomes
/// the smallest non-zero binary16 of its sign); and, for a candidate deep
/// among binary16's subnormals (|d| < 2^-18: under 64 steps of 2^-24, so
/// coarser than the sub-block scales), the candidate doubled until it is
/// not, at most four times: fewer sub-block scale levels but a super-scale
/// with its precision back.
int storedScales(const float *candidates, int count, float *out) {
  int len = 0;
  auto add = [&](float v) {
    for (int k = 0; k < len; ++k)
      if (out[k] == v)
        return;
    out[len++] = v;
  };
  add(0.0f);
  constexpr float kCoarse = 3.814697265625e-06f; // 2^-18
  for (int i = 0; i < count; ++i) {
    float v = roundToFp16(candidates[i]);
    if (v == 0.0f)
      v = fp16Neighbor(candidates[i] < 0.0f ? -0.0f : 0.0f, 1);
    add(v);
    float scaled = candidates[i];
    for (int k = 0; k < 4 && std::fabs(scaled) < kCoarse; ++k) {
      scaled *= 2.0f;
      add(roundToFp16(scaled));
    }
  }
  return len;
}

//===-- Lane layout -------------------------------------------------------===//

// The solvers keep a super-block in SearchKernels.h's lane layout: eight
// sub-blocks side by side, sub-block j = 8 g + k's value i at
// [8 n g + 8 i + k]. Every kernel call then measures eight sub-blocks, one
// per vector lane, with no horizontal sums (Q4_K/Q5_K: one group of eight
// sub-blocks of 32; Q2_K/Q3_K/Q6_K: two groups of sub-blocks of 16).

void toLanes(const float *src, int n, int subBlocks, float *dst) {
  for (int j = 0; j < subBlocks; ++j) {
    float *lane = dst + (j / kLanes) * kLanes * n + j % kLanes;
    for (int i = 0; i < n; ++i)
      lane[i * kLanes] = src[j * n + i];
  }
}

/// Copies lane k of a group's codes.
void copyLane(const float *src, int n, int k, float *dst) {
  for (int i = 0; i < n; ++i)
    dst[i * kLanes + k] = src[i * kLanes + k];
}

//===-- Affine formats: Q2_K, Q4_K, Q5_K ----------------------------------===//

class AffineSolver {
public:
  AffineSolver(const KFormatShape &shape, const SearchKernels &kernels,
               const float *xRows, const float *wRows)
      : shape(shape), kernels(kernels), n(shape.subLength), S(shape.subBlocks),
        groups(S / kLanes), top(static_cast<float>(shape.qmax)) {
    toLanes(xRows, n, S, x);
    toLanes(wRows, n, S, w);
  }

  void solve(KBlock &out);

private:
  /// E of group g's sub-blocks with integer scales/mins scs, ms (one per
  /// lane) under super-scales (dc, mc); codes into `codes` (the group's
  /// lane block), errors into errs[0..7].
  void groupError(int g, float dc, float mc, const int *scs, const int *ms,
                  float *codes, float *errs) const {
    float dl[kLanes], ml[kLanes], inv[kLanes];
    for (int k = 0; k < kLanes; ++k) {
      dl[k] = dc * static_cast<float>(scs[k]);
      ml[k] = mc * static_cast<float>(ms[k]);
      inv[k] = dl[k] > 0.0f ? 1.0f / dl[k] : 0.0f;
    }
    int offset = g * kLanes * n;
    kernels.laneRequant(x + offset, w + offset, n, dl, ml, inv, 0.0f, top,
                        codes, errs);
  }

  /// Re-rounds every sub-block for candidate (d, dmin) with the current
  /// integer scales; returns the total E.
  double totalError(float dc, float mc, float *codes, float *errors) const {
    for (int g = 0; g < groups; ++g)
      groupError(g, dc, mc, sc + g * kLanes, m + g * kLanes,
                 codes + g * kLanes * n, errors + g * kLanes);
    double total = 0.0;
    for (int j = 0; j < S; ++j)
      total += errors[j];
    return total;
  }

  /// Integer scales and mins for (dc, mc) from the continuous fits.
  void roundScales(float dc, float mc) {
    for (int j = 0; j < S; ++j) {
      sc[j] = dc > 0.0f ? roundClamp(a[j] / dc, 0, shape.scMax) : 0;
      m[j] = mc > 0.0f ? roundClamp(b[j] / mc, 0, shape.mMax) : 0;
    }
  }

  bool refineSubBlocks();
  bool refineSuperScales();

  const KFormatShape &shape;
  const SearchKernels &kernels;
  int n, S, groups;
  float top;
  float x[kSuperBlock], w[kSuperBlock];
  // Step 1.
  float a[16], b[16];
  // Current solution (codes in lane layout).
  float d = 0.0f, dmin = 0.0f;
  int sc[16], m[16];
  float q[kSuperBlock];
  float err[16];
};

void AffineSolver::solve(KBlock &out) {
  float span = subBlockSpan(shape);
  float sensScale[16], sensMin[16];
  for (int g = 0; g < groups; ++g) {
    const float *xg = x + g * kLanes * n, *wg = w + g * kLanes * n;
    AffineFit fits[kLanes];
    fitAffineLanes(xg, wg, n, shape.qmax, true, span,
                   subBlockScanSteps(shape), fits);
    float inv[kLanes];
    double sq[kLanes] = {}, sw[kLanes] = {};
    for (int k = 0; k < kLanes; ++k) {
      a[g * kLanes + k] = fits[k].scale;
      b[g * kLanes + k] = -fits[k].offset;
      inv[k] = fits[k].scale > 0.0f ? 1.0f / fits[k].scale : 0.0f;
    }
    for (int i = 0; i < n; ++i)
      for (int k = 0; k < kLanes; ++k) {
        float wi = wg[i * kLanes + k];
        float c = (xg[i * kLanes + k] + b[g * kLanes + k]) * inv[k];
        sq[k] += wi * c * c;
        sw[k] += wi;
      }
    for (int k = 0; k < kLanes; ++k) {
      sensScale[g * kLanes + k] = static_cast<float>(sq[k]);
      sensMin[g * kLanes + k] = static_cast<float>(sw[k]);
    }
  }

  float dCand[2], mCand[2];
  int dCount = superScaleCandidates(a, sensScale, S, 0, shape.scMax, dCand);
  int mCount = superScaleCandidates(b, sensMin, S, 0, shape.mMax, mCand);
  float dList[kMaxStoredScales], mList[kMaxStoredScales];
  int dLen = storedScales(dCand, dCount, dList);
  int mLen = storedScales(mCand, mCount, mList);

  // Step 2: every (d, dmin) candidate, measured exactly.
  double best = -1.0;
  float trialQ[kSuperBlock];
  float trialErr[16];
  int bestSc[16], bestM[16];
  for (int id = 0; id < dLen; ++id) {
    for (int im = 0; im < mLen; ++im) {
      float dc = dList[id], mc = mList[im];
      roundScales(dc, mc);
      double e = totalError(dc, mc, trialQ, trialErr);
      if (best < 0.0 || e < best) {
        best = e;
        d = dc;
        dmin = mc;
        std::memcpy(bestSc, sc, sizeof(sc));
        std::memcpy(bestM, m, sizeof(m));
        std::memcpy(q, trialQ, sizeof(q));
        std::memcpy(err, trialErr, sizeof(err));
      }
    }
  }
  std::memcpy(sc, bestSc, sizeof(sc));
  std::memcpy(m, bestM, sizeof(m));

  // Step 3.
  for (int iter = 0; iter < kRefineRounds; ++iter) {
    bool changed = refineSubBlocks();
    changed |= refineSuperScales();
    if (!changed)
      break;
  }

  out = KBlock();
  out.d = fp32ToFp16Bits(d);
  out.dmin = fp32ToFp16Bits(dmin);
  for (int j = 0; j < S; ++j) {
    out.sc[j] = static_cast<int16_t>(sc[j]);
    out.m[j] = static_cast<int16_t>(m[j]);
    const float *lane = q + (j / kLanes) * kLanes * n + j % kLanes;
    for (int i = 0; i < n; ++i)
      out.q[j * n + i] = static_cast<int8_t>(lane[i * kLanes]);
  }
}

bool AffineSolver::refineSubBlocks() {
  bool changed = false;
  float trial[kLanes * 32], trialErr[kLanes];
  for (int g = 0; g < groups; ++g) {
    int *scg = sc + g * kLanes, *mg = m + g * kLanes;
    float *qg = q + g * kLanes * n;
    int bestSc[kLanes], bestM[kLanes];
    float bestErr[kLanes];
    for (int k = 0; k < kLanes; ++k) {
      bestSc[k] = scg[k];
      bestM[k] = mg[k];
      bestErr[k] = err[g * kLanes + k];
    }
    // Trial (s, mm) per lane, kept where it lowers E.
    int s[kLanes], mm[kLanes];
    auto consider = [&] {
      groupError(g, d, dmin, s, mm, trial, trialErr);
      for (int k = 0; k < kLanes; ++k) {
        if ((s[k] == bestSc[k] && mm[k] == bestM[k]) ||
            !(trialErr[k] < bestErr[k]))
          continue;
        bestErr[k] = trialErr[k];
        bestSc[k] = s[k];
        bestM[k] = mm[k];
        copyLane(trial, n, k, qg);
      }
    };
    for (int ds = -1; ds <= 1; ++ds)
      for (int dm = -1; dm <= 1; ++dm) {
        if (!ds && !dm)
          continue;
        for (int k = 0; k < kLanes; ++k) {
          s[k] = clampInt(scg[k] + ds, 0, shape.scMax);
          mm[k] = clampInt(mg[k] + dm, 0, shape.mMax);
        }
        consider();
      }
    // Least squares for the current codes: y = alpha q + c, c <= 0.
    double sw[kLanes] = {}, sq[kLanes] = {}, sqq[kLanes] = {},
           sx[kLanes] = {}, sxq[kLanes] = {};
    const float *xg = x + g * kLanes * n, *wg = w + g * kLanes * n;
    for (int i = 0; i < n; ++i)
      for (int k = 0; k < kLanes; ++k) {
        double wi = wg[i * kLanes + k], qi = qg[i * kLanes + k],
               xi = xg[i * kLanes + k];
        sw[k] += wi;
        sq[k] += wi * qi;
        sqq[k] += wi * qi * qi;
        sx[k] += wi * xi;
        sxq[k] += wi * xi * qi;
      }
    for (int k = 0; k < kLanes; ++k) {
      double alpha, c;
      if (!solve2x2(sqq[k], sq[k], sw[k], sxq[k], sx[k], alpha, c) ||
          c > 0.0) {
        c = 0.0;
        alpha = sqq[k] > 0.0 ? sxq[k] / sqq[k] : 0.0;
      }
      if (d > 0.0f && alpha > 0.0) {
        s[k] = roundClamp(alpha / d, 0, shape.scMax);
        mm[k] = dmin > 0.0f ? roundClamp(-c / dmin, 0, shape.mMax) : 0;
      } else {
        s[k] = bestSc[k];
        mm[k] = bestM[k];
      }
    }
    consider();
    for (int k = 0; k < kLanes; ++k) {
      if (bestSc[k] == scg[k] && bestM[k] == mg[k])
        continue;
      scg[k] = bestSc[k];
      mg[k] = bestM[k];
      err[g * kLanes + k] = bestErr[k];
      changed = true;
    }
  }
  return changed;
}

bool AffineSolver::refineSuperScales() {
  // E(d, dmin) = sum w (x - d u + dmin v)^2 with u = sc_j q, v = m_j.
  double suu = 0, suv = 0, svv = 0, sxu = 0, sxv = 0;
  for (int g = 0; g < groups; ++g)
    for (int i = 0; i < n; ++i)
      for (int k = 0; k < kLanes; ++k) {
        int j = g * kLanes + k, at = g * kLanes * n + i * kLanes + k;
        double wi = w[at], xi = x[at];
        double u = static_cast<double>(sc[j]) * q[at];
        double v = m[j];
        suu += wi * u * u;
        suv += wi * u * v;
        svv += wi * v * v;
        sxu += wi * xi * u;
        sxv += wi * xi * v;
      }
  double dd, mm;
  // Normal equations in (d, -dmin).
  if (!solve2x2(suu, suv, svv, sxu, sxv, dd, mm)) {
    if (!(suu > 0.0))
      return false;
    dd = sxu / suu;
    mm = 0.0;
  }
  mm = -mm;
  if (mm < 0.0) {
    mm = 0.0;
    dd = suu > 0.0 ? sxu / suu : 0.0;
  }
  if (!(dd > 0.0))
    return false;
  double current = 0.0;
  for (int j = 0; j < S; ++j)
    current += err[j];
  float bestD = d, bestM = dmin;
  double best = current;
  float trialQ[kSuperBlock], bestQ[kSuperBlock];
  float trialErr[16], bestErr[16];
  for (int kd = -1; kd <= 1; ++kd) {
    for (int km = -1; km <= 1; ++km) {
      float dc = fp16Neighbor(static_cast<float>(dd), kd);
      float mc = fp16Neighbor(static_cast<float>(mm), km);
      if (dc == d && mc == dmin)
        continue;
      double e = totalError(dc, mc, trialQ, trialErr);
      if (e < best) {
        best = e;
        bestD = dc;
        bestM = mc;
        std::memcpy(bestQ, trialQ, sizeof(bestQ));
        std::memcpy(bestErr, trialErr, sizeof(bestErr));
      }
    }
  }
  if (!(best < current))
    return false;
  d = bestD;
  dmin = bestM;
  std::memcpy(q, bestQ, sizeof(q));
  std::memcpy(err, bestErr, sizeof(err));
  return true;
}

//===-- Symmetric formats: Q3_K, Q6_K -------------------------------------===//

class SymmetricSolver {
public:
  SymmetricSolver(const KFormatShape &shape, const SearchKernels &kernels,
                  const float *xRows, const float *wRows)
      : shape(shape), kernels(kernels), n(shape.subLength), S(shape.subBlocks),
        groups(S / kLanes), qmin(static_cast<float>(shape.qmin)),
        qmax(static_cast<float>(shape.qmax)) {
    toLanes(xRows, n, S, x);
    toLanes(wRows, n, S, w);
  }

  void solve(KBlock &out);

private:
  /// E of group g's sub-blocks with integer scales scs under super-scale
  /// dc; codes into `codes`, errors into errs[0..7].
  void groupError(int g, float dc, const int *scs, float *codes,
                  float *errs) const {
    float dl[kLanes], inv[kLanes];
    const float zeros[kLanes] = {};
    for (int k = 0; k < kLanes; ++k) {
      dl[k] = dc * static_cast<float>(scs[k]);
      inv[k] = dl[k] != 0.0f ? 1.0f / dl[k] : 0.0f;
    }
    int offset = g * kLanes * n;
    kernels.laneRequant(x + offset, w + offset, n, dl, zeros, inv, qmin, qmax,
                        codes, errs);
  }

  double totalError(float dc, float *codes, float *errors) const {
    for (int g = 0; g < groups; ++g)
      groupError(g, dc, sc + g * kLanes, codes + g * kLanes * n,
                 errors + g * kLanes);
    double total = 0.0;
    for (int j = 0; j < S; ++j)
      total += errors[j];
    return total;
  }

  bool refineSubBlocks();
  bool refineSuperScale();

  const KFormatShape &shape;
  const SearchKernels &kernels;
  int n, S, groups;
  float qmin, qmax;
  float x[kSuperBlock], w[kSuperBlock];
  float a[16];
  float d = 0.0f;
  int sc[16];
  float q[kSuperBlock];
  float err[16];
};

void SymmetricSolver::solve(KBlock &out) {
  float span = subBlockSpan(shape);
  float sens[16];
  for (int g = 0; g < groups; ++g) {
    const float *xg = x + g * kLanes * n, *wg = w + g * kLanes * n;
    SymmetricFit fits[kLanes];
    fitSymmetricLanes(xg, wg, n, shape.qmin, shape.qmax, span,
                      subBlockScanSteps(shape), fits);
    float inv[kLanes];
    double sq[kLanes] = {};
    for (int k = 0; k < kLanes; ++k) {
      a[g * kLanes + k] = fits[k].scale;
      inv[k] = fits[k].scale != 0.0f ? 1.0f / fits[k].scale : 0.0f;
    }
    for (int i = 0; i < n; ++i)
      for (int k = 0; k < kLanes; ++k) {
        float c = xg[i * kLanes + k] * inv[k];
        sq[k] += wg[i * kLanes + k] * c * c;
      }
    for (int k = 0; k < kLanes; ++k)
      sens[g * kLanes + k] = static_cast<float>(sq[k]);
  }

  float dCand[2], dList[kMaxStoredScales];
  int dCount =
      superScaleCandidates(a, sens, S, shape.scMin, shape.scMax, dCand);
  int dLen = storedScales(dCand, dCount, dList);
  std::memset(sc, 0, sizeof(sc));
  double best = -1.0;
  float trialQ[kSuperBlock];
  float trialErr[16];
  int bestSc[16];
  for (int id = 0; id < dLen; ++id) {
    float dc = dList[id];
    for (int j = 0; j < S; ++j)
      sc[j] = dc != 0.0f ? roundClamp(a[j] / dc, shape.scMin, shape.scMax) : 0;
    double e = totalError(dc, trialQ, trialErr);
    if (best < 0.0 || e < best) {
      best = e;
      d = dc;
      std::memcpy(bestSc, sc, sizeof(sc));
      std::memcpy(q, trialQ, sizeof(q));
      std::memcpy(err, trialErr, sizeof(err));
    }
  }
  std::memcpy(sc, bestSc, sizeof(sc));
  for (int iter = 0; iter < kRefineRounds; ++iter) {
    bool changed = refineSubBlocks();
    changed |= refineSuperScale();
    if (!changed)
      break;
  }

  out = KBlock();
  out.d = fp32ToFp16Bits(d);
  for (int j = 0; j < S; ++j) {
    out.sc[j] = static_cast<int16_t>(sc[j]);
    const float *lane = q + (j / kLanes) * kLanes * n + j % kLanes;
    for (int i = 0; i < n; ++i)
      out.q[j * n + i] = static_cast<int8_t>(lane[i * kLanes]);
  }
}

bool SymmetricSolver::refineSubBlocks() {
  if (d == 0.0f)
    return false;
  bool changed = false;
  float trial[kLanes * 32], trialErr[kLanes];
  for (int g = 0; g < groups; ++g) {
    int *scg = sc + g * kLanes;
    float *qg = q + g * kLanes * n;
    int bestSc[kLanes], s[kLanes];
    float bestErr[kLanes];
    for (int k = 0; k < kLanes; ++k) {
      bestSc[k] = scg[k];
      bestErr[k] = err[g * kLanes + k];
    }
    auto consider = [&] {
      groupError(g, d, s, trial, trialErr);
      for (int k = 0; k < kLanes; ++k) {
        if (s[k] == bestSc[k] || !(trialErr[k] < bestErr[k]))
          continue;
        bestErr[k] = trialErr[k];
        bestSc[k] = s[k];
        copyLane(trial, n, k, qg);
      }
    };
    for (int step : {-1, 1}) {
      for (int k = 0; k < kLanes; ++k)
        s[k] = clampInt(scg[k] + step, shape.scMin, shape.scMax);
      consider();
    }
    double sxq[kLanes] = {}, sqq[kLanes] = {};
    const float *xg = x + g * kLanes * n, *wg = w + g * kLanes * n;
    for (int i = 0; i < n; ++i)
      for (int k = 0; k < kLanes; ++k) {
        double wi = wg[i * kLanes + k], qi = qg[i * kLanes + k];
        sxq[k] += wi * xg[i * kLanes + k] * qi;
        sqq[k] += wi * qi * qi;
      }
    for (int k = 0; k < kLanes; ++k)
      s[k] = sqq[k] > 0.0 ? roundClamp(sxq[k] / sqq[k] / d, shape.scMin,
                                       shape.scMax)
                          : bestSc[k];
    consider();
    for (int k = 0; k < kLanes; ++k) {
      if (bestSc[k] == scg[k])
        continue;
      scg[k] = bestSc[k];
      err[g * kLanes + k] = bestErr[k];
      changed = true;
    }
  }
  return changed;
}

bool SymmetricSolver::refineSuperScale() {
  // E(d) = sum w (x - d u)^2 with u = sc_j q: d* = sum w x u / sum w u^2.
  double sxu = 0, suu = 0;
  for (int g = 0; g < groups; ++g)
    for (int i = 0; i < n; ++i)
      for (int k = 0; k < kLanes; ++k) {
        int j = g * kLanes + k, at = g * kLanes * n + i * kLanes + k;
        double wi = w[at];
        double u = static_cast<double>(sc[j]) * q[at];
        sxu += wi * x[at] * u;
        suu += wi * u * u;
      }
  if (!(suu > 0.0))
    return false;
  float dd = static_cast<float>(sxu / suu);
  double current = 0.0;
  for (int j = 0; j < S; ++j)
    current += err[j];
  double best = current;
  float bestD = d;
  float trialQ[kSuperBlock], bestQ[kSuperBlock];
  float trialErr[16], bestErr[16];
  for (int k = -1; k <= 1; ++k) {
    float dc = fp16Neighbor(dd, k);
    if (dc == d)
      continue;
    double e = totalError(dc, trialQ, trialErr);
    if (e < best) {
      best = e;
      bestD = dc;
      std::memcpy(bestQ, trialQ, sizeof(bestQ));
      std::memcpy(bestErr, trialErr, sizeof(bestErr));
    }
  }
  if (!(best < current))
    return false;
  d = bestD;
  std::memcpy(q, bestQ, sizeof(q));
  std::memcpy(err, bestErr, sizeof(err));
  return true;
}

//===-- Rows --------------------------------------------------------------===//

void quantizeKRow(KFormat format, const float *x, int64_t cols,
                  const float *importance, uint8_t *out) {
  const KFormatShape &shape = kShape(format);
  float ones[kSuperBlock], weights[kSuperBlock];
  for (int i = 0; i < kSuperBlock; ++i)
    ones[i] = 1.0f;
  const SearchKernels &kernels = searchKernels();
  KBlock block;
  for (int64_t sb = 0; sb < cols / kSuperBlock; ++sb) {
    const float *xb = x + sb * kSuperBlock;
    const float *wb = ones;
    if (importance) {
      // A sub-block whose weights are all zero is fitted with unit weights
      // (its error counts for nothing; this keeps its codes sensible).
      for (int j = 0; j < shape.subBlocks; ++j) {
        const float *src = importance + sb * kSuperBlock + j * shape.subLength;
        const float *use =
            usableWeights(src, shape.subLength, weights + j * shape.subLength);
        if (use == src)
          std::memcpy(weights + j * shape.subLength, src,
                      shape.subLength * sizeof(float));
      }
      wb = weights;
    }
    if (shape.mMax) {
      AffineSolver(shape, kernels, xb, wb).solve(block);
    } else {
      SymmetricSolver(shape, kernels, xb, wb).solve(block);
    }
    packKBlock(format, block, out + sb * shape.bytes);
  }
}

void dequantizeKRow(KFormat format, const uint8_t *in, int64_t cols,
                    float *out) {
  const KFormatShape &shape = kShape(format);
  KBlock block;
  for (int64_t sb = 0; sb < cols / kSuperBlock; ++sb) {
    unpackKBlock(format, in + sb * shape.bytes, block);
    decodeKBlock(format, block, out + sb * kSuperBlock);
  }
}

} // namespace

#define PHIQ_K_ROW_CODECS(NAME)                                                \
  void quantizeRow##NAME(const float *x, int64_t cols,                         \
                         const float *importance, uint8_t *out) {              \
    quantizeKRow(KFormat::NAME, x, cols, importance, out);                     \
  }                                                                            \
  void dequantizeRow##NAME(const uint8_t *in, int64_t cols, float *out) {      \
    dequantizeKRow(KFormat::NAME, in, cols, out);                              \
  }
PHIQ_K_ROW_CODECS(Q2_K)
PHIQ_K_ROW_CODECS(Q3_K)
PHIQ_K_ROW_CODECS(Q4_K)
PHIQ_K_ROW_CODECS(Q5_K)
PHIQ_K_ROW_CODECS(Q6_K)
#undef PHIQ_K_ROW_CODECS

} // namespace phiq::quant::detail
