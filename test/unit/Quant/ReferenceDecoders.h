//===- ReferenceDecoders.h - Slow, obvious block decoders -------*- C++ -*-===//
//
// Decoders for every block format written element by element from ggml's
// layout description ("value e of the block lives in byte ..., bits ...")
// with a binary16 conversion built on ldexp, sharing no code with
// lib/Quant. The library's dequantizer must agree with them to the bit.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_TEST_UNIT_QUANT_REFERENCEDECODERS_H
#define PHIQ_TEST_UNIT_QUANT_REFERENCEDECODERS_H

#include "phiq/Quant/BlockFormat.h"

#include <cstdint>
#include <vector>

namespace phiq::quant::testing {

/// binary16 bits -> float through ldexp (exact).
float slowHalfToFloat(uint16_t half);

/// Decodes rows x cols elements of `format` from `bytes`.
std::vector<float> referenceDecode(BlockFormat format,
                                   const std::vector<uint8_t> &bytes,
                                   int64_t rows, int64_t cols);

} // namespace phiq::quant::testing

#endif // PHIQ_TEST_UNIT_QUANT_REFERENCEDECODERS_H
