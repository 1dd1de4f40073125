//===- MatmulTest.cpp - matmulTransB against a double reference -*- C++ -*-===//
//
// C = A * W^T (+ bias) on shapes chosen to hit every path of the GEMM: one
// row (decode dot products), rows and columns that are not multiples of any
// tile, K split into several blocks, row strides wider than the rows, and a
// W too large to pack at once. The bound is 1e-5 of sum_k |a_k * w_k|, the
// scale fp32 accumulation errors are relative to.
//
//===----------------------------------------------------------------------===//

#include "KernelTestSupport.h"

#include <cmath>

namespace phiq::rt::test {
namespace {

struct MatmulCase {
  int64_t M, N, K;
  int64_t ldaPad = 0, ldcPad = 0;
  bool bias = false;
};

/// Runs matmulTransB on random data and compares every element (and that
/// the padding of C's rows is untouched).
void checkMatmul(const MatmulCase &c, unsigned seed) {
  SCOPED_TRACE(::testing::Message() << "M=" << c.M << " N=" << c.N
                                    << " K=" << c.K << " bias=" << c.bias);
  const int64_t lda = c.K + c.ldaPad, ldc = c.N + c.ldcPad;
  std::vector<float> A = randomFloats(c.M * lda, seed);
  std::vector<float> W = randomFloats(c.N * c.K, seed + 1);
  std::vector<float> bias = randomFloats(c.N, seed + 2);
  const float sentinel = 12345.0f;
  std::vector<float> C(c.M * ldc, sentinel);
  matmulTransB(A.data(), lda, W.data(), c.bias ? bias.data() : nullptr,
               C.data(), ldc, c.M, c.N, c.K);
  for (int64_t m = 0; m < c.M; ++m) {
    for (int64_t n = 0; n < c.N; ++n) {
      double ref = c.bias ? bias[n] : 0.0,
             mag = c.bias ? std::fabs(bias[n]) : 0.0;
      for (int64_t k = 0; k < c.K; ++k) {
        double t = double(A[m * lda + k]) * double(W[n * c.K + k]);
        ref += t;
        mag += std::fabs(t);
      }
      ASSERT_NEAR(C[m * ldc + n], ref, 1e-5 * mag + 1e-30)
          << "at m=" << m << " n=" << n;
    }
    for (int64_t n = c.N; n < ldc; ++n)
      ASSERT_EQ(C[m * ldc + n], sentinel) << "padding written at m=" << m;
  }
}

class Matmul : public AtCpuLevel {};

TEST_P(Matmul, SingleRowDecodeMatchesReference) {
  for (MatmulCase c : {MatmulCase{1, 1, 1}, MatmulCase{1, 37, 19},
                       MatmulCase{1, 256, 256, 0, 0, true},
                       MatmulCase{1, 101, 771, 3, 5, false}})
    checkMatmul(c, 1);
}

TEST_P(Matmul, FewRowsMatchReference) {
  for (int64_t M = 2; M <= 9; ++M)
    checkMatmul({M, 45, 67, 1, 2, M % 2 == 0}, 2 + M);
}

TEST_P(Matmul, OddShapesMatchReference) {
  for (MatmulCase c :
       {MatmulCase{13, 97, 129}, MatmulCase{31, 33, 65, 0, 0, true},
        MatmulCase{7, 17, 3}, MatmulCase{100, 131, 37, 5, 7, true},
        MatmulCase{197, 70, 256}})
    checkMatmul(c, 3);
}

TEST_P(Matmul, DeepKIsSplitIntoBlocksThatAccumulate) {
  checkMatmul({29, 50, 700, 0, 0, true}, 4);
  checkMatmul({64, 64, 768, 2, 0, false}, 5);
}

TEST_P(Matmul, RowStridesWiderThanRowsAreHonoured) {
  checkMatmul({37, 53, 41, 23, 11, true}, 6);
}

TEST_P(Matmul, WideMatrixIsPackedInColumnChunks) {
  // N * K = 4.6M floats, past the 4M-float packing cap.
  checkMatmul({6, 4111, 1120, 0, 0, true}, 7);
}

TEST_P(Matmul, ZeroDepthGivesTheBias) {
  std::vector<float> bias = {1.0f, -2.0f, 3.0f};
  std::vector<float> C(6, 7.0f);
  matmulTransB(nullptr, 0, nullptr, bias.data(), C.data(), 3, 2, 3, 0);
  EXPECT_EQ(C, (std::vector<float>{1, -2, 3, 1, -2, 3}));
}

PHIQ_INSTANTIATE_AT_EVERY_CPU_LEVEL(Matmul);

} // namespace
} // namespace phiq::rt::test
