//===- Fp16.cpp - Rows of half and bfloat16 values ---------------*- C++
//-*-===//
//
// The F32, F16 and BF16 formats are whole rows of the scalar conversions in
// Fp16.h (ggml's F16 and BF16 quantizers are exactly these roundings). They
// live in one translation unit so the loops below are compiled once,
// vectorized, and shared by the registry and the tests. Output rows are
// byte buffers with no alignment promise, so elements go through memcpy.
//
//===----------------------------------------------------------------------===//

#include "RowCodecs.h"

#include "phiq/Quant/Fp16.h"

#include <cstring>

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

namespace detail {

void quantizeRowF32(const float *x, int64_t cols, const float *, uint8_t *out) {
  std::memcpy(out, x, static_cast<size_t>(cols) * sizeof(float));
}

void dequantizeRowF32(const uint8_t *in, int64_t cols, float *out) {
  std::memcpy(out, in, static_cast<size_t>(cols) * sizeof(float));
}

void quantizeRowF16(const float *x, int64_t cols, const float *, uint8_t *out) {
  for (int64_t i = 0; i < cols; ++i) {
    uint16_t half = fp32ToFp16Bits(x[i]);
    std::memcpy(out + 2 * i, &half, 2);
  }
}

void dequantizeRowF16(const uint8_t *in, int64_t cols, float *out) {
  for (int64_t i = 0; i < cols; ++i) {
    uint16_t half;
    std::memcpy(&half, in + 2 * i, 2);
    out[i] = fp16BitsToFp32(half);
  }
}

void quantizeRowBF16(const float *x, int64_t cols, const float *,
                     uint8_t *out) {
  for (int64_t i = 0; i < cols; ++i) {
    uint16_t half = fp32ToBf16Bits(x[i]);
    std::memcpy(out + 2 * i, &half, 2);
  }
}

void dequantizeRowBF16(const uint8_t *in, int64_t cols, float *out) {
  for (int64_t i = 0; i < cols; ++i) {
    uint16_t half;
    std::memcpy(&half, in + 2 * i, 2);
    out[i] = bf16BitsToFp32(half);
  }
}

} // namespace detail
} // namespace phiq::quant
