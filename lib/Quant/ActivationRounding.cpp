//===- ActivationRounding.cpp - llama.cpp's activation rounding -*- C++ -*-===//
//
// The round trips, written from the block definitions:
//   Q8_0: per 32 values, d = amax / 127 stored as fp16, q = round(x / d);
//         the dot product uses fp16(d) * q.
//   Q8_1: as Q8_0 (the extra fp16 sum only feeds the min term, which equals
//         the sum of the rounded values up to its fp16 rounding).
//   Q8_K: per 256 values, with m the value of largest magnitude,
//         iscale = -127 / m, q = min(127, nearest(iscale * x)), d = 1 / iscale
//         kept in fp32.
//   F16 / BF16: each value rounded to the 16-bit type.
//
//===----------------------------------------------------------------------===//
#include "phiq/Quant/ActivationRounding.h"
#include "phiq/Quant/Fp16.h"

#include <algorithm>
#include <cmath>

using namespace phiq::quant;

namespace {

void roundQ8_0(float *x, int64_t n) {
  for (int64_t b = 0; b + 32 <= n; b += 32) {
    float amax = 0;
    for (int j = 0; j < 32; ++j)
      amax = std::max(amax, std::fabs(x[b + j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    const float dHalf = roundToFp16(d);
    for (int j = 0; j < 32; ++j)
      x[b + j] = dHalf * std::roundf(x[b + j] * id);
  }
}

void roundQ8_K(float *x, int64_t n) {
  for (int64_t b = 0; b + 256 <= n; b += 256) {
    float amax = 0, max = 0;
    for (int j = 0; j < 256; ++j) {
      float a = std::fabs(x[b + j]);
      if (a > amax) {
        amax = a;
        max = x[b + j];
      }
    }
    if (amax == 0.0f) {
      std::fill(x + b, x + b + 256, 0.0f);
      continue;
    }
    const float iscale = -127.0f / max;
    const float d = 1.0f / iscale;
    for (int j = 0; j < 256; ++j) {
      // ggml's nearest_int rounds to nearest, ties to even, as lrintf does
      // in the default rounding mode.
      int q = int(std::lrintf(iscale * x[b + j]));
      x[b + j] = d * float(std::min(127, q));
    }
  }
}

} // namespace

void phiq::quant::roundActivationsLikeLlamaCpp(BlockFormat weightFormat,
                                               float *data, int64_t rows,
                                               int64_t cols) {
  const int64_t n = rows * cols;
  switch (weightFormat) {
  case BlockFormat::F32:
    return;
  case BlockFormat::F16:
    for (int64_t i = 0; i < n; ++i)
      data[i] = roundToFp16(data[i]);
    return;
  case BlockFormat::BF16:
    for (int64_t i = 0; i < n; ++i)
      data[i] = bf16BitsToFp32(fp32ToBf16Bits(data[i]));
    return;
  case BlockFormat::Q8_0:
  case BlockFormat::Q4_0:
  case BlockFormat::Q4_1:
  case BlockFormat::Q5_0:
  case BlockFormat::Q5_1:
  case BlockFormat::IQ4_NL:
    if (cols % 32 == 0)
      for (int64_t r = 0; r < rows; ++r)
        roundQ8_0(data + r * cols, cols);
    return;
  case BlockFormat::Q2_K:
  case BlockFormat::Q3_K:
  case BlockFormat::Q4_K:
  case BlockFormat::Q5_K:
  case BlockFormat::Q6_K:
    if (cols % 256 == 0)
      for (int64_t r = 0; r < rows; ++r)
        roundQ8_K(data + r * cols, cols);
    return;  default:
    // MatMulNBits formats are not llama.cpp's; ONNX Runtime multiplies them
    // by fp32 activations (accuracy_level 0).
    return;
  }
}
