//===- GPTQTest.cpp - GPTQ and the code grids it rounds on ------*- C++ -*-===//
//
// CodeGrid against each format's decoder; GPTQ (Cholesky factor, lazy
// blocks, parallel rows) against the plain algorithm: every column in turn
// with an explicit inverse Hessian that is downdated after each column, no
// lazy updates, all rows together. Both choose a block's scales with the
// format's own quantizer on the compensated values, so their bytes must be
// identical. Then the point of GPTQ: a lower output error X (W - Q) than
// round-to-nearest on correlated activations.
//
//===----------------------------------------------------------------------===//

#include "phiq/Quant/BlockFormat.h"
#include "phiq/Quant/CodeGrid.h"
#include "phiq/Quant/GPTQ.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

using namespace phiq::quant;

namespace {

std::vector<BlockFormat> gridFormats() {
  std::vector<BlockFormat> all;
  for (BlockFormat f : allBlockFormats())
    if (hasCodeGrid(f))
      all.push_back(f);
  for (BlockFormat f : matMulNBitsFormats())
    all.push_back(f);
  return all;
}

std::vector<float> randomMatrix(int64_t rows, int64_t cols, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> m(static_cast<size_t>(rows * cols));
  for (float &v : m)
    v = normal(rng);
  return m;
}

/// H = X^T X for `tokens` activations whose channels are mixed (so H has
/// large off-diagonal terms) and whose scales differ per channel (so
/// act-order has something to sort).
std::vector<float> correlatedHessian(int64_t cols, int64_t tokens,
                                     unsigned seed) {
  std::vector<float> z = randomMatrix(tokens, cols, seed);
  std::vector<float> mix = randomMatrix(cols, cols, seed + 1);
  std::vector<double> x(static_cast<size_t>(tokens * cols), 0.0);
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t c = 0; c < cols; ++c) {
      double s = 0.0;
      for (int64_t k = 0; k < cols; ++k)
        s += double(z[t * cols + k]) * (k == c ? 3.0 : 0.3 * mix[k * cols + c]);
      x[t * cols + c] = s * (1.0 + 0.05 * double(c % 17));
    }
  std::vector<float> h(static_cast<size_t>(cols * cols));
  for (int64_t a = 0; a < cols; ++a)
    for (int64_t b = 0; b < cols; ++b) {
      double s = 0.0;
      for (int64_t t = 0; t < tokens; ++t)
        s += x[t * cols + a] * x[t * cols + b];
      h[a * cols + b] = float(s);
    }
  return h;
}

/// Inverse of a symmetric positive definite matrix by Gauss-Jordan.
std::vector<double> invert(std::vector<double> a, int64_t n) {
  std::vector<double> inv(static_cast<size_t>(n * n), 0.0);
  for (int64_t i = 0; i < n; ++i)
    inv[i * n + i] = 1.0;
  for (int64_t p = 0; p < n; ++p) {
    double pivot = a[p * n + p];
    for (int64_t j = 0; j < n; ++j) {
      a[p * n + j] /= pivot;
      inv[p * n + j] /= pivot;
    }
    for (int64_t i = 0; i < n; ++i) {
      if (i == p)
        continue;
      double f = a[i * n + p];
      for (int64_t j = 0; j < n; ++j) {
        a[i * n + j] -= f * a[p * n + j];
        inv[i * n + j] -= f * inv[p * n + j];
      }
    }
  }
  return inv;
}

/// The plain algorithm: Hinv explicit, downdated after every column
/// (Hinv -= Hinv[:, i] Hinv[i, :] / Hinv[i, i]), errors spread at once.
/// With `scaleSource` (rows x cols), a block's scales come from those
/// values instead of the current ones (a refit sweep); `targets` receives
/// the compensated value each element was rounded from. With `schur`, the
/// scale search weights column c by 1 / Hinv_cc at the moment c is visited.
std::vector<uint8_t> referenceGPTQ(BlockFormat format,
                                   const std::vector<float> &weight,
                                   int64_t rows, int64_t cols,
                                   const std::vector<float> &hessian,
                                   double damp, bool actOrder,
                                   const std::vector<float> *scaleSource = nullptr,
                                   std::vector<float> *targets = nullptr,
                                   bool schur = false) {
  std::vector<int64_t> order = gptqColumnOrder(hessian, cols, actOrder);
  std::vector<double> h(static_cast<size_t>(cols * cols));
  double mean = 0.0;
  for (int64_t c = 0; c < cols; ++c)
    mean += hessian[c * cols + c];
  mean /= double(cols);
  for (int64_t a = 0; a < cols; ++a)
    for (int64_t b = 0; b < cols; ++b)
      h[a * cols + b] = hessian[a * cols + b] + (a == b ? damp * mean : 0.0);
  std::vector<double> hinv = invert(h, cols);

  const FormatInfo &info = formatInfo(format);
  const int64_t rowBytesCount = llvm::cantFail(rowBytes(format, cols));
  std::vector<uint8_t> out(static_cast<size_t>(rows * rowBytesCount));
  std::vector<double> w(weight.begin(), weight.end());
  std::vector<float> importance(static_cast<size_t>(cols));
  for (int64_t c = 0; c < cols; ++c)
    importance[c] = hessian[c * cols + c];
  if (schur) {
    std::vector<double> sim = hinv;
    for (int64_t col : order) {
      double pivot = sim[col * cols + col];
      importance[col] = float(1.0 / pivot);
      std::vector<double> column(static_cast<size_t>(cols));
      for (int64_t j = 0; j < cols; ++j)
        column[j] = sim[j * cols + col];
      for (int64_t a = 0; a < cols; ++a)
        for (int64_t b = 0; b < cols; ++b)
          sim[a * cols + b] -= column[a] * column[b] / pivot;
    }
  }
  if (targets)
    targets->assign(static_cast<size_t>(rows * cols), 0.0f);
  std::vector<std::vector<int>> codes(static_cast<size_t>(rows),
                                      std::vector<int>(static_cast<size_t>(cols)));
  std::vector<CodeGrid> grids(static_cast<size_t>(rows));
  for (CodeGrid &g : grids) {
    g.scale.resize(static_cast<size_t>(cols));
    g.offset.resize(static_cast<size_t>(cols));
    g.shift.resize(static_cast<size_t>(cols));
  }
  std::vector<char> chosen(static_cast<size_t>(cols / info.blockElements));
  std::vector<char> done(static_cast<size_t>(cols));
  for (int64_t col : order) {
    int64_t blk = col / info.blockElements, first = blk * info.blockElements;
    for (int64_t r = 0; r < rows; ++r) {
      CodeGrid &g = grids[r];
      if (!chosen[blk]) {
        std::vector<float> values(static_cast<size_t>(info.blockElements));
        for (int64_t k = 0; k < info.blockElements; ++k)
          values[k] = scaleSource ? (*scaleSource)[r * cols + first + k]
                                  : float(w[r * cols + first + k]);
        uint8_t *bytes = out.data() + r * rowBytesCount + blk * info.blockBytes;
        llvm::cantFail(quantize(
            format, values, 1, info.blockElements,
            llvm::MutableArrayRef<uint8_t>(bytes, size_t(info.blockBytes)),
            importance.data() + first));
        CodeGrid b;
        codeGrid(format, bytes, info.blockElements, b);
        for (int64_t k = 0; k < info.blockElements; ++k) {
          g.scale[first + k] = b.scale[k];
          g.offset[first + k] = b.offset[k];
          g.shift[first + k] = b.shift[k];
        }
        g.numCodes = b.numCodes;
        g.table = b.table;
      }
      double v = w[r * cols + col];
      if (targets)
        (*targets)[r * cols + col] = float(v);
      int code = g.nearestCode(col, float(v));
      codes[r][col] = code;
      double e = (v - double(g.value(code, col))) / hinv[col * cols + col];
      for (int64_t j = 0; j < cols; ++j)
        if (!done[j] && j != col)
          w[r * cols + j] -= e * hinv[col * cols + j];
    }
    chosen[blk] = 1;
    done[col] = 1;
    double pivot = hinv[col * cols + col];
    std::vector<double> column(static_cast<size_t>(cols));
    for (int64_t j = 0; j < cols; ++j)
      column[j] = hinv[j * cols + col];
    for (int64_t a = 0; a < cols; ++a)
      for (int64_t b = 0; b < cols; ++b)
        hinv[a * cols + b] -= column[a] * column[b] / pivot;
  }
  for (int64_t r = 0; r < rows; ++r)
    setCodes(format, out.data() + r * rowBytesCount, cols, codes[r].data());
  return out;
}

std::vector<uint8_t> runGPTQ(BlockFormat format, const std::vector<float> &w,
                             int64_t rows, int64_t cols,
                             const std::vector<float> &h,
                             const GPTQOptions &options) {
  std::vector<uint8_t> out(
      size_t(rows * llvm::cantFail(rowBytes(format, cols))));
  llvm::Error e = gptqQuantize(format, w, rows, cols, h, options, out);
  EXPECT_FALSE(bool(e)) << llvm::toString(std::move(e));
  return out;
}

TEST(CodeGrid, values_match_the_decoder_and_codes_keep_the_scales) {
  for (BlockFormat format : gridFormats()) {
    const int64_t cols = 256;
    std::vector<float> x = randomMatrix(1, cols, 7);
    std::vector<uint8_t> bytes(static_cast<size_t>(llvm::cantFail(rowBytes(format, cols))));
    ASSERT_FALSE(bool(quantize(format, x, 1, cols, bytes)));
    CodeGrid grid;
    codeGrid(format, bytes.data(), cols, grid);
    std::mt19937 rng(3);
    std::vector<int> codes(static_cast<size_t>(cols));
    for (int &c : codes)
      c = int(rng() % unsigned(grid.numCodes));
    setCodes(format, bytes.data(), cols, codes.data());
    std::vector<float> decoded(static_cast<size_t>(cols));
    dequantize(format, bytes, 1, cols, decoded);
    CodeGrid after;
    codeGrid(format, bytes.data(), cols, after);
    for (int64_t j = 0; j < cols; ++j) {
      ASSERT_EQ(decoded[j], grid.value(codes[j], j))
          << formatInfo(format).name.str() << " element " << j;
      ASSERT_EQ(after.scale[j], grid.scale[j]);
      ASSERT_EQ(after.offset[j], grid.offset[j]);
    }
    // The nearest code of a decoded value is a code decoding to it.
    for (int64_t j = 0; j < cols; ++j)
      ASSERT_EQ(grid.value(grid.nearestCode(j, decoded[j]), j), decoded[j]);
  }
}

TEST(GPTQ, act_order_sorts_by_decreasing_hessian_diagonal) {
  std::vector<float> h = {1, 0, 0, 0, //
                          0, 5, 0, 0, //
                          0, 0, 5, 0, //
                          0, 0, 0, 9};
  EXPECT_EQ(gptqColumnOrder(h, 4, true), (std::vector<int64_t>{3, 1, 2, 0}));
  EXPECT_EQ(gptqColumnOrder(h, 4, false), (std::vector<int64_t>{0, 1, 2, 3}));
}

TEST(GPTQ, inverse_factor_is_the_cholesky_factor_of_the_inverse) {
  const int64_t n = 32;
  std::vector<float> h = correlatedHessian(n, 96, 11);
  std::vector<int64_t> order = gptqColumnOrder(h, n, true);
  std::vector<double> u = llvm::cantFail(gptqInverseFactor(h, n, order, 0.01));
  // (U^T U) (P (H + damp) P^T) = I.
  double mean = 0.0;
  for (int64_t c = 0; c < n; ++c)
    mean += h[c * n + c];
  mean /= double(n);
  for (int64_t a = 0; a < n; ++a)
    for (int64_t b = 0; b < n; ++b) {
      double s = 0.0;
      for (int64_t k = 0; k < n; ++k) {
        double inv = 0.0;
        for (int64_t m = 0; m < n; ++m)
          inv += u[m * n + a] * u[m * n + k];
        double hk = h[order[k] * n + order[b]] + (k == b ? 0.01 * mean : 0.0);
        s += inv * hk;
      }
      ASSERT_NEAR(s, a == b ? 1.0 : 0.0, 1e-6) << a << "," << b;
    }
}

TEST(GPTQ, matches_the_plain_algorithm_byte_for_byte) {
  struct Case {
    BlockFormat format;
    int64_t cols;
  };
  for (Case c : {Case{BlockFormat::Q4_0, 96}, Case{BlockFormat::Q5_1, 64},
                 Case{BlockFormat::Q8_0, 64}, Case{BlockFormat::IQ4_NL, 64},
                 Case{BlockFormat::MNB4_G32_ASYM, 96},
                 Case{BlockFormat::MNB4_G16_SYM_F16, 64},
                 Case{BlockFormat::Q4_K, 256}, Case{BlockFormat::Q3_K, 256}}) {
    for (bool actOrder : {false, true}) {
      const int64_t rows = 6;
      std::vector<float> w = randomMatrix(rows, c.cols, 21);
      std::vector<float> h = correlatedHessian(c.cols, 2 * c.cols, 5);
      GPTQOptions options;
      options.actOrder = actOrder;
      options.block = 24; // not a divisor of the row: a ragged last block
      std::vector<uint8_t> fast = runGPTQ(c.format, w, rows, c.cols, h, options);
      std::vector<uint8_t> plain =
          referenceGPTQ(c.format, w, rows, c.cols, h, options.damp, actOrder);
      EXPECT_EQ(fast, plain) << formatInfo(c.format).name.str()
                             << (actOrder ? " act-order" : "");
    }
  }
}

TEST(GPTQ, output_error_below_round_to_nearest_on_correlated_inputs) {
  const int64_t rows = 32;
  for (BlockFormat format :
       {BlockFormat::Q4_0, BlockFormat::Q4_1, BlockFormat::IQ4_NL,
        BlockFormat::Q4_K, BlockFormat::Q3_K, BlockFormat::Q2_K,
        BlockFormat::MNB4_G32_ASYM, BlockFormat::MNB4_G128_SYM}) {
    const int64_t cols = 256;
    std::vector<float> w = randomMatrix(rows, cols, 4);
    std::vector<float> h = correlatedHessian(cols, 512, 9);
    std::vector<float> diag(static_cast<size_t>(cols));
    for (int64_t c = 0; c < cols; ++c)
      diag[c] = h[c * cols + c];
    std::vector<uint8_t> rtn(static_cast<size_t>(rows * llvm::cantFail(rowBytes(format, cols))));
    ASSERT_FALSE(bool(quantize(format, w, rows, cols, rtn, diag.data())));
    double rtnError = hessianWeightedError(format, w, rows, cols, h, rtn);
    for (bool actOrder : {false, true}) {
      GPTQOptions options;
      options.actOrder = actOrder;
      std::vector<uint8_t> gptq = runGPTQ(format, w, rows, cols, h, options);
      double gptqError = hessianWeightedError(format, w, rows, cols, h, gptq);
      EXPECT_LT(gptqError, 0.9 * rtnError)
          << formatInfo(format).name.str() << (actOrder ? " act-order" : "");
    }
  }
}

/// The row's output error (w - q)^T H (w - q) of packed row r.
double rowError(BlockFormat format, const std::vector<float> &w,
                const std::vector<uint8_t> &packed, int64_t r, int64_t cols,
                const std::vector<float> &h) {
  const int64_t bytes = llvm::cantFail(rowBytes(format, cols));
  return hessianWeightedError(
      format, llvm::ArrayRef<float>(w).slice(r * cols, cols), 1, cols, h,
      llvm::ArrayRef<uint8_t>(packed).slice(r * bytes, bytes));
}

/// Refits, the plain way: every sweep over all rows from scratch; a row
/// takes a sweep's bytes while its output error keeps falling.
std::vector<uint8_t> referenceRefitGPTQ(BlockFormat format,
                                        const std::vector<float> &w,
                                        int64_t rows, int64_t cols,
                                        const std::vector<float> &h,
                                        const GPTQOptions &options) {
  const bool schur = options.importance == GPTQImportance::Schur;
  std::vector<float> targets;
  std::vector<uint8_t> best = referenceGPTQ(format, w, rows, cols, h,
                                            options.damp, options.actOrder,
                                            nullptr, &targets, schur);
  const int64_t bytes = llvm::cantFail(rowBytes(format, cols));
  std::vector<double> bestError(static_cast<size_t>(rows));
  std::vector<char> active(static_cast<size_t>(rows), 1);
  for (int64_t r = 0; r < rows; ++r)
    bestError[r] = rowError(format, w, best, r, cols, h);
  for (int64_t pass = 0; pass < options.refits; ++pass) {
    std::vector<float> source = targets;
    std::vector<uint8_t> trial = referenceGPTQ(format, w, rows, cols, h,
                                               options.damp, options.actOrder,
                                               &source, &targets, schur);
    for (int64_t r = 0; r < rows; ++r) {
      if (!active[r])
        continue;
      double e = rowError(format, w, trial, r, cols, h);
      if (!(e < bestError[r])) {
        active[r] = 0;
        continue;
      }
      bestError[r] = e;
      std::copy(trial.begin() + r * bytes, trial.begin() + (r + 1) * bytes,
                best.begin() + r * bytes);
    }
  }
  return best;
}

TEST(GPTQ, refits_and_schur_importance_match_the_plain_algorithm) {
  struct Case {
    BlockFormat format;
    int64_t cols;
  };
  for (Case c : {Case{BlockFormat::Q4_0, 96}, Case{BlockFormat::IQ4_NL, 64},
                 Case{BlockFormat::MNB4_G32_ASYM, 96},
                 Case{BlockFormat::Q4_K, 256}}) {
    for (bool schur : {false, true}) {
      const int64_t rows = 6;
      std::vector<float> w = randomMatrix(rows, c.cols, 23);
      std::vector<float> h = correlatedHessian(c.cols, 2 * c.cols, 6);
      GPTQOptions options;
      options.block = 24;
      options.refits = 3;
      options.actOrder = schur; // both orders, without doubling the run time
      options.importance =
          schur ? GPTQImportance::Schur : GPTQImportance::Diagonal;
      std::vector<uint8_t> fast = runGPTQ(c.format, w, rows, c.cols, h, options);
      std::vector<uint8_t> plain =
          referenceRefitGPTQ(c.format, w, rows, c.cols, h, options);
      // The float sums of the row errors may differ in their last bits
      // between the two, and decide a tie differently; compare errors then.
      for (int64_t r = 0; r < rows; ++r)
        EXPECT_NEAR(rowError(c.format, w, fast, r, c.cols, h),
                    rowError(c.format, w, plain, r, c.cols, h),
                    1e-9 * rowError(c.format, w, plain, r, c.cols, h))
            << formatInfo(c.format).name.str() << (schur ? " schur" : "")
            << " row " << r;
    }
  }
}

TEST(GPTQ, refits_never_raise_and_mostly_lower_the_output_error) {
  const int64_t rows = 32, cols = 256;
  for (BlockFormat format :
       {BlockFormat::Q4_0, BlockFormat::IQ4_NL, BlockFormat::Q4_K,
        BlockFormat::Q3_K, BlockFormat::MNB4_G32_ASYM}) {
    std::vector<float> w = randomMatrix(rows, cols, 8);
    std::vector<float> h = correlatedHessian(cols, 512, 10);
    GPTQOptions options;
    std::vector<uint8_t> once = runGPTQ(format, w, rows, cols, h, options);
    options.refits = 2;
    std::vector<uint8_t> refit = runGPTQ(format, w, rows, cols, h, options);
    double lowered = 0;
    for (int64_t r = 0; r < rows; ++r) {
      double before = rowError(format, w, once, r, cols, h);
      double after = rowError(format, w, refit, r, cols, h);
      EXPECT_LE(after, before) << formatInfo(format).name.str() << " row " << r;
      lowered += after < before;
    }
    EXPECT_GT(lowered, 0) << formatInfo(format).name.str();
  }
}

TEST(GPTQ, rejects_bad_shapes_float_formats_and_indefinite_hessians) {
  std::vector<float> w = randomMatrix(2, 32, 1);
  std::vector<uint8_t> out(2 * 18);
  GPTQOptions options;
  std::vector<float> small(31 * 31, 1.0f);
  llvm::Error e = gptqQuantize(BlockFormat::Q4_0, w, 2, 32, small, options, out);
  ASSERT_TRUE(bool(e));
  EXPECT_NE(llvm::toString(std::move(e)).find("32x32"), std::string::npos);

  std::vector<uint8_t> f32(2 * 32 * 4);
  std::vector<float> identity(32 * 32, 0.0f);
  for (int i = 0; i < 32; ++i)
    identity[i * 32 + i] = 1.0f;
  e = gptqQuantize(BlockFormat::F32, w, 2, 32, identity, options, f32);
  ASSERT_TRUE(bool(e));
  EXPECT_NE(llvm::toString(std::move(e)).find("block format"), std::string::npos);

  // Eigenvalues 1 + 31 * 2 and 1 - 2: indefinite, and no dampening.
  std::vector<float> indefinite(32 * 32, 2.0f);
  for (int i = 0; i < 32; ++i)
    indefinite[i * 32 + i] = 1.0f;
  options.damp = 0.0;
  e = gptqQuantize(BlockFormat::Q4_0, w, 2, 32, indefinite, options, out);
  ASSERT_TRUE(bool(e));
  EXPECT_NE(llvm::toString(std::move(e)).find("positive definite"),
            std::string::npos);
}

} // namespace
