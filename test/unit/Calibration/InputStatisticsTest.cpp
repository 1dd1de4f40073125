//===- InputStatisticsTest.cpp - Calibration statistics ---------*- C++ -*-===//
//
// InputStatistics against the definitions computed the obvious way: every
// token's square, maximum and outer product summed in double over the whole
// input at once, while the class sees it in uneven chunks.
//
//===----------------------------------------------------------------------===//
#include "phiq/Quant/InputStatistics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

using phiq::quant::InputStatistics;

namespace {

std::vector<float> randomMatrix(int64_t rows, int64_t cols, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(size_t(rows * cols));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      // Channels of different scale, like real activations.
      x[size_t(r * cols + c)] = normal(rng) * float(1 + c % 5);
  return x;
}

TEST(InputStatistics, matches_dense_reference_over_chunks) {
  const int64_t rows = 37, cols = 24;
  std::vector<float> x = randomMatrix(rows, cols, 7);
  InputStatistics stats(cols, /*hessian=*/true);
  // Uneven chunks, as windows and routed expert batches arrive.
  const int64_t chunks[] = {5, 1, 20, 11};
  int64_t first = 0;
  for (int64_t n : chunks) {
    stats.accumulate(llvm::ArrayRef<float>(x).slice(first * cols, n * cols), n);
    first += n;
  }
  ASSERT_EQ(first, rows);
  EXPECT_EQ(stats.count(), rows);

  std::vector<float> sumsq = stats.sumOfSquares(), absmax = stats.absMax(),
                     hessian = stats.hessian();
  ASSERT_EQ(hessian.size(), size_t(cols * cols));
  for (int64_t i = 0; i < cols; ++i) {
    double s = 0, m = 0;
    for (int64_t r = 0; r < rows; ++r) {
      double v = x[size_t(r * cols + i)];
      s += v * v;
      m = std::max(m, std::fabs(v));
    }
    EXPECT_NEAR(sumsq[i], s, 1e-5 * s) << "channel " << i;
    EXPECT_EQ(absmax[i], float(m)) << "channel " << i;
    for (int64_t j = 0; j < cols; ++j) {
      double h = 0;
      for (int64_t r = 0; r < rows; ++r)
        h += double(x[size_t(r * cols + i)]) * x[size_t(r * cols + j)];
      EXPECT_NEAR(hessian[size_t(i * cols + j)], h, 1e-5 * (1 + std::fabs(h)))
          << i << "," << j;
    }
    // The diagonal of X^T X is the importance.
    EXPECT_FLOAT_EQ(hessian[size_t(i * cols + i)], sumsq[i]);
  }
}

TEST(InputStatistics, without_hessian_keeps_none) {
  InputStatistics stats(8, /*hessian=*/false);
  std::vector<float> x = randomMatrix(3, 8, 1);
  stats.accumulate(x, 3);
  EXPECT_FALSE(stats.hasHessian());
  EXPECT_TRUE(stats.hessian().empty());
  EXPECT_EQ(stats.count(), 3);
}

TEST(InputStatistics, non_finite_rows_are_counted_and_skipped) {
  const int64_t cols = 4;
  std::vector<float> x = {1, 2, 3, 4,
                          5, std::numeric_limits<float>::quiet_NaN(), 6, 7,
                          -1, -2, -3, std::numeric_limits<float>::infinity()};
  InputStatistics stats(cols, true);
  stats.accumulate(x, 3);
  EXPECT_EQ(stats.count(), 3);
  EXPECT_EQ(stats.numNonFiniteRows(), 2);
  std::vector<float> s = stats.sumOfSquares();
  EXPECT_EQ(s, (std::vector<float>{1, 4, 9, 16}));
  EXPECT_EQ(stats.absMax(), (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(stats.hessian()[1], 2.0f);
}

TEST(InputStatistics, empty_input_is_zero) {
  InputStatistics stats(3, true);
  stats.accumulate({}, 0);
  EXPECT_EQ(stats.count(), 0);
  EXPECT_EQ(stats.sumOfSquares(), (std::vector<float>{0, 0, 0}));
  EXPECT_EQ(stats.hessian(), std::vector<float>(9, 0.0f));
}

} // namespace
