//===- NNCF.cpp - NNCF's data-free INT4 weight compression ------*- C++ -*-===//
//
// Round-to-nearest as NNCF's compress_weights computes it for OpenVINO
// models (nncf 3.4, weight_lowering.py and its OpenVINO-compiled twin in
// openvino/optimized_functions), so that our codes, scales and zero points
// equal NNCF's for the same f32 weights. Per group of G elements, in f32:
//
//   INT4_ASYM: lo = min(min x, 0), hi = max(max x, 0), s = (hi - lo) / 15,
//              zp = clamp(0 - rne(lo / s), 0, 15),
//              q = clamp(rne(x / s + zp), 0, 15)
//   INT4_SYM:  m = |min x| >= max x ? |min x| : -max x, s = m / 8,
//              q = clamp(rne(x / s), -8, 7)
//
// with s replaced by FLT_EPSILON when |s| < FLT_EPSILON, rne() rounding
// half to even, and true divisions. The codes use the f32 scale; the
// stored scale is f16(s) (round to nearest even), so decoding is
// w = (q - zp) * f16(s). Where ONNX Runtime's quantizer (MatMulNBits.cpp)
// differs: it rounds half away from zero, multiplies by the reciprocal of
// the stored scale, and picks the symmetric extreme on a tie by sign.
//
// The bytes are those of the MatMulNBits block with fp16 scales: {scale;
// zero point (asymmetric); codes, low nibble first, holding q + 8 when
// symmetric}.
//
//===----------------------------------------------------------------------===//
#include "RowCodecs.h"

#include "phiq/Quant/Fp16.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

using namespace phiq::quant;

void phiq::quant::detail::quantizeRowNNCFGroups(const MatMulNBitsLayout &l,
                                                const float *x, int64_t cols,
                                                uint8_t *out) {
  const float levels = float((1 << l.bits) - 1);
  for (int64_t start = 0; start < cols; start += l.blockSize) {
    const float *v = x + start;
    float lo = v[0], hi = v[0];
    for (int64_t i = 1; i < l.blockSize; ++i) {
      lo = std::min(lo, v[i]);
      hi = std::max(hi, v[i]);
    }
    float scale, zp = 0.0f, qmin, qmax;
    if (l.symmetric) {
      const float absMin = std::fabs(lo);
      scale = (absMin >= hi ? absMin : -hi) / float(l.midCode());
      qmin = -float(l.midCode());
      qmax = float(l.midCode() - 1);
    } else {
      lo = std::min(lo, 0.0f);
      hi = std::max(hi, 0.0f);
      scale = (hi - lo) / levels;
      qmin = 0.0f;
      qmax = levels;
    }
    if (std::fabs(scale) < FLT_EPSILON)
      scale = FLT_EPSILON;
    if (!l.symmetric)
      zp = std::clamp(0.0f - std::nearbyint(lo / scale), qmin, qmax);
    const uint16_t half = fp32ToFp16Bits(scale);
    std::memcpy(out, &half, 2);
    if (!l.symmetric)
      out[2] = uint8_t(zp);
    uint8_t *codes = out + l.scaleBytes() + l.zeroPointBytes();
    // Stored unsigned: q, or q + 8 for the symmetric codes.
    const int offset = l.symmetric ? l.midCode() : 0;
    auto code = [&](float value) {
      float q = std::clamp(std::nearbyint(value / scale + zp), qmin, qmax);
      return uint8_t(int(q) + offset);
    };
    for (int64_t i = 0; i < l.blockSize; i += 2)
      codes[i / 2] = uint8_t(code(v[i]) | code(v[i + 1]) << 4);
    out += l.blockBytes();
  }
}
