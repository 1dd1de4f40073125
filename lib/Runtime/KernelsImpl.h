//===- KernelsImpl.h - ISA-generic bodies of the fp32 kernels ---*- C++ -*-===//
//
// Each kernel is written once here, as a template over a vector-traits type
// `V` (lane count W, load/store/fmadd/..., and the GEMM tile shape). The ISA
// translation units define their traits, include this header and build a
// KernelTable from the instantiations, each under its own -m flags.
//
// Everything is in an anonymous namespace so that two translation units'
// instantiations never merge at link time: the linker keeping the AVX2 copy
// of some helper for a portable caller would fault on an older CPU. For the
// same reason the code below uses C library functions only (expf, not
// std::exp; no <algorithm>), since an out-of-line standard-library template
// instantiated under -mavx2 is exactly such a shared copy.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_LIB_RUNTIME_KERNELSIMPL_H
#define PHIQ_LIB_RUNTIME_KERNELSIMPL_H

#include "KernelTable.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

namespace phiq::rt {
namespace {

template <typename T> inline T minOf(T a, T b) { return b < a ? b : a; }
template <typename T> inline T maxOf(T a, T b) { return a < b ? b : a; }
inline int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// Fully unrolls a loop over a register block (tile rows or vectors): the
/// accumulator arrays only stay in registers when every index into them is
/// a constant; one rolled loop and GCC keeps the whole array in memory.
#define PHIQ_UNROLL _Pragma("GCC unroll 32")

/// One-lane traits: the loop tails of every ISA, so a tail element goes
/// through the same formula (the same exp in particular) as its neighbours.
/// `max(a, b)` and `min(a, b)` return b when either is NaN, like maxps.
struct ScalarOps {
  using F = float;
  using I = uint32_t;
  static constexpr int W = 1;
  static constexpr bool HasTranspose8 = false;
  static void transpose8x8(const float *, int64_t, float *, int64_t) {}
  static F zero() { return 0.0f; }
  static F set1(float x) { return x; }
  static F load(const float *p) { return *p; }
  static void store(float *p, F v) { *p = v; }
  static F broadcast(const float *p) { return *p; }
  static F add(F a, F b) { return a + b; }
  static F sub(F a, F b) { return a - b; }
  static F mul(F a, F b) { return a * b; }
  static F div(F a, F b) { return a / b; }
  static F fmadd(F a, F b, F c) { return a * b + c; }
  static F max(F a, F b) { return a > b ? a : b; }
  static F min(F a, F b) { return a < b ? a : b; }
  static float hsum(F v) { return v; }
  static void hsum8(const F (&v)[8], float *out) {
    for (int j = 0; j < 8; ++j)
      out[j] = v[j];
  }
  static float hmax(F v) { return v; }
  static I bits(F v) {
    I i;
    memcpy(&i, &v, sizeof i);
    return i;
  }
  static F fromBits(I i) {
    F v;
    memcpy(&v, &i, sizeof v);
    return v;
  }
  static I iadd(I a, I b) { return a + b; }
  static I isub(I a, I b) { return a - b; }
  static I iset1(int32_t x) { return static_cast<I>(x); }
  static I sra1(I a) { return static_cast<I>(static_cast<int32_t>(a) >> 1); }
  static I shl23(I a) { return a << 23; }
};

//===----------------------------------------------------------------------===//
// exp
//===----------------------------------------------------------------------===//

/// exp(x) to within 1 ulp over the whole float range, lane-wise:
///   x = n*ln2 + r, |r| <= ln2/2   (n = round(x / ln2); ln2 split in a short
///                                  high part, so n*ln2hi is exact)
///   exp(r) = 1 + r + r^2/2 + ... + r^7/7!  (truncation < 6e-9 relative)
///   exp(x) = exp(r) * 2^n1 * 2^n2, n1 = floor(n/2), n2 = n - n1
/// Scaling in two steps keeps both factors normal, so results that land in
/// the subnormal range are rounded once, correctly. x is clamped to
/// [-104, 89] first: exp(-104) already rounds to 0 and exp(89) to +inf, so
/// -inf -> 0 and +inf -> +inf come out of the same path; NaN propagates
/// (the clamps return x when it is NaN).
template <class V> inline typename V::F expV(typename V::F x) {
  using F = typename V::F;
  using I = typename V::I;
  const F magic = V::set1(12582912.0f); // 1.5 * 2^23: adding rounds to int.
  x = V::max(V::set1(-104.0f), x);
  x = V::min(V::set1(89.0f), x);
  F t = V::fmadd(x, V::set1(1.44269504088896341f), magic);
  F n = V::sub(t, magic);
  F r = V::fmadd(n, V::set1(-0.693359375f), x);
  r = V::fmadd(n, V::set1(2.12194440e-4f), r);
  F p = V::set1(1.0f / 5040.0f);
  p = V::fmadd(p, r, V::set1(1.0f / 720.0f));
  p = V::fmadd(p, r, V::set1(1.0f / 120.0f));
  p = V::fmadd(p, r, V::set1(1.0f / 24.0f));
  p = V::fmadd(p, r, V::set1(1.0f / 6.0f));
  p = V::fmadd(p, r, V::set1(0.5f));
  p = V::fmadd(p, r, V::set1(1.0f));
  p = V::fmadd(p, r, V::set1(1.0f));
  I ni = V::isub(V::bits(t), V::bits(magic));
  I n1 = V::sra1(ni);
  I n2 = V::isub(ni, n1);
  const I bias = V::iset1(127);
  F s1 = V::fromBits(V::shl23(V::iadd(n1, bias)));
  F s2 = V::fromBits(V::shl23(V::iadd(n2, bias)));
  return V::mul(V::mul(p, s1), s2);
}

inline float expScalar(float x) { return expV<ScalarOps>(x); }

template <class V> void expRange(const float *in, float *out, int64_t n) {
  int64_t i = 0;
  for (; i + V::W <= n; i += V::W)
    V::store(out + i, expV<V>(V::load(in + i)));
  for (; i < n; ++i)
    out[i] = expScalar(in[i]);
}

//===----------------------------------------------------------------------===//
// GEMM
//===----------------------------------------------------------------------===//

/// Micro-kernel: an R x NR tile of C (NR = V::NV vectors) from R rows of A
/// read in place (row stride lda) and kc rows of an NR-wide panel of B (row
/// stride ldpb: NR when packed, ldb when read from a row-major B):
///   acc[i][:] += A[i][k] * Bpanel[k][:]   for k < kc
/// The R*NV accumulators stay in registers. On store, the tile either
/// overwrites C (adding bias if given) or accumulates into it (later K
/// blocks); only the first `cols` columns are written.
template <class V, int R>
inline void microTile(int64_t kc, const float *a, int64_t lda, const float *pb,
                      int64_t ldpb, float *c, int64_t ldc, int64_t cols,
                      const float *bias, bool accumulate) {
  using F = typename V::F;
  constexpr int W = V::W;
  constexpr int NV = V::NV;
  constexpr int NR = NV * W;
  F acc[R][NV];
  PHIQ_UNROLL
  for (int i = 0; i < R; ++i)
    PHIQ_UNROLL
  for (int j = 0; j < NV; ++j)
    acc[i][j] = V::zero();
  for (int64_t k = 0; k < kc; ++k) {
    F b[NV];
    PHIQ_UNROLL
    for (int j = 0; j < NV; ++j)
      b[j] = V::load(pb + k * ldpb + j * W);
    PHIQ_UNROLL
    for (int i = 0; i < R; ++i) {
      F ai = V::broadcast(a + i * lda + k);
      PHIQ_UNROLL
      for (int j = 0; j < NV; ++j)
        acc[i][j] = V::fmadd(ai, b[j], acc[i][j]);
    }
  }
  if (cols == NR) {
    PHIQ_UNROLL
    for (int i = 0; i < R; ++i) {
      PHIQ_UNROLL
      for (int j = 0; j < NV; ++j) {
        float *dst = c + i * ldc + j * W;
        F v = acc[i][j];
        if (accumulate)
          v = V::add(V::load(dst), v);
        else if (bias)
          v = V::add(v, V::load(bias + j * W));
        V::store(dst, v);
      }
    }
    return;
  }
  float tile[R * NR];
  PHIQ_UNROLL
  for (int i = 0; i < R; ++i)
    PHIQ_UNROLL
  for (int j = 0; j < NV; ++j)
    V::store(tile + i * NR + j * W, acc[i][j]);
  PHIQ_UNROLL
  for (int i = 0; i < R; ++i) {
    float *dst = c + i * ldc;
    for (int64_t j = 0; j < cols; ++j) {
      float v = tile[i * NR + j];
      if (accumulate)
        v = dst[j] + v;
      else if (bias)
        v = v + bias[j];
      dst[j] = v;
    }
  }
}

/// Calls microTile<V, rows> for a run-time row count 1 <= rows <= R.
template <class V, int R> struct TileRows {
  static void run(int rows, int64_t kc, const float *a, int64_t lda,
                  const float *pb, int64_t ldpb, float *c, int64_t ldc,
                  int64_t cols, const float *bias, bool accumulate) {
    if (rows == R)
      microTile<V, R>(kc, a, lda, pb, ldpb, c, ldc, cols, bias, accumulate);
    else
      TileRows<V, R - 1>::run(rows, kc, a, lda, pb, ldpb, c, ldc, cols, bias,
                              accumulate);
  }
};
template <class V> struct TileRows<V, 0> {
  static void run(int, int64_t, const float *, int64_t, const float *, int64_t,
                  float *, int64_t, int64_t, const float *, bool) {}
};

/// Rows [m0, m1) of C against one B panel, MR rows at a time.
template <class V>
inline void panelRows(int64_t kc, const float *a, int64_t lda, int64_t m0,
                      int64_t m1, const float *pb, int64_t ldpb, float *c,
                      int64_t ldc, int64_t cols, const float *bias,
                      bool accumulate) {
  constexpr int MR = V::MR;
  int64_t m = m0;
  for (; m + MR <= m1; m += MR)
    microTile<V, MR>(kc, a + m * lda, lda, pb, ldpb, c + m * ldc, ldc, cols,
                     bias, accumulate);
  if (m < m1)
    TileRows<V, MR - 1>::run(static_cast<int>(m1 - m), kc, a + m * lda, lda, pb,
                             ldpb, c + m * ldc, ldc, cols, bias, accumulate);
}

/// Packs panels into the layout KernelTable describes. From W[N,K] this is a
/// transpose (dst[k][j] = W[n+j][k0+k]), read along W's contiguous rows;
/// from B[K,N] it is a row copy. Columns past N are zero so the
/// micro-kernel never needs a column mask.
template <class V>
void packPanels(const GemmProblem &p, int64_t nBase, int64_t k0, int64_t kc,
                int64_t panel0, int64_t panel1, float *block) {
  constexpr int NR = V::NV * V::W;
  for (int64_t panel = panel0; panel < panel1; ++panel) {
    float *dst = block + panel * kc * NR;
    const int64_t n = nBase + panel * NR;
    const int64_t cols = minOf<int64_t>(NR, p.N - n);
    if (p.bTransposed && V::HasTranspose8 && cols == NR) {
      // 8x8 register transposes: 8 loads and 8 stores per 64 floats
      // instead of one scattered store per float.
      const float *src = p.B + n * p.ldb + k0;
      int64_t k = 0;
      for (; k + 8 <= kc; k += 8)
        for (int j = 0; j < NR; j += 8)
          V::transpose8x8(src + j * p.ldb + k, p.ldb, dst + k * NR + j, NR);
      for (; k < kc; ++k)
        for (int j = 0; j < NR; ++j)
          dst[k * NR + j] = src[j * p.ldb + k];
    } else if (p.bTransposed) {
      for (int64_t j = 0; j < cols; ++j) {
        const float *src = p.B + (n + j) * p.ldb + k0;
        for (int64_t k = 0; k < kc; ++k)
          dst[k * NR + j] = src[k];
      }
      if (cols < NR)
        for (int64_t k = 0; k < kc; ++k)
          for (int64_t j = cols; j < NR; ++j)
            dst[k * NR + j] = 0.0f;
    } else {
      for (int64_t k = 0; k < kc; ++k) {
        const float *src = p.B + (k0 + k) * p.ldb + n;
        for (int64_t j = 0; j < cols; ++j)
          dst[k * NR + j] = src[j];
        for (int64_t j = cols; j < NR; ++j)
          dst[k * NR + j] = 0.0f;
      }
    }
  }
}

/// Rows [m0, m1) x panels [panel0, panel1) for one K block. Panel-outer
/// order: one B panel (kc x NR floats) stays in L1 while the A rows stream
/// past it from L2.
template <class V>
void computePanels(const GemmProblem &p, const float *block, int64_t nBase,
                   int64_t k0, int64_t kc, int64_t m0, int64_t m1,
                   int64_t panel0, int64_t panel1) {
  constexpr int NR = V::NV * V::W;
  const bool accumulate = k0 > 0;
  for (int64_t panel = panel0; panel < panel1; ++panel) {
    const int64_t n = nBase + panel * NR;
    const int64_t cols = minOf<int64_t>(NR, p.N - n);
    const float *bias = (!accumulate && p.bias) ? p.bias + n : nullptr;
    panelRows<V>(kc, p.A + k0, p.lda, m0, m1, block + panel * kc * NR, NR,
                 p.C + n, p.ldc, cols, bias, accumulate);
  }
}

/// RA rows of A against RW rows of W[N,K], both read along K:
///   acc[i][j] += A[i][k:k+W] * W[j][k:k+W]   (lane-wise)
/// then each accumulator is summed across lanes. No packing, so W is read
/// exactly once: the right shape for decode, where M is 1 and the cost is
/// streaming W from memory.
template <class V, int RA, int RW>
inline void dotTile(const float *a, int64_t lda, const float *w, int64_t ldw,
                    int64_t K, float *c, int64_t ldc, const float *bias) {
  using F = typename V::F;
  F acc[RA][RW];
  PHIQ_UNROLL
  for (int i = 0; i < RA; ++i)
    PHIQ_UNROLL
  for (int j = 0; j < RW; ++j)
    acc[i][j] = V::zero();
  int64_t k = 0;
  for (; k + V::W <= K; k += V::W) {
    F av[RA];
    PHIQ_UNROLL
    for (int i = 0; i < RA; ++i)
      av[i] = V::load(a + i * lda + k);
    PHIQ_UNROLL
    for (int j = 0; j < RW; ++j) {
      F wv = V::load(w + j * ldw + k);
      PHIQ_UNROLL
      for (int i = 0; i < RA; ++i)
        acc[i][j] = V::fmadd(av[i], wv, acc[i][j]);
    }
  }
  float sums[RA][RW];
  PHIQ_UNROLL
  for (int i = 0; i < RA; ++i) {
    if constexpr (RW == 8) {
      V::hsum8(acc[i], sums[i]);
    } else {
      PHIQ_UNROLL
      for (int j = 0; j < RW; ++j)
        sums[i][j] = V::hsum(acc[i][j]);
    }
  }
  PHIQ_UNROLL
  for (int i = 0; i < RA; ++i) {
    PHIQ_UNROLL
    for (int j = 0; j < RW; ++j) {
      float s = sums[i][j];
      for (int64_t kk = k; kk < K; ++kk)
        s += a[i * lda + kk] * w[j * ldw + kk];
      if (bias)
        s += bias[j];
      c[i * ldc + j] = s;
    }
  }
}

template <class V, int RA, int RW = V::dotCols(RA)>
inline void dotRows(const GemmProblem &p, int64_t m, int64_t n0, int64_t n1) {
  const float *a = p.A + m * p.lda;
  float *c = p.C + m * p.ldc;
  int64_t n = n0;
  for (; n + RW <= n1; n += RW)
    dotTile<V, RA, RW>(a, p.lda, p.B + n * p.ldb, p.ldb, p.K, c + n, p.ldc,
                       p.bias ? p.bias + n : nullptr);
  for (; n < n1; ++n)
    dotTile<V, RA, 1>(a, p.lda, p.B + n * p.ldb, p.ldb, p.K, c + n, p.ldc,
                      p.bias ? p.bias + n : nullptr);
}

/// GEMM with B[K,N] row-major, read in place: a full NR-column panel of B
/// is already kc rows of NR floats, just with row stride ldb, so the
/// micro-kernel runs on it directly over all of K (no K blocks, the
/// accumulators never leave registers). A last partial panel is copied to
/// `edge` (K * NR floats, zero-padded); without `edge` its columns are
/// computed as plain dot products.
template <class V>
void gemmDirectB(const GemmProblem &p, int64_t m0, int64_t m1, int64_t n0,
                 int64_t n1, float *edge) {
  constexpr int NR = V::NV * V::W;
  int64_t n = n0;
  for (; n + NR <= n1; n += NR)
    panelRows<V>(p.K, p.A, p.lda, m0, m1, p.B + n, p.ldb, p.C + n, p.ldc, NR,
                 p.bias ? p.bias + n : nullptr, false);
  if (n < n1 && edge) {
    GemmProblem tail = p;
    tail.N = n1;
    packPanels<V>(tail, n, 0, p.K, 0, 1, edge);
    panelRows<V>(p.K, p.A, p.lda, m0, m1, edge, NR, p.C + n, p.ldc, n1 - n,
                 p.bias ? p.bias + n : nullptr, false);
    return;
  }
  for (; n < n1; ++n) {
    for (int64_t m = m0; m < m1; ++m) {
      const float *a = p.A + m * p.lda;
      float s = 0.0f;
      for (int64_t k = 0; k < p.K; ++k)
        s += a[k] * p.B[k * p.ldb + n];
      if (p.bias)
        s += p.bias[n];
      p.C[m * p.ldc + n] = s;
    }
  }
}

/// Few-row GEMM without packing. W[N,K]: dot products, up to 4 rows of A per
/// pass over W; for short K (attention scores at decode, K = head size) each
/// row of A against 8 rows of W at a time, whose 8 sums reduce together
/// (hsum8) instead of costing a horizontal sum each. B[K,N]: the micro-kernel
/// reads B's rows in place (ldpb = ldb); a last partial panel falls back to
/// scalar dot products.
template <class V>
void gemmSmallM(const GemmProblem &p, int64_t m0, int64_t m1, int64_t n0,
                int64_t n1) {
  if (p.bTransposed && p.K <= 128) {
    // Key-block outer: the 8 rows of W stay in L1 while every row of A
    // passes over them, so W streams from memory once.
    int64_t n = n0;
    for (; n + 8 <= n1; n += 8)
      for (int64_t m = m0; m < m1; ++m)
        dotTile<V, 1, 8>(p.A + m * p.lda, p.lda, p.B + n * p.ldb, p.ldb, p.K,
                         p.C + m * p.ldc + n, p.ldc,
                         p.bias ? p.bias + n : nullptr);
    for (int64_t m = m0; m < m1; ++m)
      dotRows<V, 1, 1>(p, m, n, n1);
    return;
  }
  if (p.bTransposed) {
    for (int64_t m = m0; m < m1;) {
      switch (minOf<int64_t>(4, m1 - m)) {
      case 4:
        dotRows<V, 4>(p, m, n0, n1);
        m += 4;
        break;
      case 3:
        dotRows<V, 3>(p, m, n0, n1);
        m += 3;
        break;
      case 2:
        dotRows<V, 2>(p, m, n0, n1);
        m += 2;
        break;
      default:
        dotRows<V, 1>(p, m, n0, n1);
        m += 1;
        break;
      }
    }
    return;
  }
  gemmDirectB<V>(p, m0, m1, n0, n1, nullptr);
}

/// Floats of scratch gemmSerial needs: one packed K block over all of N
/// (W layout), or one edge panel over all of K (B layout).
template <class V> int64_t gemmSerialScratch(const GemmProblem &p) {
  constexpr int NR = V::NV * V::W;
  if (!p.bTransposed)
    return p.K * NR;
  return gemmBlockK(p.K, V::KC) * ceilDiv(p.N, NR) * NR;
}

/// The whole GEMM on the calling thread (attention's blocks use it).
template <class V> void gemmSerial(const GemmProblem &p, float *scratch) {
  if (p.M <= 0 || p.N <= 0)
    return;
  if (p.K <= 0) {
    for (int64_t m = 0; m < p.M; ++m)
      for (int64_t n = 0; n < p.N; ++n)
        p.C[m * p.ldc + n] = p.bias ? p.bias[n] : 0.0f;
    return;
  }
  if (!p.bTransposed) {
    gemmDirectB<V>(p, 0, p.M, 0, p.N, scratch);
    return;
  }
  if (p.M <= V::SmallM) {
    gemmSmallM<V>(p, 0, p.M, 0, p.N);
    return;
  }
  constexpr int NR = V::NV * V::W;
  const int64_t panels = ceilDiv(p.N, NR);
  const int64_t kcBlock = gemmBlockK(p.K, V::KC);
  for (int64_t k0 = 0; k0 < p.K; k0 += kcBlock) {
    const int64_t kc = minOf(kcBlock, p.K - k0);
    packPanels<V>(p, 0, k0, kc, 0, panels, scratch);
    computePanels<V>(p, scratch, 0, k0, kc, 0, p.M, 0, panels);
  }
}

//===----------------------------------------------------------------------===//
// Row-wise kernels
//===----------------------------------------------------------------------===//

/// sum(x[i] * y[i]) over n, two vector accumulators to hide FMA latency.
template <class V>
inline float dotSum(const float *x, const float *y, int64_t n) {
  using F = typename V::F;
  F s0 = V::zero(), s1 = V::zero();
  int64_t i = 0;
  for (; i + 2 * V::W <= n; i += 2 * V::W) {
    s0 = V::fmadd(V::load(x + i), V::load(y + i), s0);
    s1 = V::fmadd(V::load(x + i + V::W), V::load(y + i + V::W), s1);
  }
  for (; i + V::W <= n; i += V::W)
    s0 = V::fmadd(V::load(x + i), V::load(y + i), s0);
  float s = V::hsum(V::add(s0, s1));
  for (; i < n; ++i)
    s += x[i] * y[i];
  return s;
}

/// RMSNorm as transformers' Phi3RMSNorm computes it in fp32:
///   r = 1 / sqrt(mean(x^2) + eps);   y = w * (x * r)
template <class V>
void rmsNormRows(const float *x, const float *w, float *y, int64_t rows,
                 int64_t dim, float eps) {
  for (int64_t row = 0; row < rows; ++row) {
    const float *xr = x + row * dim;
    float *yr = y + row * dim;
    const float mean = dotSum<V>(xr, xr, dim) / static_cast<float>(dim);
    const float r = 1.0f / sqrtf(mean + eps);
    const typename V::F rv = V::set1(r);
    int64_t i = 0;
    for (; i + V::W <= dim; i += V::W)
      V::store(yr + i, V::mul(V::load(w + i), V::mul(V::load(xr + i), rv)));
    for (; i < dim; ++i)
      yr[i] = w[i] * (xr[i] * r);
  }
}

/// LayerNorm with the biased variance, two passes for accuracy:
///   mu = mean(x);  var = mean((x - mu)^2);  y = (x - mu) * rstd * w + b
template <class V>
void layerNormRows(const float *x, const float *w, const float *b, float *y,
                   int64_t rows, int64_t dim, float eps) {
  using F = typename V::F;
  for (int64_t row = 0; row < rows; ++row) {
    const float *xr = x + row * dim;
    float *yr = y + row * dim;
    F s = V::zero();
    int64_t i = 0;
    for (; i + V::W <= dim; i += V::W)
      s = V::add(s, V::load(xr + i));
    float sum = V::hsum(s);
    for (; i < dim; ++i)
      sum += xr[i];
    const float mu = sum / static_cast<float>(dim);
    const F muv = V::set1(mu);
    F q = V::zero();
    for (i = 0; i + V::W <= dim; i += V::W) {
      F d = V::sub(V::load(xr + i), muv);
      q = V::fmadd(d, d, q);
    }
    float sq = V::hsum(q);
    for (; i < dim; ++i)
      sq += (xr[i] - mu) * (xr[i] - mu);
    const float rstd = 1.0f / sqrtf(sq / static_cast<float>(dim) + eps);
    const F rv = V::set1(rstd);
    for (i = 0; i + V::W <= dim; i += V::W) {
      F v = V::mul(V::mul(V::sub(V::load(xr + i), muv), rv), V::load(w + i));
      if (b)
        v = V::add(v, V::load(b + i));
      V::store(yr + i, v);
    }
    for (; i < dim; ++i) {
      float v = (xr[i] - mu) * rstd * w[i];
      yr[i] = b ? v + b[i] : v;
    }
  }
}

/// out = up * silu(gate), silu(g) = g / (1 + exp(-g)) as PyTorch evaluates
/// it (a very negative g gives exp(-g) = inf and silu = -0).
template <class V>
void siluGateRows(const float *in, float *out, int64_t rows, int64_t inter) {
  using F = typename V::F;
  const F one = V::set1(1.0f);
  const F zero = V::zero();
  for (int64_t row = 0; row < rows; ++row) {
    const float *gate = in + row * 2 * inter;
    const float *up = gate + inter;
    float *o = out + row * inter;
    int64_t i = 0;
    for (; i + V::W <= inter; i += V::W) {
      F g = V::load(gate + i);
      F silu = V::div(g, V::add(one, expV<V>(V::sub(zero, g))));
      V::store(o + i, V::mul(V::load(up + i), silu));
    }
    for (; i < inter; ++i) {
      float g = gate[i];
      o[i] = up[i] * (g / (1.0f + expScalar(-g)));
    }
  }
}

template <class V>
void addRange(const float *a, const float *b, float *out, int64_t n) {
  int64_t i = 0;
  for (; i + V::W <= n; i += V::W)
    V::store(out + i, V::add(V::load(a + i), V::load(b + i)));
  for (; i < n; ++i)
    out[i] = a[i] + b[i];
}

/// Rotary embedding for tokens [t0, t1), transformers' rotate_half form:
///   angle = float(pos) * invFreq[i]       (fp32 product, as torch does)
///   c = cos(angle) * scale, s = sin(angle) * scale
///   x'[i] = x[i] * c - x[i+h] * s,  x'[i+h] = x[i+h] * c + x[i] * s
/// cos/sin are computed once per token and shared by all heads.
template <class V>
void rotaryRows(float *x, int64_t ld, int64_t t0, int64_t t1, int64_t numHeads,
                int64_t headDim, int64_t rotaryDim, const float *invFreq,
                float cosSinScale, int64_t firstPos) {
  using F = typename V::F;
  const int64_t half = rotaryDim / 2;
  if (half <= 0)
    return;
  float *cosv = threadScratch(kScratchRotary, 2 * half);
  float *sinv = cosv + half;
  for (int64_t t = t0; t < t1; ++t) {
    const float pos = static_cast<float>(firstPos + t);
    for (int64_t i = 0; i < half; ++i) {
      const float angle = pos * invFreq[i];
      cosv[i] = cosf(angle) * cosSinScale;
      sinv[i] = sinf(angle) * cosSinScale;
    }
    float *row = x + t * ld;
    for (int64_t h = 0; h < numHeads; ++h) {
      float *lo = row + h * headDim;
      float *hi = lo + half;
      int64_t i = 0;
      for (; i + V::W <= half; i += V::W) {
        F x1 = V::load(lo + i), x2 = V::load(hi + i);
        F c = V::load(cosv + i), s = V::load(sinv + i);
        V::store(lo + i, V::sub(V::mul(x1, c), V::mul(x2, s)));
        V::store(hi + i, V::add(V::mul(x2, c), V::mul(x1, s)));
      }
      for (; i < half; ++i) {
        const float x1 = lo[i], x2 = hi[i];
        lo[i] = x1 * cosv[i] - x2 * sinv[i];
        hi[i] = x2 * cosv[i] + x1 * sinv[i];
      }
    }
  }
}

/// logsumexp = shift + log(sum(exp(x - shift))), shift = max(x) when finite
/// (0 otherwise, as torch.logsumexp does, so all -inf gives -inf and a +inf
/// gives +inf); any NaN gives NaN through the sum.
template <class V> float logSumExp(const float *x, int64_t n) {
  using F = typename V::F;
  if (n <= 0)
    return -INFINITY;
  F mv = V::set1(-INFINITY);
  int64_t i = 0;
  for (; i + V::W <= n; i += V::W)
    mv = V::max(V::load(x + i), mv);
  float m = V::hmax(mv);
  for (; i < n; ++i)
    m = ScalarOps::max(x[i], m);
  const float shift = isfinite(m) ? m : 0.0f;
  const F sv = V::set1(shift);
  F acc = V::zero();
  for (i = 0; i + V::W <= n; i += V::W)
    acc = V::add(acc, expV<V>(V::sub(V::load(x + i), sv)));
  float sum = V::hsum(acc);
  for (; i < n; ++i)
    sum += expScalar(x[i] - shift);
  return shift + logf(sum);
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

/// First key position visible from query position i under the window.
inline int64_t firstVisibleKey(int64_t i, int64_t window) {
  return window <= i ? i - window + 1 : 0;
}

/// Softmax of one score row in place over its visible keys [lo, hi):
///   s = scale * dot;  e = exp(s - max s);  returns sum(e)
/// Keys outside [lo, hi) are set to 0 so the P*V GEMM can run over the
/// whole block.
template <class V>
float softmaxRow(float *row, int64_t keys, int64_t lo, int64_t hi,
                 float scale) {
  using F = typename V::F;
  for (int64_t j = 0; j < lo; ++j)
    row[j] = 0.0f;
  for (int64_t j = hi; j < keys; ++j)
    row[j] = 0.0f;
  float *r = row + lo;
  const int64_t n = hi - lo;
  if (n <= 0)
    return 0.0f;
  const F sc = V::set1(scale);
  F mv = V::set1(-INFINITY);
  int64_t j = 0;
  for (; j + V::W <= n; j += V::W) {
    F s = V::mul(V::load(r + j), sc);
    V::store(r + j, s);
    mv = V::max(s, mv);
  }
  float m = V::hmax(mv);
  for (; j < n; ++j) {
    r[j] *= scale;
    m = ScalarOps::max(r[j], m);
  }
  const F shift = V::set1(m);
  F acc = V::zero();
  for (j = 0; j + V::W <= n; j += V::W) {
    F e = expV<V>(V::sub(V::load(r + j), shift));
    V::store(r + j, e);
    acc = V::add(acc, e);
  }
  float sum = V::hsum(acc);
  for (; j < n; ++j) {
    r[j] = expScalar(r[j] - m);
    sum += r[j];
  }
  return sum;
}

/// One work unit of attention: the `group` query heads sharing kv head
/// `kvHead`, for queries [t0, t1). Their query rows are gathered into one
/// matrix (row g*qb + t for head g of the group) so K and V are read once
/// per group:
///   S = Q K^T over the keys any of these queries sees   (GEMM, W layout,
///                                                        keys prepacked)
///   P = exp(scale*S - rowmax), masked keys 0            (softmaxRow)
///   O = (P V) / rowsum                                   (GEMM, B layout)
template <class V>
void attentionBlock(const AttentionProblem &a, int64_t kvHead, int64_t t0,
                    int64_t t1) {
  const int64_t group = a.numHeads / a.numKvHeads;
  const int64_t qb = t1 - t0;
  const int64_t rows = group * qb;
  const int64_t d = a.headDim;
  constexpr int NR = V::NV * V::W;
  const int64_t firstPos = a.pastLen + t0;
  int64_t keyBegin = firstVisibleKey(firstPos, a.slidingWindow);
  // With prepacked keys the block starts on a panel boundary; the extra
  // leading keys are masked like any other invisible key.
  if (a.packedKeys)
    keyBegin = keyBegin / NR * NR;
  const int64_t keyEnd = a.pastLen + t1;
  const int64_t keys = keyEnd - keyBegin;
  const int64_t ldS = ceilDiv(keys, 16) * 16;

  float *q = threadScratch(kScratchAttnQuery, rows * d);
  float *s = threadScratch(kScratchAttnScores, rows * ldS);
  float *o = threadScratch(kScratchAttnOut, rows * d);
  float *sums = threadScratch(kScratchAttnSums, rows);

  for (int64_t g = 0; g < group; ++g)
    for (int64_t t = 0; t < qb; ++t)
      memcpy(q + (g * qb + t) * d,
             a.q + (t0 + t) * a.ldq + (kvHead * group + g) * d,
             sizeof(float) * d);

  GemmProblem scores{q,      d,    a.k + keyBegin * a.ldkv + kvHead * d,
                     a.ldkv, true, nullptr,
                     s,      ldS,  rows,
                     keys,   d};
  GemmProblem mix{s,      ldS,   a.v + keyBegin * a.ldkv + kvHead * d,
                  a.ldkv, false, nullptr,
                  o,      d,     rows,
                  d,      keys};
  float *pack =
      threadScratch(kScratchAttnPack, maxOf(gemmSerialScratch<V>(scores),
                                            gemmSerialScratch<V>(mix)));

  if (a.packedKeys)
    computePanels<V>(scores,
                     a.packedKeys + kvHead * a.packedKeysStride +
                         (keyBegin / NR) * d * NR,
                     0, 0, d, 0, rows, 0, ceilDiv(keys, NR));
  else
    gemmSerial<V>(scores, pack);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t pos = firstPos + r % qb;
    const int64_t lo = firstVisibleKey(pos, a.slidingWindow) - keyBegin;
    const int64_t hi = pos + 1 - keyBegin;
    sums[r] = softmaxRow<V>(s + r * ldS, keys, lo, hi, a.scale);
  }
  gemmSerial<V>(mix, pack);

  for (int64_t g = 0; g < group; ++g) {
    for (int64_t t = 0; t < qb; ++t) {
      const int64_t r = g * qb + t;
      const float *src = o + r * d;
      float *dst = a.out + (t0 + t) * a.ldo + (kvHead * group + g) * d;
      if (sums[r] > 0.0f) {
        const float inv = 1.0f / sums[r];
        int64_t i = 0;
        const typename V::F iv = V::set1(inv);
        for (; i + V::W <= d; i += V::W)
          V::store(dst + i, V::mul(V::load(src + i), iv));
        for (; i < d; ++i)
          dst[i] = src[i] * inv;
      } else {
        for (int64_t i = 0; i < d; ++i)
          dst[i] = 0.0f;
      }
    }
  }
}

/// The table of one ISA's instantiations.
template <class V> constexpr KernelTable makeKernelTable(CpuLevel level) {
  return KernelTable{level,
                     V::MR,
                     V::NV * V::W,
                     V::KC,
                     V::SmallM,
                     &packPanels<V>,
                     &computePanels<V>,
                     &gemmSmallM<V>,
                     &rmsNormRows<V>,
                     &layerNormRows<V>,
                     &siluGateRows<V>,
                     &addRange<V>,
                     &expRange<V>,
                     &rotaryRows<V>,
                     &attentionBlock<V>,
                     &logSumExp<V>};
}

} // namespace
} // namespace phiq::rt

#endif // PHIQ_LIB_RUNTIME_KERNELSIMPL_H
