//===- QDQ.cpp - ONNX QDQ per-channel symmetric int8 weights ----*- C++ -*-===//
//
// Per-output-channel symmetric int8 as onnxruntime.quantization computes a
// weight for quantize_static / quantize_dynamic with per_channel=True
// (quant_utils.py, compute_scale_zp and quantize_nparray), so that our
// codes and scales equal ORT's for the same f32 row:
//
//   absmax = max(|min(min x, 0)|, max(max x, 0))            (f32)
//   s      = f32((2 * absmax as f64) / 254)   (qmin, qmax = -127, 127)
//   s      = 1 when the f64 quotient is below FLT_MIN (a zero row)
//   q      = clip(rint(x / s), -128, 127)      (f32 division, half to even)
//
// with zero point 0. Stored one row at a time as {f32 scale; one int8 code
// per element}; w = q * s.
//
//===----------------------------------------------------------------------===//
#include "RowCodecs.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

using namespace phiq::quant;

void phiq::quant::detail::quantizeRowQDQ8Channel(const float *x, int64_t cols,
                                                 const float *, uint8_t *out) {
  float lo = 0.0f, hi = 0.0f;
  for (int64_t i = 0; i < cols; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  const float absMax = std::max(std::fabs(lo), std::fabs(hi));
  // ORT divides the range by qmax - qmin in f64 and stores the f32 cast.
  const double wide = (double(absMax) + double(absMax)) / 254.0;
  const float scale = wide < double(FLT_MIN) ? 1.0f : float(wide);
  std::memcpy(out, &scale, 4);
  for (int64_t i = 0; i < cols; ++i) {
    const float q = std::clamp(std::nearbyint(x[i] / scale), -128.0f, 127.0f);
    out[4 + i] = uint8_t(int8_t(q));
  }
}

void phiq::quant::detail::dequantizeRowQDQ8Channel(const uint8_t *in,
                                                   int64_t cols, float *out) {
  float scale;
  std::memcpy(&scale, in, 4);
  for (int64_t i = 0; i < cols; ++i)
    out[i] = float(int8_t(in[4 + i])) * scale;
}
