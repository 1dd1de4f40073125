//===- Convert.h - Element conversions between float formats ----*- C++ -*-===//
//
// Single-value conversions from the F8 formats checkpoints use to fp32 (the
// 16-bit formats' are in phiq/Support/Float16.h), plus the pieces of
// `convertToF32` that tests and the checkpoint generator want to reach
// directly: the portable F16 loop and the run-time check for the F16C
// instructions. All functions work on raw bit patterns so callers never need
// aligned or typed storage.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_PARAMS_CONVERT_H
#define PHIQ_PARAMS_CONVERT_H

#include "phiq/Support/Float16.h"

#include <cstdint>

namespace phiq::params {

using phiq::bf16BitsToFp32;
using phiq::bitsFloat;
using phiq::floatBits;
using phiq::fp16BitsToFp32;
using phiq::fp32ToBf16Bits;

/// F8_E5M2 has the layout of the top byte of an IEEE binary16.
inline float f8E5M2BitsToF32(uint8_t bits) {
  return fp16BitsToFp32(static_cast<uint16_t>(bits) << 8);
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
