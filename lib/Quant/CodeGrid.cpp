//===- CodeGrid.cpp - The values a packed row can take, scales fixed ------===//
//
// Reads each format's scale fields with the format's own layout code
// (KQuantLayout's unpack/pack, the legacy nibble packers, the MatMulNBits
// block layout) and exposes them as one per-element affine grid, so GPTQ
// handles every block format with one loop.
//
//===----------------------------------------------------------------------===//
#include "phiq/Quant/CodeGrid.h"

#include "KQuantLayout.h"
#include "RowCodecs.h"
#include "SearchKernels.h"

#include "phiq/Quant/Fp16.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>
#include <optional>

using namespace phiq::quant;
using namespace phiq::quant::detail;

namespace {

constexpr int kLegacyBlock = 32;

float loadHalf(const uint8_t *p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return fp16BitsToFp32(h);
}

std::optional<KFormat> kFormatOf(BlockFormat format) {
  switch (format) {
  case BlockFormat::Q2_K:
    return KFormat::Q2_K;
  case BlockFormat::Q3_K:
    return KFormat::Q3_K;
  case BlockFormat::Q4_K:
    return KFormat::Q4_K;
  case BlockFormat::Q5_K:
    return KFormat::Q5_K;
  case BlockFormat::Q6_K:
    return KFormat::Q6_K;
  default:
    return std::nullopt;
  }
}

/// The legacy formats and IQ4_NL: {has min, has fifth bits, shift}.
struct LegacyShape {
  bool min, fifthBit;
  int shift, numCodes, bytes;
};

std::optional<LegacyShape> legacyShape(BlockFormat format) {
  switch (format) {
  case BlockFormat::Q4_0:
    return LegacyShape{false, false, -8, 16, 18};
  case BlockFormat::Q4_1:
    return LegacyShape{true, false, 0, 16, 20};
  case BlockFormat::Q5_0:
    return LegacyShape{false, true, -16, 32, 22};
  case BlockFormat::Q5_1:
    return LegacyShape{true, true, 0, 32, 24};
  case BlockFormat::IQ4_NL:
    return LegacyShape{false, false, 0, 16, 18};
  default:
    return std::nullopt;
  }
}

/// Offset of the nibbles and of the fifth-bit mask in a legacy block.
int nibbleOffset(const LegacyShape &s) {
  return 2 + (s.min ? 2 : 0) + (s.fifthBit ? 4 : 0);
}
int fifthBitOffset(const LegacyShape &s) { return 2 + (s.min ? 2 : 0); }

float loadMnbScale(const MatMulNBitsLayout &l, const uint8_t *block) {
  if (l.fp16Scales)
    return loadHalf(block);
  float f;
  std::memcpy(&f, block, 4);
  return f;
}

} // namespace

int CodeGrid::nearestCode(int64_t j, float v) const {
  auto distance = [&](int c) { return std::fabs(v - value(c, j)); };
  int best = 0;
  if (!table.empty()) {
    float bestDistance = distance(0);
    for (int c = 1; c < numCodes; ++c)
      if (float d = distance(c); d < bestDistance)
        best = c, bestDistance = d;
    return best;
  }
  if (scale[j] == 0.0f || !std::isfinite(scale[j]))
    return std::clamp(-shift[j], 0, numCodes - 1);
  float t = (v - offset[j]) / scale[j] - float(shift[j]);
  int guess = int(std::lround(std::clamp(t, -1.0f, float(numCodes))));
  best = std::clamp(guess, 0, numCodes - 1);
  float bestDistance = distance(best);
  // The division rounds; the decoded values decide between neighbours.
  for (int c : {best - 1, best + 1})
    if (c >= 0 && c < numCodes)
      if (float d = distance(c); d < bestDistance)
        best = c, bestDistance = d;
  return best;
}

bool phiq::quant::hasCodeGrid(BlockFormat format) {
  return format != BlockFormat::F32 && format != BlockFormat::F16 &&
         format != BlockFormat::BF16;
}

void phiq::quant::codeGrid(BlockFormat format, const uint8_t *row,
                           int64_t cols, CodeGrid &grid) {
  assert(hasCodeGrid(format) && "float formats have no code grid");
  grid.table = {};
  grid.scale.assign(static_cast<size_t>(cols), 0.0f);
  grid.offset.assign(static_cast<size_t>(cols), 0.0f);
  grid.shift.assign(static_cast<size_t>(cols), 0);

  if (auto k = kFormatOf(format)) {
    const KFormatShape &shape = kShape(*k);
    grid.numCodes = shape.qmax - shape.qmin + 1;
    KBlock block;
    for (int64_t sb = 0; sb < cols / kSuperBlock; ++sb) {
      unpackKBlock(*k, row + sb * shape.bytes, block);
      const float d = fp16BitsToFp32(block.d);
      const float dmin = fp16BitsToFp32(block.dmin);
      for (int s = 0; s < shape.subBlocks; ++s) {
        // As decodeKBlock: dl = d * sc, ml = dmin * m, y = dl * q - ml.
        float dl = d * float(block.sc[s]);
        float ml = shape.mMax ? dmin * float(block.m[s]) : 0.0f;
        for (int i = 0; i < shape.subLength; ++i) {
          int64_t j = sb * kSuperBlock + s * shape.subLength + i;
          grid.scale[j] = dl;
          grid.offset[j] = -ml;
          grid.shift[j] = shape.qmin;
        }
      }
    }
    return;
  }

  if (auto l = matMulNBitsLayout(format)) {
    grid.numCodes = 1 << l->bits;
    for (int64_t b = 0; b < cols / l->blockSize; ++b) {
      const uint8_t *block = row + b * l->blockBytes();
      float s = loadMnbScale(*l, block);
      int zp = l->symmetric ? l->midCode() : block[l->scaleBytes()];
      for (int64_t i = 0; i < l->blockSize; ++i) {
        grid.scale[b * l->blockSize + i] = s;
        grid.shift[b * l->blockSize + i] = -zp;
      }
    }
    return;
  }

  if (format == BlockFormat::Q8_0) {
    grid.numCodes = 256;
    for (int64_t b = 0; b < cols / kLegacyBlock; ++b) {
      float d = loadHalf(row + b * 34);
      for (int i = 0; i < kLegacyBlock; ++i) {
        grid.scale[b * kLegacyBlock + i] = d;
        grid.shift[b * kLegacyBlock + i] = -128;
      }
    }
    return;
  }

  std::optional<LegacyShape> shape = legacyShape(format);
  assert(shape && "format without a code grid");
  grid.numCodes = shape->numCodes;
  if (format == BlockFormat::IQ4_NL)
    grid.table = llvm::ArrayRef<float>(kIQ4Grid, 16);
  for (int64_t b = 0; b < cols / kLegacyBlock; ++b) {
    const uint8_t *block = row + b * shape->bytes;
    float d = loadHalf(block);
    float m = shape->min ? loadHalf(block + 2) : 0.0f;
    for (int i = 0; i < kLegacyBlock; ++i) {
      grid.scale[b * kLegacyBlock + i] = d;
      grid.offset[b * kLegacyBlock + i] = m;
      grid.shift[b * kLegacyBlock + i] = shape->shift;
    }
  }
}

void phiq::quant::setCodes(BlockFormat format, uint8_t *row, int64_t cols,
                           const int *codes) {
  if (auto k = kFormatOf(format)) {
    const KFormatShape &shape = kShape(*k);
    KBlock block;
    for (int64_t sb = 0; sb < cols / kSuperBlock; ++sb) {
      uint8_t *bytes = row + sb * shape.bytes;
      unpackKBlock(*k, bytes, block);
      for (int i = 0; i < kSuperBlock; ++i)
        block.q[i] = int8_t(codes[sb * kSuperBlock + i] + shape.qmin);
      packKBlock(*k, block, bytes);
    }
    return;
  }

  if (auto l = matMulNBitsLayout(format)) {
    for (int64_t b = 0; b < cols / l->blockSize; ++b) {
      uint8_t *out = row + b * l->blockBytes() + l->scaleBytes() +
                     l->zeroPointBytes();
      const int *c = codes + b * l->blockSize;
      // MatMulNBits.cpp's code order: element order, low nibble first.
      if (l->bits == 8) {
        for (int64_t i = 0; i < l->blockSize; ++i)
          out[i] = uint8_t(c[i]);
      } else {
        for (int64_t i = 0; i < l->blockSize; i += 2)
          out[i / 2] = uint8_t(c[i] | c[i + 1] << 4);
      }
    }
    return;
  }

  if (format == BlockFormat::Q8_0) {
    for (int64_t b = 0; b < cols / kLegacyBlock; ++b)
      for (int i = 0; i < kLegacyBlock; ++i)
        row[b * 34 + 2 + i] =
            uint8_t(int8_t(codes[b * kLegacyBlock + i] - 128));
    return;
  }

  std::optional<LegacyShape> shape = legacyShape(format);
  assert(shape && "format without a code grid");
  uint8_t q[kLegacyBlock];
  for (int64_t b = 0; b < cols / kLegacyBlock; ++b) {
    uint8_t *block = row + b * shape->bytes;
    for (int i = 0; i < kLegacyBlock; ++i)
      q[i] = uint8_t(codes[b * kLegacyBlock + i]);
    if (shape->fifthBit)
      packFifthBits(q, block + fifthBitOffset(*shape));
    packNibbles(q, block + nibbleOffset(*shape));
  }
}
