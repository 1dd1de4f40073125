//===- KernelsAVX512.cpp - AVX-512 instantiation of the kernels -*- C++ -*-===//
//
// The kernels of KernelsImpl.h on 512-bit vectors (AVX-512F only, so any
// AVX-512 CPU qualifies). This file alone is compiled with -mavx512f (see
// CMakeLists.txt); nothing here runs unless hardwareCpuLevel() found it.
//
//===----------------------------------------------------------------------===//

#include "KernelsImpl.h"

// GCC 12 reports its own _mm512_undefined_* helpers (self-initialised on
// purpose) as uninitialised wherever they are inlined; the warnings point
// into the header, so silencing them there leaves this file's checked.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

namespace phiq::rt {
namespace {

/// 16 floats per vector. GEMM tile 12 x 32: 24 accumulators + 2 B vectors of
/// the 32 zmm registers (the A broadcasts fold into the FMAs' memory
/// operands). A 256-deep K block makes a 32 KiB B panel.
struct Avx512Ops {
  using F = __m512;
  using I = __m512i;
  static constexpr int W = 16;
  static constexpr int MR = 12;
  static constexpr int NV = 2;
  static constexpr int64_t KC = 256;
  static constexpr int64_t SmallM = 4;
  /// W rows per dotTile pass for RA rows of A (32 registers).
  static constexpr int dotCols(int ra) {
    return ra == 1 ? 8 : ra == 2 ? 8 : ra == 3 ? 6 : 4;
  }

  /// dst[i][j] = src[j][i] for an 8x8 block (row strides lds, ldd), in
  /// registers: unpack pairs, shuffle quads, swap 128-bit halves.
  static constexpr bool HasTranspose8 = true;
  static void transpose8x8(const float *src, int64_t lds, float *dst,
                           int64_t ldd) {
    __m256 r0 = _mm256_loadu_ps(src), r1 = _mm256_loadu_ps(src + lds);
    __m256 r2 = _mm256_loadu_ps(src + 2 * lds);
    __m256 r3 = _mm256_loadu_ps(src + 3 * lds);
    __m256 r4 = _mm256_loadu_ps(src + 4 * lds);
    __m256 r5 = _mm256_loadu_ps(src + 5 * lds);
    __m256 r6 = _mm256_loadu_ps(src + 6 * lds);
    __m256 r7 = _mm256_loadu_ps(src + 7 * lds);
    __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
    __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
    __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
    __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    __m256 s0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 s1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 s2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 s3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 s4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 s5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
    __m256 s6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
    __m256 s7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
    _mm256_storeu_ps(dst, _mm256_permute2f128_ps(s0, s4, 0x20));
    _mm256_storeu_ps(dst + ldd, _mm256_permute2f128_ps(s1, s5, 0x20));
    _mm256_storeu_ps(dst + 2 * ldd, _mm256_permute2f128_ps(s2, s6, 0x20));
    _mm256_storeu_ps(dst + 3 * ldd, _mm256_permute2f128_ps(s3, s7, 0x20));
    _mm256_storeu_ps(dst + 4 * ldd, _mm256_permute2f128_ps(s0, s4, 0x31));
    _mm256_storeu_ps(dst + 5 * ldd, _mm256_permute2f128_ps(s1, s5, 0x31));
    _mm256_storeu_ps(dst + 6 * ldd, _mm256_permute2f128_ps(s2, s6, 0x31));
    _mm256_storeu_ps(dst + 7 * ldd, _mm256_permute2f128_ps(s3, s7, 0x31));
  }

  static F zero() { return _mm512_setzero_ps(); }
  static F set1(float x) { return _mm512_set1_ps(x); }
  static F load(const float *p) { return _mm512_loadu_ps(p); }
  static void store(float *p, F v) { _mm512_storeu_ps(p, v); }
  static F broadcast(const float *p) { return _mm512_set1_ps(*p); }
  static F add(F a, F b) { return _mm512_add_ps(a, b); }
  static F sub(F a, F b) { return _mm512_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm512_mul_ps(a, b); }
  static F div(F a, F b) { return _mm512_div_ps(a, b); }
  static F fmadd(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
  static F max(F a, F b) { return _mm512_max_ps(a, b); }
  static F min(F a, F b) { return _mm512_min_ps(a, b); }
  static float hsum(F v) {
    __m256 lo = _mm512_castps512_ps256(v);
    __m256 hi =
        _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
    __m256 s8 = _mm256_add_ps(lo, hi);
    __m128 s =
        _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  /// out[j] = sum of v[j]'s lanes for 8 vectors at once: fold each to 256
  /// bits, then pairwise hadds and a 128-bit half swap as in AVX2.
  static void hsum8(const F (&v)[8], float *out) {
    __m256 h[8];
    for (int j = 0; j < 8; ++j)
      h[j] = _mm256_add_ps(
          _mm512_castps512_ps256(v[j]),
          _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v[j]), 1)));
    __m256 s01 = _mm256_hadd_ps(h[0], h[1]), s23 = _mm256_hadd_ps(h[2], h[3]);
    __m256 s45 = _mm256_hadd_ps(h[4], h[5]), s67 = _mm256_hadd_ps(h[6], h[7]);
    __m256 s0123 = _mm256_hadd_ps(s01, s23), s4567 = _mm256_hadd_ps(s45, s67);
    _mm256_storeu_ps(out,
                     _mm256_add_ps(_mm256_permute2f128_ps(s0123, s4567, 0x20),
                                   _mm256_permute2f128_ps(s0123, s4567, 0x31)));
  }
  static float hmax(F v) {
    __m256 lo = _mm512_castps512_ps256(v);
    __m256 hi =
        _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
    __m256 s8 = _mm256_max_ps(lo, hi);
    __m128 s =
        _mm_max_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static I bits(F v) { return _mm512_castps_si512(v); }
  static F fromBits(I i) { return _mm512_castsi512_ps(i); }
  static I iadd(I a, I b) { return _mm512_add_epi32(a, b); }
  static I isub(I a, I b) { return _mm512_sub_epi32(a, b); }
  static I iset1(int32_t x) { return _mm512_set1_epi32(x); }
  static I sra1(I a) { return _mm512_srai_epi32(a, 1); }
  static I shl23(I a) { return _mm512_slli_epi32(a, 23); }
};

constexpr KernelTable kAvx512Table =
    makeKernelTable<Avx512Ops>(CpuLevel::AVX512);

} // namespace

const KernelTable &avx512KernelTable() { return kAvx512Table; }

} // namespace phiq::rt
