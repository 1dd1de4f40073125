//===- Convert.h - Element conversions between float formats ----*- C++ -*-===//
//
// Single-value conversions between the narrow float formats checkpoints use
// (F16, BF16, F8) and fp32, plus the pieces of `convertToF32` that tests and
// the checkpoint generator want to reach directly: the portable F16 loop and
// the run-time check for the F16C instructions. All functions work on raw
// bit patterns so callers never need aligned or typed storage.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_PARAMS_CONVERT_H
#define PHIQ_PARAMS_CONVERT_H

#include <cstdint>
#include <cstring>

namespace phiq::params {

inline float bitsToF32(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

inline uint32_t f32ToBits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  return bits;
}

/// BF16 is the top half of an fp32: widening is a bit-exact shift.
inline float bf16BitsToF32(uint16_t bits) {
  return bitsToF32(static_cast<uint32_t>(bits) << 16);
}

/// Rounds an fp32 to the nearest BF16 (ties to even). NaNs stay NaNs (the
/// quiet bit is set so truncating the payload cannot turn them into inf).
inline uint16_t f32ToBF16Bits(float value) {
  uint32_t bits = f32ToBits(value);
  if ((bits & 0x7fffffffu) > 0x7f800000u)
    return static_cast<uint16_t>((bits >> 16) | 0x0040u);
  uint32_t roundingBias = 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>((bits + roundingBias) >> 16);
}

/// IEEE binary16 to fp32, exact for every input: subnormals become normal
/// fp32 values, infinities stay infinite, NaNs keep sign and payload and
/// come out quiet (as the F16C instructions produce them). Independent of
/// the FTZ/DAZ floating-point modes. All three cases are computed and
/// blended with masks rather than selected: with a branch, GCC keeps the
/// (possibly trapping, under -ftrapping-math) float math of the subnormal
/// case conditional and refuses to vectorize loops over this function.
inline float f16BitsToF32(uint16_t half) {
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
      f32ToBits(static_cast<float>(static_cast<int32_t>(mantissa)) * 0x1p-24f);
  uint32_t magnitude = (zeroExponent & subnormal) | (maxExponent & special) |
                       (~(zeroExponent | maxExponent) & normal);
  return bitsToF32(sign | magnitude);
}

/// F8_E5M2 has the layout of the top byte of an IEEE binary16.
inline float f8E5M2BitsToF32(uint8_t bits) {
  return f16BitsToF32(static_cast<uint16_t>(bits) << 8);
}

/// F8_E4M3 as safetensors and PyTorch define it (float8_e4m3fn): bias 7, no
/// infinities, S.1111.111 is NaN, largest finite value 448.
float f8E4M3BitsToF32(uint8_t bits);

/// The portable F16 loop `convertToF32` falls back to without F16C.
void convertF16ToF32Portable(const uint8_t *src, float *dst, int64_t count);

/// Whether this CPU (and OS) lets `convertToF32` use the x86 F16C
/// instructions for F16. Always false off x86-64.
bool hasF16CConversion();

} // namespace phiq::params

#endif // PHIQ_PARAMS_CONVERT_H
