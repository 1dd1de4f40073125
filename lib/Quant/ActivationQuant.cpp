//===- ActivationQuant.cpp - INT8 activations (W8A8) ------------*- C++ -*-===//
//
// See ActivationQuant.h. Rounding is std::nearbyint under the default
// rounding mode (half to even, as ONNX's QuantizeLinear and MLAS's
// cvtps2dq round); x / scale is a true division, as MLAS divides.
//
//===----------------------------------------------------------------------===//
#include "phiq/Quant/ActivationQuant.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <vector>

using namespace phiq::quant;

ActivationQuantParams phiq::quant::rangeQuantParamsU8(float lo, float hi) {
  lo = std::min(lo, 0.0f);
  hi = std::max(hi, 0.0f);
  ActivationQuantParams p;
  p.scale = hi == lo ? 1.0f : (hi - lo) / 255.0f;
  const float initial = 0.0f - lo / p.scale;
  p.zeroPoint = int32_t(std::nearbyint(std::clamp(initial, 0.0f, 255.0f)));
  return p;
}

ActivationQuantParams phiq::quant::dynamicQuantParamsU8(llvm::ArrayRef<float> x) {
  float lo = 0.0f, hi = 0.0f;
  for (float v : x) {
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  return rangeQuantParamsU8(lo, hi);
}

void phiq::quant::quantizeU8(llvm::ArrayRef<float> x,
                             ActivationQuantParams params,
                             llvm::MutableArrayRef<uint8_t> out) {
  assert(out.size() >= x.size() && "output too small");
  const float zp = float(params.zeroPoint);
  for (size_t i = 0; i < x.size(); ++i) {
    const float q = std::nearbyint(x[i] / params.scale) + zp;
    out[i] = uint8_t(std::clamp(q, 0.0f, 255.0f));
  }
}

void phiq::quant::matmulU8S8(const uint8_t *a, int64_t rows, int64_t k,
                             ActivationQuantParams params, const int8_t *w,
                             const float *wScales, int64_t outs, float *y,
                             int64_t ldy) {
  // |q - zp| <= 255 and |w| <= 128: int16 operands, int32 sums (exact for
  // k < 65536), which compilers vectorize as pmaddwd.
  std::vector<int16_t> centered(static_cast<size_t>(rows * k));
  for (int64_t i = 0; i < rows * k; ++i)
    centered[size_t(i)] = int16_t(int32_t(a[i]) - params.zeroPoint);
  std::vector<int16_t> column(static_cast<size_t>(k));
  for (int64_t n = 0; n < outs; ++n) {
    const int8_t *wn = w + n * k;
    for (int64_t j = 0; j < k; ++j)
      column[size_t(j)] = wn[j];
    const float scale = params.scale * wScales[n];
    for (int64_t m = 0; m < rows; ++m) {
      const int16_t *am = centered.data() + m * k;
      int32_t acc = 0;
      for (int64_t j = 0; j < k; ++j)
        acc += int32_t(am[j]) * int32_t(column[size_t(j)]);
      y[m * ldy + n] = float(acc) * scale;
    }
  }
}

void phiq::quant::smoothQuantScales(llvm::ArrayRef<float> actAbsMax,
                                    llvm::ArrayRef<float> weightAbsMax,
                                    double alpha,
                                    llvm::MutableArrayRef<float> scales) {
  assert(actAbsMax.size() == weightAbsMax.size() &&
         scales.size() == actAbsMax.size() && "one scale per channel");
  for (size_t j = 0; j < actAbsMax.size(); ++j) {
    const double x = actAbsMax[j], w = weightAbsMax[j];
    if (!(x > 0.0) || !(w > 0.0)) {
      scales[j] = 1.0f;
      continue;
    }
    scales[j] = float(std::pow(x, alpha) / std::pow(w, 1.0 - alpha));
  }
}

void phiq::quant::columnAbsMax(llvm::ArrayRef<float> weight, int64_t rows,
                               int64_t cols, llvm::MutableArrayRef<float> out) {
  std::fill(out.begin(), out.begin() + cols, 0.0f);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      out[size_t(c)] = std::max(out[size_t(c)], std::fabs(weight[r * cols + c]));
}
