//===- ActivationRounding.h - llama.cpp's activation rounding ---*- C++ -*-===//
//
// llama.cpp's CPU matmuls do not multiply a quantized weight by fp32
// activations: each activation row is first converted to the weight type's
// "vec_dot" format (fp16 for F16 weights, Q8_0 for the 32-element legacy
// formats and IQ4_NL, Q8_1 for Q4_1/Q5_1, Q8_K for the K-quants) and the dot
// products run on those codes. To predict llama.cpp's numbers, the reference
// executor can round its activations the same way before an fp32 matmul:
// dequantize(weights) . round(activations) equals llama.cpp's integer dot
// products up to the order of fp32 additions.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_QUANT_ACTIVATIONROUNDING_H
#define PHIQ_QUANT_ACTIVATIONROUNDING_H

#include "phiq/Quant/BlockFormat.h"

#include <cstdint>

namespace phiq::quant {

/// Rounds `rows` rows of `cols` activations in place the way llama.cpp
/// converts them for a matmul with `weightFormat` weights (nothing for F32;
/// rows whose length is not a whole number of blocks are left as they are,
/// as llama.cpp would not accept such a weight).
void roundActivationsLikeLlamaCpp(BlockFormat weightFormat, float *data,
                                  int64_t rows, int64_t cols);

} // namespace phiq::quant

#endif // PHIQ_QUANT_ACTIVATIONROUNDING_H
