//===- KernelsPortable.cpp - Portable kernels -------------------*- C++ -*-===//
//
// The kernels of KernelsImpl.h for any CPU: 4-float vectors written with the
// GCC/Clang vector extension, which the compiler lowers to whatever the
// baseline target has (SSE2 on x86-64), without fused multiply-add. It is
// the fallback when the CPU lacks AVX2+FMA and the reference the faster
// levels are tested against.
//
//===----------------------------------------------------------------------===//

#include "KernelsImpl.h"

namespace phiq::rt {
namespace {

typedef float Float4 __attribute__((vector_size(16)));
typedef int32_t Int4 __attribute__((vector_size(16)));

/// 4 floats per vector. GEMM tile 4 x 8: 8 accumulators + 2 B vectors + 1
/// broadcast, within the 16 registers of SSE2 (and NEON's 32).
struct PortableOps {
  using F = Float4;
  using I = Int4;
  static constexpr int W = 4;
  static constexpr bool HasTranspose8 = false;
  static void transpose8x8(const float *, int64_t, float *, int64_t) {}
  static constexpr int MR = 4;
  static constexpr int NV = 2;
  static constexpr int64_t KC = 256;
  static constexpr int64_t SmallM = 4;
  static constexpr int dotCols(int ra) {
    return ra == 1 ? 8 : ra == 2 ? 4 : ra == 3 ? 3 : 2;
  }

  static F zero() { return F{0.0f, 0.0f, 0.0f, 0.0f}; }
  static F set1(float x) { return F{x, x, x, x}; }
  static F load(const float *p) {
    F v;
    memcpy(&v, p, sizeof v);
    return v;
  }
  static void store(float *p, F v) { memcpy(p, &v, sizeof v); }
  static F broadcast(const float *p) { return set1(*p); }
  static F add(F a, F b) { return a + b; }
  static F sub(F a, F b) { return a - b; }
  static F mul(F a, F b) { return a * b; }
  static F div(F a, F b) { return a / b; }
  static F fmadd(F a, F b, F c) { return a * b + c; }
  /// mask ? a : b lane-wise, as bit operations (no vector ?: needed).
  static F select(I mask, F a, F b) {
    return reinterpret_cast<F>((reinterpret_cast<I>(a) & mask) |
                               (reinterpret_cast<I>(b) & ~mask));
  }
  static F max(F a, F b) { return select(a > b, a, b); }
  static F min(F a, F b) { return select(a < b, a, b); }
  static float hsum(F v) { return (v[0] + v[2]) + (v[1] + v[3]); }
  static void hsum8(const F (&v)[8], float *out) {
    for (int j = 0; j < 8; ++j)
      out[j] = hsum(v[j]);
  }
  static float hmax(F v) {
    float m01 = v[0] > v[1] ? v[0] : v[1];
    float m23 = v[2] > v[3] ? v[2] : v[3];
    return m01 > m23 ? m01 : m23;
  }
  static I bits(F v) { return reinterpret_cast<I>(v); }
  static F fromBits(I i) { return reinterpret_cast<F>(i); }
  static I iadd(I a, I b) {
    return reinterpret_cast<I>(reinterpret_cast<UInt4>(a) +
                               reinterpret_cast<UInt4>(b));
  }
  static I isub(I a, I b) {
    return reinterpret_cast<I>(reinterpret_cast<UInt4>(a) -
                               reinterpret_cast<UInt4>(b));
  }
  static I iset1(int32_t x) { return I{x, x, x, x}; }
  static I sra1(I a) { return a >> 1; }
  static I shl23(I a) {
    return reinterpret_cast<I>(reinterpret_cast<UInt4>(a) << 23);
  }

private:
  typedef uint32_t UInt4 __attribute__((vector_size(16)));
};

constexpr KernelTable kPortableTable =
    makeKernelTable<PortableOps>(CpuLevel::Portable);

} // namespace

const KernelTable &portableKernelTable() { return kPortableTable; }

} // namespace phiq::rt
