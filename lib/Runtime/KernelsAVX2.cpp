//===- KernelsAVX2.cpp - AVX2+FMA instantiation of the kernels --*- C++ -*-===//
//
// The kernels of KernelsImpl.h on 256-bit vectors with fused multiply-add,
// for every x86-64 CPU since Haswell / Zen. This file alone is compiled with
// -mavx2 -mfma (see CMakeLists.txt); nothing here runs unless
// hardwareCpuLevel() found both features.
//
//===----------------------------------------------------------------------===//

#include "KernelsImpl.h"

#include <immintrin.h>

namespace phiq::rt {
namespace {

/// 8 floats per vector. GEMM tile 6 x 16: 12 accumulators + 2 B vectors +
/// 1 broadcast of the 16 ymm registers. A K block of 256 keeps a 16 KiB B
/// panel in the 32 KiB L1 with room for the 6 A rows streaming past it.
struct Avx2Ops {
  using F = __m256;
  using I = __m256i;
  static constexpr int W = 8;
  static constexpr int MR = 6;
  static constexpr int NV = 2;
  static constexpr int64_t KC = 256;
  static constexpr int64_t SmallM = 4;
  /// W rows per dotTile pass for RA rows of A: RA*RW accumulators + RA + 1
  /// registers must fit in 16.
  static constexpr int dotCols(int ra) {
    return ra == 1 ? 8 : ra == 2 ? 4 : ra == 3 ? 3 : 2;
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

  static F zero() { return _mm256_setzero_ps(); }
  static F set1(float x) { return _mm256_set1_ps(x); }
  static F load(const float *p) { return _mm256_loadu_ps(p); }
  static void store(float *p, F v) { _mm256_storeu_ps(p, v); }
  static F broadcast(const float *p) { return _mm256_broadcast_ss(p); }
  static F add(F a, F b) { return _mm256_add_ps(a, b); }
  static F sub(F a, F b) { return _mm256_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm256_mul_ps(a, b); }
  static F div(F a, F b) { return _mm256_div_ps(a, b); }
  static F fmadd(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
  static F max(F a, F b) { return _mm256_max_ps(a, b); }
  static F min(F a, F b) { return _mm256_min_ps(a, b); }
  static float hsum(F v) {
    __m128 s =
        _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  /// out[j] = sum of v[j]'s lanes for 8 vectors at once: pairwise hadds
  /// interleave the sums, then the two 128-bit halves add up.
  static void hsum8(const F (&v)[8], float *out) {
    __m256 s01 = _mm256_hadd_ps(v[0], v[1]), s23 = _mm256_hadd_ps(v[2], v[3]);
    __m256 s45 = _mm256_hadd_ps(v[4], v[5]), s67 = _mm256_hadd_ps(v[6], v[7]);
    __m256 s0123 = _mm256_hadd_ps(s01, s23), s4567 = _mm256_hadd_ps(s45, s67);
    _mm256_storeu_ps(out,
                     _mm256_add_ps(_mm256_permute2f128_ps(s0123, s4567, 0x20),
                                   _mm256_permute2f128_ps(s0123, s4567, 0x31)));
  }
  static float hmax(F v) {
    __m128 s =
        _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static I bits(F v) { return _mm256_castps_si256(v); }
  static F fromBits(I i) { return _mm256_castsi256_ps(i); }
  static I iadd(I a, I b) { return _mm256_add_epi32(a, b); }
  static I isub(I a, I b) { return _mm256_sub_epi32(a, b); }
  static I iset1(int32_t x) { return _mm256_set1_epi32(x); }
  static I sra1(I a) { return _mm256_srai_epi32(a, 1); }
  static I shl23(I a) { return _mm256_slli_epi32(a, 23); }
};

constexpr KernelTable kAvx2Table = makeKernelTable<Avx2Ops>(CpuLevel::AVX2);

} // namespace

const KernelTable &avx2KernelTable() { return kAvx2Table; }

} // namespace phiq::rt
