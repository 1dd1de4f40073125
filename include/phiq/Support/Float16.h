//===- Float16.h - Bit-exact binary16 and bfloat16 conversions --*- C++ -*-===//
//
// The one place PhiQ converts single values between fp32 and the 16-bit
// float formats. Block formats store their scales as binary16, so a scale
// that rounds one ulp differently from ggml makes the bytes differ: the
// narrowing conversions round exactly as ggml's GGML_FP32_TO_FP16 (nearest,
// ties to even; overflow to infinity; every NaN becomes the quiet NaN 0x7e00
// with the input's sign) and ggml_compute_fp32_to_bf16 (nearest even on the
// top 16 bits; a NaN keeps its top bits with the quiet bit forced). The
// widening ones are exact. All are branch-free inline functions on raw bit
// patterns, so loops over them vectorize and callers need no aligned or
// typed storage.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_SUPPORT_FLOAT16_H
#define PHIQ_SUPPORT_FLOAT16_H

#include <cstdint>
#include <cstring>

namespace phiq {

inline uint32_t floatBits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  return bits;
}

inline float bitsFloat(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

/// fp32 -> binary16, round to nearest even.
///   |x| >= 65520          -> infinity (65520 is the tie above 65504)
///   2^-14 <= |x| < 65520  -> normal: rebias the exponent (127 -> 15) and
///                            round the 23-bit mantissa to 10 bits
///   |x| < 2^-14           -> subnormal: round(|x| * 2^24) ulps of 2^-24
inline uint16_t fp32ToFp16Bits(float value) {
  uint32_t bits = floatBits(value);
  uint32_t sign = (bits >> 16) & 0x8000u;
  uint32_t magnitude = bits & 0x7fffffffu;
  // Normal range: adding 0xfff plus the lowest kept bit rounds to nearest
  // even; a carry out of the mantissa correctly bumps the exponent.
  uint32_t normal =
      (magnitude - (112u << 23) + 0xfffu + ((magnitude >> 13) & 1u)) >> 13;
  // Subnormal range: |x| * 2^24 <= 1024 is exact; adding and removing 2^23
  // rounds it to an integer, ties to even. (The input is clamped first so
  // the discarded lane never converts an out-of-range float.)
  uint32_t small = magnitude < 0x38800000u ? magnitude : 0x38800000u;
  float scaled = bitsFloat(small) * 16777216.0f;
  uint32_t subnormal =
      static_cast<uint32_t>((scaled + 8388608.0f) - 8388608.0f);
  uint32_t result = magnitude < 0x38800000u ? subnormal : normal;
  result = magnitude >= 0x477ff000u ? 0x7c00u : result;
  result = magnitude > 0x7f800000u ? 0x7e00u : result;
  return static_cast<uint16_t>(sign | result);
}

/// IEEE binary16 to fp32, exact for every input: subnormals become normal
/// fp32 values, infinities stay infinite, NaNs keep sign and payload and
/// come out quiet (as the F16C instructions produce them). Independent of
/// the FTZ/DAZ floating-point modes. All three cases are computed and
/// blended with masks rather than selected: with a branch, GCC keeps the
/// (possibly trapping, under -ftrapping-math) float math of the subnormal
/// case conditional and refuses to vectorize loops over this function.
inline float fp16BitsToFp32(uint16_t half) {
  uint32_t sign = static_cast<uint32_t>(half & 0x8000u) << 16;
  uint32_t exponent = (half >> 10) & 0x1fu;
  uint32_t mantissa = half & 0x3ffu;
  uint32_t zeroExponent = 0u - static_cast<uint32_t>(exponent == 0);
  uint32_t maxExponent = 0u - static_cast<uint32_t>(exponent == 31);
  uint32_t nonzeroMantissa = 0u - static_cast<uint32_t>(mantissa != 0);
  // Normal: rebias the exponent from 15 to 127.
  uint32_t normal = ((exponent + 112u) << 23) | (mantissa << 13);
  // Inf and NaN: all-ones exponent; a NaN also gets the quiet bit.
  uint32_t special =
      0x7f800000u | (mantissa << 13) | (nonzeroMantissa & 0x00400000u);
  // Zero and subnormal: mantissa * 2^-24, exact and a normal fp32 (or 0).
  uint32_t subnormal =
      floatBits(static_cast<float>(static_cast<int32_t>(mantissa)) * 0x1p-24f);
  uint32_t magnitude = (zeroExponent & subnormal) | (maxExponent & special) |
                       (~(zeroExponent | maxExponent) & normal);
  return bitsFloat(sign | magnitude);
}

/// The value a scale has once stored as binary16 and read back.
inline float roundToFp16(float value) {
  return fp16BitsToFp32(fp32ToFp16Bits(value));
}

/// fp32 -> bfloat16, round to nearest even; NaNs stay NaN (quiet bit set).
inline uint16_t fp32ToBf16Bits(float value) {
  uint32_t bits = floatBits(value);
  uint32_t rounded = (bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16;
  uint32_t quietNan = (bits >> 16) | 0x40u;
  return static_cast<uint16_t>((bits & 0x7fffffffu) > 0x7f800000u ? quietNan
                                                                  : rounded);
}

/// bfloat16 -> fp32, exact: the top half of an fp32.
inline float bf16BitsToFp32(uint16_t bits) {
  return bitsFloat(static_cast<uint32_t>(bits) << 16);
}

} // namespace phiq

#endif // PHIQ_SUPPORT_FLOAT16_H
