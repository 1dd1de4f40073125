//===- WeightedMatMulNBitsTest.cpp - Importance in MatMulNBits --*- C++ -*-===//
//
// With an importance vector every MatMulNBits format searches its scale and
// zero point, and Q8_0 its scale: the weighted error must never exceed that
// of round-to-nearest (ORT's, ggml's: what the quantizer writes without
// importance), and over many rows it must be lower (clearly so at 4 bits).
//
//===----------------------------------------------------------------------===//
#include "phiq/Quant/BlockFormat.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

using namespace phiq::quant;

namespace {

TEST(WeightedMatMulNBits, never_worse_than_round_to_nearest) {
  const int64_t rows = 16, cols = 256;
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  std::lognormal_distribution<float> spread(0.0f, 1.5f);
  std::vector<float> w(static_cast<size_t>(rows * cols));
  std::vector<float> importance(static_cast<size_t>(cols));
  for (float &v : w)
    v = normal(rng);
  for (float &v : importance)
    v = spread(rng);
  std::vector<BlockFormat> formats(matMulNBitsFormats().begin(),
                                   matMulNBitsFormats().end());
  // Q8_0 searches too under importance (ggml's Q8_0 ignores it).
  formats.push_back(BlockFormat::Q8_0);
  for (BlockFormat format : formats) {
    SCOPED_TRACE(formatInfo(format).name.str());
    const size_t bytes =
        size_t(rows * llvm::cantFail(rowBytes(format, cols)));
    std::vector<uint8_t> rtn(bytes), searched(bytes);
    llvm::cantFail(quantize(format, w, rows, cols, rtn));
    llvm::cantFail(quantize(format, w, rows, cols, searched,
                            importance.data()));
    // Row by row: the search keeps RTN's block when it cannot beat it.
    const size_t stride = bytes / size_t(rows);
    double totalRtn = 0, totalSearched = 0;
    for (int64_t r = 0; r < rows; ++r) {
      llvm::ArrayRef<float> row = llvm::ArrayRef<float>(w).slice(
          size_t(r * cols), size_t(cols));
      double e0 = weightedSquaredError(
          format, row, 1, cols,
          llvm::ArrayRef<uint8_t>(rtn).slice(r * stride, stride),
          importance.data());
      double e1 = weightedSquaredError(
          format, row, 1, cols,
          llvm::ArrayRef<uint8_t>(searched).slice(r * stride, stride),
          importance.data());
      EXPECT_LE(e1, e0 * (1 + 1e-12)) << "row " << r;
      totalRtn += e0;
      totalSearched += e1;
    }
    // The 8-bit grids leave little to gain; 4 bits must gain clearly.
    auto layout = matMulNBitsLayout(format);
    if (layout && layout->bits == 4)
      EXPECT_LT(totalSearched, 0.9 * totalRtn);
    else
      EXPECT_LT(totalSearched, totalRtn);
  }
}

} // namespace
