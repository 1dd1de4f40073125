//===- ScaleSearch.h - Weighted least-squares scale fits ---------*- C++
//-*-===//
//
// The first step of every searched quantizer: for one group of n values x
// with weights w, find the continuous scale (and offset) that a code grid
// [qmin, qmax] fits best,
//
//   symmetric:  min over a     of  sum_i w_i (x_i - a q_i)^2,
//   affine:     min over a, c  of  sum_i w_i (x_i - a q_i - c)^2,
//               q_i = clamp(round((x_i - c) / a), qmin, qmax).
//
// The objective is piecewise quadratic in 1/a, so we scan a grid of inverse
// scales around the one that maps the extreme value onto the end of the
// code range (for the affine fit, from three origins: the minimum and half
// a code step either side of it), solve the least-squares scale (and
// offset) for the codes each grid point produces, keep the best, and polish
// it with a few Lloyd steps (codes from scale, scale from codes). The
// format solvers then quantize these scales and evaluate the decoded values
// exactly.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_LIB_QUANT_SCALESEARCH_H
#define PHIQ_LIB_QUANT_SCALESEARCH_H

#include <cstdint>

namespace phiq::quant::detail {

/// Round to nearest, ties to even, for |v| < 2^22. (Written with the
/// 1.5 * 2^23 trick because it vectorizes on every x86-64, unlike rintf.)
inline float roundNearest(float v) { return (v + 12582912.0f) - 12582912.0f; }

inline float clampFloat(float v, float lo, float hi) {
  return v < lo ? lo : (v > hi ? hi : v);
}

/// Inner loops over a group run in kLanes independent lanes, each with its
/// own partial sums, so the compiler vectorizes them without reassociating
/// float additions (which it may not do on its own). Group sizes are
/// multiples of kLanes.
constexpr int kLanes = 8;

inline float sumLanes(const float *lanes) {
  float sum = 0.0f;
  for (int k = 0; k < kLanes; ++k)
    sum += lanes[k];
  return sum;
}

/// Groups whose largest magnitude is below this are treated as all zero.
constexpr float kGroupZero = 1e-30f;

/// The scans move the end-of-range target by up to kScanRelativeSpan of
/// its value (at least the caller's minimum span, in code units) either
/// way, in kScanSteps steps each way: +-15% reaches both the fits that
/// leave the top codes unused and the ones that clip the extreme, which
/// pay off when the extreme's weight is small.
constexpr float kScanRelativeSpan = 0.15f;
constexpr int kScanSteps = 6;

/// Scan span, in code units, around code-range end `end`.
float scanSpan(float end, float minSpan);

struct SymmetricFit {
  /// Continuous scale, sign included (0 for an all-zero group).
  float scale = 0.0f;
  /// sum w x q and sum w q^2 of the codes the scale produced.
  double gain = 0.0;
};

/// Best symmetric scale for codes in [qmin, qmax] (qmin < 0 < qmax). The
/// scan maps the largest-magnitude value around qmin and around qmax.
SymmetricFit fitSymmetric(const float *x, const float *w, int n, int qmin,
                          int qmax, float minSpan);

struct AffineFit {
  /// y = scale * q + offset, q in [0, nmax].
  float scale = 0.0f;
  float offset = 0.0f;
};

/// Best affine fit for codes in [0, nmax]. With `offsetNonPositive` the
/// offset is kept <= 0, as the K-quants store it as a subtracted min.
AffineFit fitAffine(const float *x, const float *w, int n, int nmax,
                    bool offsetNonPositive, float minSpan);

/// fitSymmetric and fitAffine for eight groups at once, in SearchKernels.h's
/// lane layout (value i of group k at x[8 i + k]): the same candidates,
/// judged in the same order, and the same Lloyd steps, per lane. Each lane's
/// sums run over i in order, so a fit can differ from the one-group call's
/// in the last bits of its sums.
/// `scanSteps` replaces kScanSteps (the K-quants pick theirs by measured
/// accuracy against ggml).
void fitSymmetricLanes(const float *x, const float *w, int n, int qmin,
                       int qmax, float minSpan, int scanSteps,
                       SymmetricFit *out);
void fitAffineLanes(const float *x, const float *w, int n, int nmax,
                    bool offsetNonPositive, float minSpan, int scanSteps,
                    AffineFit *out);

/// Sum of the weights; a group whose weights are all zero is given unit
/// weights instead (any code is then exact, and unit weights keep the fits
/// well-posed). Returns the weights to use, in `scratch` when replaced.
const float *usableWeights(const float *w, int n, float *scratch);

/// Solves the 2x2 least-squares system
///   [suu suv] [a]   [sxu]
///   [suv svv] [b] = [sxv]
/// returning false when it is singular.
bool solve2x2(double suu, double suv, double svv, double sxu, double sxv,
              double &a, double &b);

/// The binary16 value `ulps` steps from fp16(value) in magnitude, sign kept,
/// magnitude clamped to [0, 65504]: the neighbours a scale search tries
/// around a rounded scale.
float fp16Neighbor(float value, int ulps);

} // namespace phiq::quant::detail

#endif // PHIQ_LIB_QUANT_SCALESEARCH_H
