//===- ActivationQuant.h - INT8 activations (W8A8) --------------*- C++ -*-===//
//
// Activation quantization for W8A8 linears, exactly as ONNX Runtime's CPU
// kernels compute it, so that phi-run predicts an exported model's numbers:
//
// - DynamicQuantizeLinear (ONNX, what onnxruntime.quantization's
//   quantize_dynamic emits): per tensor, uint8, asymmetric, the range
//   widened to include 0,
//     lo = min(min x, 0), hi = max(max x, 0)
//     scale = (hi - lo) / 255          (1 when hi == lo)
//     zp    = round_half_even(clamp(0 - lo / scale, 0, 255))
//     q     = clamp(round_half_even(x / scale) + zp, 0, 255)   (f32 division)
// - the same QuantizeLinear with a fixed (static, calibrated) scale and
//   zero point.
// - MatMulInteger followed by a float rescale: the int32 sum
//     acc[m, n] = sum_k (q[m, k] - zp) * w[n, k]
//   is exact, then y = float(acc) * (scale * wScale[n]) with the product of
//   the scales rounded to f32 first, as ORT's Mul of the two scales (and its
//   fused DynamicQuantizeMatMul / MatMulIntegerToFloat) computes it.
//
// SmoothQuant (Xiao et al., 2022) migrates activation outliers into the
// weights before quantizing both: s_j = max|X_j|^alpha / max|W_j|^(1-alpha),
// x / s and W diag(s), with the division folded into the producer of x.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_QUANT_ACTIVATIONQUANT_H
#define PHIQ_QUANT_ACTIVATIONQUANT_H

#include "llvm/ADT/ArrayRef.h"

#include <cstdint>

namespace phiq::quant {

/// One tensor's uint8 quantization: x ~ (q - zeroPoint) * scale.
struct ActivationQuantParams {
  float scale = 1.0f;
  int32_t zeroPoint = 0;
};

/// DynamicQuantizeLinear's scale and zero point for `x`.
ActivationQuantParams dynamicQuantParamsU8(llvm::ArrayRef<float> x);

/// Static uint8 parameters for a calibrated range [lo, hi] (widened to
/// include 0), by the same formula as the dynamic ones.
ActivationQuantParams rangeQuantParamsU8(float lo, float hi);

/// QuantizeLinear to uint8: clamp(round_half_even(x / scale) + zp, 0, 255).
void quantizeU8(llvm::ArrayRef<float> x, ActivationQuantParams params,
                llvm::MutableArrayRef<uint8_t> out);

/// y[m, n] (row stride ldy) = float(sum_k (a[m, k] - zp) * w[n, k]) *
/// f32(scale * wScales[n]) for m < rows, n < outs; a is [rows, k] uint8,
/// w is [outs, k] int8 codes with zero point 0.
void matmulU8S8(const uint8_t *a, int64_t rows, int64_t k,
                ActivationQuantParams params, const int8_t *w,
                const float *wScales, int64_t outs, float *y, int64_t ldy);

/// SmoothQuant's per-input-channel scales s_j = actAbsMax_j^alpha /
/// weightAbsMax_j^(1 - alpha), in double, stored as f32; a channel whose
/// activation or weight column is all zero keeps s_j = 1 (nothing to
/// migrate, and no division by zero).
void smoothQuantScales(llvm::ArrayRef<float> actAbsMax,
                       llvm::ArrayRef<float> weightAbsMax, double alpha,
                       llvm::MutableArrayRef<float> scales);

/// max_r |W[r, c]| for each of the `cols` columns of a [rows, cols] matrix.
void columnAbsMax(llvm::ArrayRef<float> weight, int64_t rows, int64_t cols,
                  llvm::MutableArrayRef<float> out);

} // namespace phiq::quant

#endif // PHIQ_QUANT_ACTIVATIONQUANT_H
