//===- RowCodecs.h - One-row quantizers and decoders per format -*- C++ -*-===//
//
// The registry in BlockFormat.cpp validates sizes, spreads rows over
// threads and dispatches here. Each function handles one row of `cols`
// elements, a whole number of the format's blocks; `importance` is null or
// `cols` finite non-negative weights, and `x` is finite.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_LIB_QUANT_ROWCODECS_H
#define PHIQ_LIB_QUANT_ROWCODECS_H

#include "phiq/Quant/BlockFormat.h"

#include <cstdint>

namespace phiq::quant::detail {

using QuantizeRowFn = void (*)(const float *x, int64_t cols,
                               const float *importance, uint8_t *out);
using DequantizeRowFn = void (*)(const uint8_t *in, int64_t cols, float *out);

// Float formats (Fp16.cpp conversions; importance is ignored).
void quantizeRowF32(const float *x, int64_t cols, const float *, uint8_t *out);
void dequantizeRowF32(const uint8_t *in, int64_t cols, float *out);
void quantizeRowF16(const float *x, int64_t cols, const float *, uint8_t *out);
void dequantizeRowF16(const uint8_t *in, int64_t cols, float *out);
void quantizeRowBF16(const float *x, int64_t cols, const float *, uint8_t *out);
void dequantizeRowBF16(const uint8_t *in, int64_t cols, float *out);

// Legacy 32-element blocks (LegacyQuants.cpp).
/// Codes q[0..31] (< 16) into 16 bytes: byte j = q[j] | q[j + 16] << 4.
void packNibbles(const uint8_t *q, uint8_t *out);
/// Bit 4 of codes q[0..31] into a little-endian u32 mask.
void packFifthBits(const uint8_t *q, uint8_t *out);
/// Codes of a nibble block (plus the fifth bits when `qh` is given).
void unpackCodes(const uint8_t *nibbles, const uint8_t *qh, int *q);
void quantizeRowQ8_0(const float *x, int64_t cols, const float *importance,
                     uint8_t *out);
void dequantizeRowQ8_0(const uint8_t *in, int64_t cols, float *out);
void quantizeRowQ4_0(const float *x, int64_t cols, const float *importance,
                     uint8_t *out);
void dequantizeRowQ4_0(const uint8_t *in, int64_t cols, float *out);
void quantizeRowQ4_1(const float *x, int64_t cols, const float *importance,
                     uint8_t *out);
void dequantizeRowQ4_1(const uint8_t *in, int64_t cols, float *out);
void quantizeRowQ5_0(const float *x, int64_t cols, const float *importance,
                     uint8_t *out);
void dequantizeRowQ5_0(const uint8_t *in, int64_t cols, float *out);
void quantizeRowQ5_1(const float *x, int64_t cols, const float *importance,
                     uint8_t *out);
void dequantizeRowQ5_1(const uint8_t *in, int64_t cols, float *out);

// K-quants (KQuants.cpp; layouts in KQuantLayout.cpp).
void quantizeRowQ2_K(const float *x, int64_t cols, const float *importance,
                     uint8_t *out);
void dequantizeRowQ2_K(const uint8_t *in, int64_t cols, float *out);
void quantizeRowQ3_K(const float *x, int64_t cols, const float *importance,
                     uint8_t *out);
void dequantizeRowQ3_K(const uint8_t *in, int64_t cols, float *out);
void quantizeRowQ4_K(const float *x, int64_t cols, const float *importance,
                     uint8_t *out);
void dequantizeRowQ4_K(const uint8_t *in, int64_t cols, float *out);
void quantizeRowQ5_K(const float *x, int64_t cols, const float *importance,
                     uint8_t *out);
void dequantizeRowQ5_K(const uint8_t *in, int64_t cols, float *out);
void quantizeRowQ6_K(const float *x, int64_t cols, const float *importance,
                     uint8_t *out);
void dequantizeRowQ6_K(const uint8_t *in, int64_t cols, float *out);

// IQ4_NL (IQ4NL.cpp).
void quantizeRowIQ4_NL(const float *x, int64_t cols, const float *importance,
                       uint8_t *out);
void dequantizeRowIQ4_NL(const uint8_t *in, int64_t cols, float *out);

// ONNX Runtime's MatMulNBits blocks: round to nearest exactly as ORT
// (MatMulNBits.cpp) without importance, an importance-weighted search of
// scale and zero point with it (MatMulNBitsSearch.cpp). One instantiation
// per format, so each fits the table's plain function pointers.
void quantizeRowMatMulNBits(const MatMulNBitsLayout &layout, const float *x,
                            int64_t cols, uint8_t *out);
void quantizeRowMatMulNBitsWeighted(const MatMulNBitsLayout &layout,
                                    const float *x, int64_t cols,
                                    const float *importance, uint8_t *out);
void dequantizeRowMatMulNBits(const MatMulNBitsLayout &layout,
                              const uint8_t *in, int64_t cols, float *out);
template <int Bits, int BlockSize, bool Symmetric, bool Fp16Scales>
void quantizeRowMNB(const float *x, int64_t cols, const float *importance,
                    uint8_t *out) {
  if (importance)
    quantizeRowMatMulNBitsWeighted({Bits, BlockSize, Symmetric, Fp16Scales},
                                   x, cols, importance, out);
  else
    quantizeRowMatMulNBits({Bits, BlockSize, Symmetric, Fp16Scales}, x, cols,
                           out);
}
template <int Bits, int BlockSize, bool Symmetric, bool Fp16Scales>
void dequantizeRowMNB(const uint8_t *in, int64_t cols, float *out) {
  dequantizeRowMatMulNBits({Bits, BlockSize, Symmetric, Fp16Scales}, in, cols,
                           out);
}

// NNCF's compress_weights groups (NNCF.cpp): MatMulNBits' bytes, NNCF's
// rounding.
void quantizeRowNNCFGroups(const MatMulNBitsLayout &layout, const float *x,
                           int64_t cols, uint8_t *out);
template <int Bits, int BlockSize, bool Symmetric>
void quantizeRowNNCF(const float *x, int64_t cols, const float *,
                     uint8_t *out) {
  quantizeRowNNCFGroups({Bits, BlockSize, Symmetric, true}, x, cols, out);
}
// Apple MLX's affine groups (MLXAffine.cpp; importance is ignored:
// mx.quantize is plain round to nearest).
void quantizeRowMLXAffine(const MLXAffineLayout &layout, const float *x,
                          int64_t cols, uint8_t *out);
void dequantizeRowMLXAffine(const MLXAffineLayout &layout, const uint8_t *in,
                            int64_t cols, float *out);
template <int Bits, int GroupSize, MLXScaleType Scale>
void quantizeRowMLX(const float *x, int64_t cols, const float *,
                    uint8_t *out) {
  quantizeRowMLXAffine({Bits, GroupSize, Scale}, x, cols, out);
}
template <int Bits, int GroupSize, MLXScaleType Scale>
void dequantizeRowMLX(const uint8_t *in, int64_t cols, float *out) {
  dequantizeRowMLXAffine({Bits, GroupSize, Scale}, in, cols, out);
}

void quantizeRowNNCFChannelU8(const float *x, int64_t cols, const float *,
                              uint8_t *out);
void dequantizeRowNNCFChannelU8(const uint8_t *in, int64_t cols, float *out);

void quantizeRowQDQ8Channel(const float *x, int64_t cols, const float *,
                            uint8_t *out);
void dequantizeRowQDQ8Channel(const uint8_t *in, int64_t cols, float *out);

/// The row quantizer of `format` (one row, a whole number of blocks).
QuantizeRowFn rowQuantizer(BlockFormat format);

} // namespace phiq::quant::detail

#endif // PHIQ_LIB_QUANT_ROWCODECS_H
