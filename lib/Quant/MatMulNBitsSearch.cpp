//===- MatMulNBitsSearch.cpp - Importance-weighted MatMulNBits blocks -----===//
//
// With an importance vector (calibration's mean squared activation per
// input column) a MatMulNBits block is not rounded to nearest but searched:
// the error that matters is sum_i w_i (x_i - scale * (q_i - zp))^2, and
// the range that minimizes it is rarely [min, max] of the block. Per block:
//
//   1. the round-to-nearest block ORT writes (the baseline, never beaten
//      by a worse candidate: the search can only lower the weighted error),
//   2. the weighted least-squares fit of ScaleSearch.h (affine for the
//      stored zero point, symmetric around 2^(bits-1) otherwise), its zero
//      point rounded and tried with its two neighbours,
//   3. a few Lloyd steps per candidate: codes from (scale, zp), then the
//      least-squares scale for those codes, stored as f32 / f16 exactly as
//      the decoder will read it.
//
// The bytes keep ORT's layout, so ONNX Runtime runs them unchanged.
//
//===----------------------------------------------------------------------===//
#include "RowCodecs.h"
#include "ScaleSearch.h"

#include "phiq/Quant/Fp16.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

using namespace phiq::quant;
using namespace phiq::quant::detail;

namespace {

struct Candidate {
  float scale = 0.0f; // as stored
  int zp = 0;
  std::vector<uint8_t> codes;
  double error = 0.0;
};

float storedScale(const MatMulNBitsLayout &l, float scale) {
  return l.fp16Scales ? fp16BitsToFp32(fp32ToFp16Bits(scale)) : scale;
}

/// Codes for (scale, zp) as the RTN rule computes them, and their error.
void evaluate(const MatMulNBitsLayout &l, const float *x, const float *w,
              Candidate &c) {
  const float maxCode = float((1 << l.bits) - 1);
  const float inverse = c.scale != 0.0f ? 1.0f / c.scale : 0.0f;
  c.codes.resize(size_t(l.blockSize));
  c.error = 0.0;
  for (int64_t i = 0; i < l.blockSize; ++i) {
    float q = std::clamp(std::roundf(x[i] * inverse + float(c.zp)), 0.0f,
                         maxCode);
    c.codes[size_t(i)] = uint8_t(q);
    float diff = x[i] - (q - float(c.zp)) * c.scale;
    c.error += double(w[i]) * double(diff) * double(diff);
  }
}

/// Lloyd steps from `c`: least-squares scale for its codes, re-round.
void polish(const MatMulNBitsLayout &l, const float *x, const float *w,
            Candidate &c) {
  for (int round = 0; round < 4; ++round) {
    double sxq = 0.0, sqq = 0.0;
    for (int64_t i = 0; i < l.blockSize; ++i) {
      double q = double(c.codes[size_t(i)]) - c.zp;
      sxq += double(w[i]) * x[i] * q;
      sqq += double(w[i]) * q * q;
    }
    if (!(sqq > 0.0))
      return;
    Candidate next = c;
    next.scale = storedScale(l, float(sxq / sqq));
    evaluate(l, x, w, next);
    if (!(next.error < c.error))
      return;
    c = std::move(next);
  }
}

void writeBlock(const MatMulNBitsLayout &l, const Candidate &c, uint8_t *out) {
  if (l.fp16Scales) {
    uint16_t h = fp32ToFp16Bits(c.scale);
    std::memcpy(out, &h, 2);
  } else {
    std::memcpy(out, &c.scale, 4);
  }
  if (!l.symmetric)
    out[l.scaleBytes()] = uint8_t(c.zp);
  uint8_t *codes = out + l.scaleBytes() + l.zeroPointBytes();
  if (l.bits == 8) {
    std::memcpy(codes, c.codes.data(), size_t(l.blockSize));
  } else {
    for (int64_t i = 0; i < l.blockSize; i += 2)
      codes[i / 2] = uint8_t(c.codes[size_t(i)] | c.codes[size_t(i + 1)] << 4);
  }
}

} // namespace

void phiq::quant::detail::quantizeRowMatMulNBitsWeighted(
    const MatMulNBitsLayout &l, const float *x, int64_t cols,
    const float *importance, uint8_t *out) {
  const int n = int(l.blockSize);
  const int maxCode = (1 << l.bits) - 1;
  std::vector<float> scratch(static_cast<size_t>(n));
  std::vector<uint8_t> rtn(size_t(l.blockBytes()));
  std::vector<float> decoded(static_cast<size_t>(n));
  for (int64_t start = 0; start < cols; start += n) {
    const float *v = x + start;
    const float *w = usableWeights(importance + start, n, scratch.data());

    // 1. ORT's round-to-nearest block, measured as it decodes.
    quantizeRowMatMulNBits(l, v, n, rtn.data());
    Candidate best;
    {
      dequantizeRowMatMulNBits(l, rtn.data(), n, decoded.data());
      for (int i = 0; i < n; ++i) {
        float diff = v[i] - decoded[size_t(i)];
        best.error += double(w[i]) * double(diff) * double(diff);
      }
    }
    bool keepRtn = true;

    // 2. + 3. Weighted fits, polished.
    auto consider = [&](float scale, int zp) {
      if (!std::isfinite(scale) || scale == 0.0f)
        return;
      Candidate c;
      c.scale = storedScale(l, scale);
      c.zp = std::clamp(zp, 0, maxCode);
      evaluate(l, v, w, c);
      polish(l, v, w, c);
      if (c.error < best.error) {
        best = std::move(c);
        keepRtn = false;
      }
    };
    if (l.symmetric) {
      SymmetricFit fit =
          fitSymmetric(v, w, n, -l.midCode(), l.midCode() - 1, 1.0f);
      consider(fit.scale, l.midCode());
    } else {
      AffineFit fit = fitAffine(v, w, n, maxCode, false, 1.0f);
      if (fit.scale > 0.0f) {
        int zp = int(std::lround(-fit.offset / fit.scale));
        for (int dz = -1; dz <= 1; ++dz)
          consider(fit.scale, zp + dz);
      }
    }
    if (keepRtn)
      std::memcpy(out, rtn.data(), rtn.size());
    else
      writeBlock(l, best, out);
    out += l.blockBytes();
  }
}
