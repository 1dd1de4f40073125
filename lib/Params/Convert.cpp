//===- Convert.cpp - Converting tensor elements to fp32 ---------*- C++ -*-===//
//
// `convertToF32` turns the elements of any safetensors dtype into floats; it
// is how the executor, the calibration tools and the tests read weights. The
// loops run over raw bytes (checkpoint data is unaligned) and are written so
// the compiler vectorizes them; F16 additionally uses the x86 F16C
// instructions when the CPU has them, picked once at run time.
//
//===----------------------------------------------------------------------===//
#include "phiq/Params/Convert.h"
#include "phiq/Params/ParamStore.h"

#include <array>
#include <cmath>
#include <cstring>
#include <limits>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define PHIQ_HAVE_F16C_PATH 1
#include <cpuid.h>
#include <immintrin.h>
#else
#define PHIQ_HAVE_F16C_PATH 0
#endif

using namespace phiq::params;

//===----------------------------------------------------------------------===//
// F8
//===----------------------------------------------------------------------===//

static float decodeE4M3(uint8_t bits) {
  bool negative = bits & 0x80;
  unsigned exponent = (bits >> 3) & 0xf;
  unsigned mantissa = bits & 0x7;
  float magnitude;
  if (exponent == 0xf && mantissa == 0x7)
    magnitude = std::numeric_limits<float>::quiet_NaN();
  else if (exponent == 0)
    magnitude = std::ldexp(static_cast<float>(mantissa), -9);
  else
    magnitude = std::ldexp(static_cast<float>(8 + mantissa),
                           static_cast<int>(exponent) - 10);
  return negative ? -magnitude : magnitude;
}

namespace {
/// 256-entry lookup tables: F8 conversion is a gather, never a decode.
struct F8Tables {
  std::array<float, 256> e4m3;
  std::array<float, 256> e5m2;
  F8Tables() {
    for (unsigned i = 0; i < 256; ++i) {
      e4m3[i] = decodeE4M3(static_cast<uint8_t>(i));
      e5m2[i] = f8E5M2BitsToF32(static_cast<uint8_t>(i));
    }
  }
};
} // namespace

static const F8Tables &f8Tables() {
  static const F8Tables tables;
  return tables;
}

float phiq::params::f8E4M3BitsToF32(uint8_t bits) {
  return f8Tables().e4m3[bits];
}

//===----------------------------------------------------------------------===//
// F16 and BF16
//===----------------------------------------------------------------------===//

void phiq::params::convertF16ToF32Portable(const uint8_t *src, float *dst,
                                           int64_t count) {
  for (int64_t i = 0; i < count; ++i) {
    uint16_t half;
    std::memcpy(&half, src + 2 * i, sizeof(half));
    dst[i] = fp16BitsToFp32(half);
  }
}

static void convertBF16ToF32(const uint8_t *src, float *dst, int64_t count) {
  for (int64_t i = 0; i < count; ++i) {
    uint16_t half;
    std::memcpy(&half, src + 2 * i, sizeof(half));
    uint32_t bits = static_cast<uint32_t>(half) << 16;
    std::memcpy(dst + i, &bits, sizeof(bits));
  }
}

#if PHIQ_HAVE_F16C_PATH
static bool detectF16C() {
  unsigned eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx))
    return false;
  constexpr unsigned osxsave = 1u << 27, avx = 1u << 28, f16c = 1u << 29;
  if ((ecx & (osxsave | avx | f16c)) != (osxsave | avx | f16c))
    return false;
  // The OS must save the YMM registers (XCR0 bits 1 and 2).
  unsigned xcr0Low, xcr0High;
  __asm__("xgetbv" : "=a"(xcr0Low), "=d"(xcr0High) : "c"(0));
  return (xcr0Low & 0x6u) == 0x6u;
}

__attribute__((target("avx,f16c"))) static void
convertF16ToF32F16C(const uint8_t *src, float *dst, int64_t count) {
  int64_t i = 0;
  for (; i + 16 <= count; i += 16) {
    __m128i lo =
        _mm_loadu_si128(reinterpret_cast<const __m128i *>(src + 2 * i));
    __m128i hi =
        _mm_loadu_si128(reinterpret_cast<const __m128i *>(src + 2 * i + 16));
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(lo));
    _mm256_storeu_ps(dst + i + 8, _mm256_cvtph_ps(hi));
  }
  convertF16ToF32Portable(src + 2 * i, dst + i, count - i);
}
#endif

bool phiq::params::hasF16CConversion() {
#if PHIQ_HAVE_F16C_PATH
  static const bool available = detectF16C();
  return available;
#else
  return false;
#endif
}

static void convertF16ToF32(const uint8_t *src, float *dst, int64_t count) {
#if PHIQ_HAVE_F16C_PATH
  if (hasF16CConversion()) {
    convertF16ToF32F16C(src, dst, count);
    return;
  }
#endif
  convertF16ToF32Portable(src, dst, count);
}

//===----------------------------------------------------------------------===//
// Everything else
//===----------------------------------------------------------------------===//

/// Loads each element as T (unaligned) and converts it with static_cast.
template <typename T>
static void convertScalar(const uint8_t *src, float *dst, int64_t count) {
  for (int64_t i = 0; i < count; ++i) {
    T value;
    std::memcpy(&value, src + i * sizeof(T), sizeof(T));
    dst[i] = static_cast<float>(value);
  }
}

static void convertTable(const std::array<float, 256> &table,
                         const uint8_t *src, float *dst, int64_t count) {
  for (int64_t i = 0; i < count; ++i)
    dst[i] = table[src[i]];
}

void phiq::params::convertToF32(DType dtype, const uint8_t *src, float *dst,
                                int64_t count) {
  if (count <= 0)
    return;
  switch (dtype) {
  case DType::F32:
    std::memcpy(dst, src, static_cast<size_t>(count) * sizeof(float));
    return;
  case DType::F16:
    return convertF16ToF32(src, dst, count);
  case DType::BF16:
    return convertBF16ToF32(src, dst, count);
  case DType::F64:
    return convertScalar<double>(src, dst, count);
  case DType::F8_E4M3:
    return convertTable(f8Tables().e4m3, src, dst, count);
  case DType::F8_E5M2:
    return convertTable(f8Tables().e5m2, src, dst, count);
  case DType::I64:
    return convertScalar<int64_t>(src, dst, count);
  case DType::I32:
    return convertScalar<int32_t>(src, dst, count);
  case DType::I16:
    return convertScalar<int16_t>(src, dst, count);
  case DType::I8:
    return convertScalar<int8_t>(src, dst, count);
  case DType::U64:
    return convertScalar<uint64_t>(src, dst, count);
  case DType::U32:
    return convertScalar<uint32_t>(src, dst, count);
  case DType::U16:
    return convertScalar<uint16_t>(src, dst, count);
  case DType::U8:
    return convertScalar<uint8_t>(src, dst, count);
  case DType::Bool:
    for (int64_t i = 0; i < count; ++i)
      dst[i] = src[i] != 0 ? 1.0f : 0.0f;
    return;
  }
}
