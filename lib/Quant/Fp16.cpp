//===- Fp16.cpp - Rows of half and bfloat16 values ---------------*- C++ -*-===//
//
// The F16 and BF16 formats are whole rows of the scalar conversions in
// Fp16.h. They live in their own translation unit so the loops below are
// compiled once, vectorized, and shared by the registry and the tests.
//
//===----------------------------------------------------------------------===//

#include "phiq/Quant/Fp16.h"

namespace phiq::quant {

void fp32ToFp16Row(const float *src, uint16_t *dst, int64_t count) {
  for (int64_t i = 0; i < count; ++i)
    dst[i] = fp32ToFp16Bits(src[i]);
}

void fp16ToFp32Row(const uint16_t *src, float *dst, int64_t count) {
  for (int64_t i = 0; i < count; ++i)
    dst[i] = fp16BitsToFp32(src[i]);
}

void fp32ToBf16Row(const float *src, uint16_t *dst, int64_t count) {
  for (int64_t i = 0; i < count; ++i)
    dst[i] = fp32ToBf16Bits(src[i]);
}

void bf16ToFp32Row(const uint16_t *src, float *dst, int64_t count) {
  for (int64_t i = 0; i < count; ++i)
    dst[i] = bf16BitsToFp32(src[i]);
}

} // namespace phiq::quant
