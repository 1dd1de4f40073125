//===- CodeGrid.h - The values a packed row can take, scales fixed -*- C++ -*-//
//
// Error-compensating quantizers (GPTQ) choose a block's scales once and then
// round each element on its own, after earlier elements' errors have moved
// it. Every block format decodes element j of a row as
//
//   y_j = scale_j * level(c_j, j) + offset_j,
//   level(c, j) = table[c] (IQ4_NL) or float(c + shift_j) (linear codes),
//
// with c_j in [0, numCodes) and scale_j, offset_j, shift_j fixed by the
// block's (super-block's) stored scales, mins and zero points. codeGrid()
// reads these from packed bytes; setCodes() writes new codes into packed
// bytes and leaves the scales alone. The float operations are the
// decoders', so value() is bit-identical to dequantize() of the bytes that
// setCodes() writes (CodeGridTest checks this for every format).
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_QUANT_CODEGRID_H
#define PHIQ_QUANT_CODEGRID_H

#include "phiq/Quant/BlockFormat.h"

#include "llvm/ADT/ArrayRef.h"

#include <cstdint>
#include <vector>

namespace phiq::quant {

struct CodeGrid {
  int numCodes = 0;
  /// Non-uniform levels (IQ4_NL), ascending; empty for linear codes.
  llvm::ArrayRef<float> table;
  std::vector<float> scale, offset;
  std::vector<int> shift;

  float level(int code, int64_t j) const {
    return table.empty() ? float(code + shift[j]) : table[code];
  }
  float value(int code, int64_t j) const {
    return scale[j] * level(code, j) + offset[j];
  }
  /// The code whose value is nearest to v (ties: the lower code).
  int nearestCode(int64_t j, float v) const;
};

/// True for the formats with block scales (not F32/F16/BF16).
bool hasCodeGrid(BlockFormat format);

/// Fills `grid` for the packed row `row` of `cols` elements (a whole number
/// of blocks); `format` must have a code grid.
void codeGrid(BlockFormat format, const uint8_t *row, int64_t cols,
              CodeGrid &grid);

/// Writes `codes` (cols values in [0, numCodes)) into the packed row,
/// keeping its scales, mins and zero points.
void setCodes(BlockFormat format, uint8_t *row, int64_t cols,
              const int *codes);

} // namespace phiq::quant

#endif // PHIQ_QUANT_CODEGRID_H
