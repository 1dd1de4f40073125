//===- Fp16.h - Rows of half and bfloat16 values ----------------*- C++ -*-===//
//
// The F16 and BF16 formats are whole rows of the scalar conversions in
// phiq/Support/Float16.h, which round exactly as ggml does; the scalars are
// re-exported here for the block formats that store binary16 scales.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_QUANT_FP16_H
#define PHIQ_QUANT_FP16_H

#include "phiq/Support/Float16.h"

#include <cstdint>

namespace phiq::quant {

using phiq::bf16BitsToFp32;
using phiq::bitsFloat;
using phiq::floatBits;
using phiq::fp16BitsToFp32;
using phiq::fp32ToBf16Bits;
using phiq::fp32ToFp16Bits;
using phiq::roundToFp16;

/// Row conversions (the F16 and BF16 formats).
void fp32ToFp16Row(const float *src, uint16_t *dst, int64_t count);
void fp16ToFp32Row(const uint16_t *src, float *dst, int64_t count);
void fp32ToBf16Row(const float *src, uint16_t *dst, int64_t count);
void bf16ToFp32Row(const uint16_t *src, float *dst, int64_t count);

} // namespace phiq::quant

#endif // PHIQ_QUANT_FP16_H
