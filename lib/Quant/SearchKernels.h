//===- SearchKernels.h - Inner loops of the scale searches ------*- C++ -*-===//
//
// The searched quantizers spend nearly all their time in a handful of loops
// over one group (16 or 32 values): round the group for a candidate scale,
// and either measure the decoded error or accumulate the sums of a least-
// squares fit. These are those loops, compiled once portably and once for
// AVX2, picked by phiq::rt::detectCpuLevel().
//
// Both versions keep kLanes = 8 partial sums, lane k taking elements
// i = k (mod 8), and add the lanes in order 0..7 at the end; every lane
// operation is the same IEEE single-precision operation in the same order.
// So the AVX2 and portable kernels return identical bits, and the bytes a
// quantizer writes do not depend on the CPU that ran it.
//
// Codes are returned as floats (small integers, exact).
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_LIB_QUANT_SEARCHKERNELS_H
#define PHIQ_LIB_QUANT_SEARCHKERNELS_H

#include <cstdint>

namespace phiq::quant::detail {

/// Weighted sums of a least-squares fit over one group.
struct FitSums {
  float q = 0.0f;  // sum w q
  float qq = 0.0f; // sum w q^2
  float xq = 0.0f; // sum w x q
};

/// Sums of eight groups side by side (see laneFitSums).
struct LaneSums {
  float q[8], qq[8], xq[8];
};

struct SearchKernels {
  /// Affine decode y = dl * q - ml with q = clamp(round((x + ml) / dl), 0,
  /// top) (the reciprocal is 1 / dl, or 0 when dl is 0). Writes q, returns
  /// sum w (x - y)^2.
  float (*requantAffine)(const float *x, const float *w, int n, float dl,
                         float ml, float top, float *q);
  /// Symmetric decode y = dl * q with q = clamp(round(x / dl), lo, hi).
  float (*requantSymmetric)(const float *x, const float *w, int n, float dl,
                            float lo, float hi, float *q);
  /// Sums for q = clamp(round((x - base) * iscale), lo, hi).
  FitSums (*fitSums)(const float *x, const float *w, int n, float base,
                     float iscale, float lo, float hi);
  /// fitSums for `count` candidates (base[c], iscale[c]) in one call, the
  /// grid scans' shape: out[c] has the bits fitSums(x, w, n, base[c],
  /// iscale[c], lo, hi) returns. One call keeps the group in registers and
  /// adds eight candidates' lanes at once.
  void (*fitSumsBatch)(const float *x, const float *w, int n,
                       const float *base, const float *iscale, int count,
                       float lo, float hi, FitSums *out);
  /// Eight groups of n values at once, "lanes": value i of group k is at
  /// x[8 i + k] (the K-quant solvers keep eight sub-blocks so, one per
  /// vector lane, and need no horizontal sums). Each lane adds over i in
  /// order, one IEEE operation at a time, in both tables.
  ///
  /// fitSums per lane: q = clamp(round((x - base[k]) * iscale[k]), lo, hi).
  void (*laneFitSums)(const float *x, const float *w, int n,
                      const float *base, const float *iscale, float lo,
                      float hi, LaneSums *out);
  /// Decode y = dl[k] q - ml[k] with q = clamp(round((x + ml[k]) * inv[k]),
  /// lo, hi) per lane (ml = 0 is the symmetric decode, bit for bit): writes
  /// the codes (lane layout) and err[k] = sum w (x - y)^2.
  void (*laneRequant)(const float *x, const float *w, int n, const float *dl,
                      const float *ml, const float *inv, float lo, float hi,
                      float *q, float *err);
  /// IQ4_NL: sums for q = the grid value nearest x * inv.
  FitSums (*gridSums)(const float *x, const float *w, int n, float inv);
  /// IQ4_NL: grid indices nearest x / d (as floats) and sum w (x - d V)^2.
  float (*gridError)(const float *x, const float *w, int n, float d,
                     float *index);
  /// Round-to-nearest rows of Q8_0 and Q4_0 (no importance): the hot loop
  /// of the most common file types. Null in the portable table, whose
  /// quantizers (LegacyQuants.cpp) are the reference these must equal byte
  /// for byte.
  void (*roundRowQ8_0)(const float *x, int64_t cols, uint8_t *out);
  void (*roundRowQ4_0)(const float *x, int64_t cols, uint8_t *out);
  /// sum (x - y)^2 and sum x^2 over n elements, for reported errors only
  /// (the lanes make the low bits depend on the CPU level).
  void (*errorAndNorm)(const float *x, const float *y, int64_t n,
                       double *error, double *norm);
};

/// The IQ4_NL grid (ggml's kvalues_iq4nl), shared by IQ4NL.cpp.
extern const float kIQ4Grid[16];

/// The kernels for the CPU level in use now.
const SearchKernels &searchKernels();

/// The two implementations, for tests that compare them.
const SearchKernels &portableSearchKernels();
/// Null when this build or CPU has no AVX2 version.
const SearchKernels *avx2SearchKernels();

} // namespace phiq::quant::detail

#endif // PHIQ_LIB_QUANT_SEARCHKERNELS_H
