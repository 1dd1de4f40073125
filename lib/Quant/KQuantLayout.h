//===- KQuantLayout.h - K-quant super-block fields and bytes ----*- C++ -*-===//
//
// A K-quant super-block holds 256 values as sub-blocks that each have an
// integer scale (and for the affine formats an integer min), times one or
// two binary16 super-scales. KBlock is that content with the bit packing
// taken away; pack/unpack convert it to and from ggml's bytes, and
// decodeKBlock computes the values exactly as ggml's dequantizers do
// (same float operations in the same order), so the quantizer's error
// measurements and the bytes llama.cpp reads agree to the bit.
//
//   format  sub-blocks  code      scale, min        y
//   Q2_K    16 x 16     [0, 3]    4-bit, 4-bit      d*sc * q - dmin*m
//   Q3_K    16 x 16     [-4, 3]   6-bit, -32 bias   d*sc * q
//   Q4_K     8 x 32     [0, 15]   6-bit, 6-bit      d*sc * q - dmin*m
//   Q5_K     8 x 32     [0, 31]   6-bit, 6-bit      d*sc * q - dmin*m
//   Q6_K    16 x 16     [-32, 31] int8              d*sc * q
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_LIB_QUANT_KQUANTLAYOUT_H
#define PHIQ_LIB_QUANT_KQUANTLAYOUT_H

#include <cstdint>

namespace phiq::quant::detail {

constexpr int kSuperBlock = 256;

enum class KFormat { Q2_K, Q3_K, Q4_K, Q5_K, Q6_K };

/// The fields of one super-block. Codes and scales are the values the
/// formula uses (Q3_K's scale without its +32 bias, Q3_K/Q6_K codes
/// signed); unused fields stay zero.
struct KBlock {
  uint16_t d = 0;    // binary16 scale of the sub-block scales
  uint16_t dmin = 0; // binary16 scale of the sub-block mins
  int16_t sc[16] = {};
  int16_t m[16] = {};
  int8_t q[kSuperBlock] = {};
};

struct KFormatShape {
  int subBlocks;
  int subLength;
  int qmin, qmax;   // code range
  int scMin, scMax; // sub-block scale range
  int mMax;         // sub-block min range [0, mMax]; 0 = no mins
  int bytes;
};

const KFormatShape &kShape(KFormat format);

void packKBlock(KFormat format, const KBlock &block, uint8_t *out);
void unpackKBlock(KFormat format, const uint8_t *in, KBlock &block);

/// The 256 values the block decodes to, bit-identical to ggml.
void decodeKBlock(KFormat format, const KBlock &block, float *y);

} // namespace phiq::quant::detail

#endif // PHIQ_LIB_QUANT_KQUANTLAYOUT_H
