//===- IQ4NL.cpp - IQ4_NL: 4-bit codes on a non-linear grid -----*- C++ -*-===//
//
// IQ4_NL stores 32 values as a binary16 scale d and 16 bytes of 4-bit
// indices into a fixed, non-uniform 16-entry grid (denser near zero, where
// trained weights cluster):
//
//   block = [d][qs[16]],  y_j = d * V[k_j],
//   V = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69,
//        89, 113},
//
// with k_j in the low nibble of qs[j] and k_{j+16} in its high nibble.
//
// The quantizer minimizes E(d) = sum w (x - d V[k])^2, k = nearest(x / d):
// a scan puts the extreme value on each end of the grid (V[0] + t and
// V[15] + t, t = -8, -6, ..., 8) and keeps the least-squares scale
// d* = sum w x V[k] / sum w V[k]^2 with the best error reduction; then
// binary16 d* and its one-ulp neighbours are measured exactly with the
// indices re-chosen for each, and the least-squares scale of the best is
// tried again until nothing improves.
//
//===----------------------------------------------------------------------===//

#include "RowCodecs.h"
#include "ScaleSearch.h"
#include "SearchKernels.h"

#include "phiq/Quant/Fp16.h"

#include <cmath>
#include <cstring>
#include <initializer_list>

namespace phiq::quant::detail {
namespace {

constexpr int kBlock = 32;
constexpr int kBlockBytes = 18;

void quantizeBlock(const SearchKernels &kernels, const float *x, const float *w,
                   uint8_t *out) {
  float amax = 0.0f, extreme = 0.0f;
  for (int i = 0; i < kBlock; ++i)
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      extreme = x[i];
    }
  // d = 0 decodes to zeros whatever the indices; ggml then stores the
  // index of the grid value nearest zero, and so do we.
  float best[kBlock], trial[kBlock];
  float bestD = 0.0f;
  double bestError = kernels.gridError(x, w, kBlock, 0.0f, best);
  if (!(amax < kGroupZero)) {
    double bestScore = -1.0;
    float scale = 0.0f;
    for (int t = -8; t <= 8; t += 2) {
      for (float end : {kIQ4Grid[0], kIQ4Grid[15]}) {
        float candidate = extreme / (end + static_cast<float>(t));
        FitSums sums = kernels.gridSums(x, w, kBlock, 1.0f / candidate);
        double score = double(sums.xq) * sums.xq / sums.qq;
        if (sums.qq > 0.0f && score > bestScore) {
          bestScore = score;
          scale = static_cast<float>(double(sums.xq) / sums.qq);
        }
      }
    }
    for (int round = 0; round < 4 && scale != 0.0f; ++round) {
      bool improved = false;
      for (int ulp = -1; ulp <= 1; ++ulp) {
        float d = fp16Neighbor(scale, ulp);
        double e = kernels.gridError(x, w, kBlock, d, trial);
        if (e < bestError) {
          bestError = e;
          bestD = d;
          std::memcpy(best, trial, sizeof(best));
          improved = true;
        }
      }
      if (!improved)
        break;
      double sxv = 0.0, svv = 0.0;
      for (int i = 0; i < kBlock; ++i) {
        double v = kIQ4Grid[static_cast<int>(best[i])];
        sxv += double(w[i]) * x[i] * v;
        svv += double(w[i]) * v * v;
      }
      scale = svv > 0.0 ? static_cast<float>(sxv / svv) : 0.0f;
    }
  }
  uint16_t half = fp32ToFp16Bits(bestD);
  std::memcpy(out, &half, 2);
  for (int j = 0; j < 16; ++j)
    out[2 + j] = static_cast<uint8_t>(static_cast<int>(best[j]) |
                                      static_cast<int>(best[j + 16]) << 4);
}

} // namespace

void quantizeRowIQ4_NL(const float *x, int64_t cols, const float *importance,
                       uint8_t *out) {
  const SearchKernels &kernels = searchKernels();
  float ones[kBlock], scratch[kBlock];
  for (int i = 0; i < kBlock; ++i)
    ones[i] = 1.0f;
  for (int64_t b = 0; b < cols / kBlock; ++b) {
    const float *w =
        importance ? usableWeights(importance + b * kBlock, kBlock, scratch)
                   : ones;
    quantizeBlock(kernels, x + b * kBlock, w, out + b * kBlockBytes);
  }
}

void dequantizeRowIQ4_NL(const uint8_t *in, int64_t cols, float *out) {
  for (int64_t b = 0; b < cols / kBlock; ++b) {
    const uint8_t *ib = in + b * kBlockBytes;
    uint16_t half;
    std::memcpy(&half, ib, 2);
    float d = fp16BitsToFp32(half);
    float *y = out + b * kBlock;
    for (int j = 0; j < 16; ++j) {
      y[j] = d * kIQ4Grid[ib[2 + j] & 15];
      y[j + 16] = d * kIQ4Grid[ib[2 + j] >> 4];
    }
  }
}

} // namespace phiq::quant::detail
