//===- CpuLevelTest.cpp - Same bytes on every CPU ---------------*- C++ -*-===//
//
// The search loops have a portable and an AVX2 version; they are built to
// return identical bits (same lanes, same operations), so a model quantized
// on one machine is byte-identical to the same model quantized on another.
// Checked loop by loop and end to end through quantize().
//
//===----------------------------------------------------------------------===//

#include "lib/Quant/SearchKernels.h"

#include "phiq/Quant/BlockFormat.h"
#include "phiq/Runtime/Kernels.h"

#include "llvm/Support/Error.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

using namespace phiq::quant;
using namespace phiq::quant::detail;
namespace rt = phiq::rt;

namespace {

uint32_t bitsOf(float v) {
  uint32_t b;
  std::memcpy(&b, &v, 4);
  return b;
}

std::vector<float> randomValues(size_t n, uint32_t seed, float scale) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> v(n);
  for (float &x : v)
    x = normal(rng);
  return v;
}

TEST(SearchKernels, avx2_and_portable_loops_return_identical_bits) {
  const SearchKernels *avx2 = avx2SearchKernels();
  if (!avx2)
    GTEST_SKIP() << "no AVX2 on this machine";
  const SearchKernels &portable = portableSearchKernels();
  for (int trial = 0; trial < 200; ++trial) {
    int n = trial % 2 ? 32 : 16;
    std::vector<float> x = randomValues(n, trial, 0.05f);
    std::vector<float> w = randomValues(n, trial + 1000, 1.0f);
    for (float &v : w)
      v = v * v + 0.01f;
    float step = 0.01f * (1 + trial % 7);
    std::vector<float> qa(n), qb(n);
    ASSERT_EQ(bitsOf(avx2->requantAffine(x.data(), w.data(), n, step, 0.03f,
                                         15.0f, qa.data())),
              bitsOf(portable.requantAffine(x.data(), w.data(), n, step, 0.03f,
                                            15.0f, qb.data())));
    ASSERT_EQ(qa, qb);
    ASSERT_EQ(bitsOf(avx2->requantSymmetric(x.data(), w.data(), n, -step,
                                            -32.0f, 31.0f, qa.data())),
              bitsOf(portable.requantSymmetric(x.data(), w.data(), n, -step,
                                               -32.0f, 31.0f, qb.data())));
    ASSERT_EQ(qa, qb);
    FitSums fa =
        avx2->fitSums(x.data(), w.data(), n, -0.1f, 1.0f / step, 0.0f, 31.0f);
    FitSums fb = portable.fitSums(x.data(), w.data(), n, -0.1f, 1.0f / step,
                                  0.0f, 31.0f);
    ASSERT_EQ(bitsOf(fa.q), bitsOf(fb.q));
    ASSERT_EQ(bitsOf(fa.qq), bitsOf(fb.qq));
    ASSERT_EQ(bitsOf(fa.xq), bitsOf(fb.xq));
    FitSums ga = avx2->gridSums(x.data(), w.data(), n, 0.1f / step);
    FitSums gb = portable.gridSums(x.data(), w.data(), n, 0.1f / step);
    ASSERT_EQ(bitsOf(ga.qq), bitsOf(gb.qq));
    ASSERT_EQ(bitsOf(ga.xq), bitsOf(gb.xq));
    ASSERT_EQ(
        bitsOf(avx2->gridError(x.data(), w.data(), n, step / 10, qa.data())),
        bitsOf(
            portable.gridError(x.data(), w.data(), n, step / 10, qb.data())));
    ASSERT_EQ(qa, qb);
  }
}

TEST(SearchKernels, batched_fit_sums_equal_one_call_per_candidate) {
  // The grid scans take all their candidates in one fitSumsBatch call; each
  // result must carry the bits of the single call, in both kernel tables,
  // for every batch length (whole and partial groups of eight).
  std::vector<const SearchKernels *> tables = {&portableSearchKernels()};
  if (const SearchKernels *avx2 = avx2SearchKernels())
    tables.push_back(avx2);
  for (const SearchKernels *k : tables)
    for (int count = 1; count <= 39; ++count) {
      int n = count % 2 ? 32 : 16;
      std::vector<float> x = randomValues(n, count, 0.05f);
      std::vector<float> w = randomValues(n, count + 500, 1.0f);
      for (float &v : w)
        v = v * v + 0.01f;
      std::vector<float> base(count), iscale(count);
      for (int c = 0; c < count; ++c) {
        base[c] = c % 3 ? -0.02f * c : 0.0f;
        iscale[c] = (c % 2 ? -1.0f : 1.0f) * (20.0f + 3.0f * c);
      }
      std::vector<FitSums> batch(count);
      k->fitSumsBatch(x.data(), w.data(), n, base.data(), iscale.data(), count,
                      -8.0f, 7.0f, batch.data());
      for (int c = 0; c < count; ++c) {
        FitSums one =
            k->fitSums(x.data(), w.data(), n, base[c], iscale[c], -8.0f, 7.0f);
        ASSERT_EQ(bitsOf(batch[c].q), bitsOf(one.q)) << count << " " << c;
        ASSERT_EQ(bitsOf(batch[c].qq), bitsOf(one.qq)) << count << " " << c;
        ASSERT_EQ(bitsOf(batch[c].xq), bitsOf(one.xq)) << count << " " << c;
      }
    }
}

TEST(SearchKernels, lane_kernels_equal_a_plain_loop_per_lane) {
  // The lane kernels measure eight groups side by side (value i of group k
  // at [8 i + k]); each lane must carry the bits of a plain sequential loop
  // over that group, in both kernel tables (so the AVX2 and portable K-quant
  // solvers write the same bytes).
  std::vector<const SearchKernels *> tables = {&portableSearchKernels()};
  if (const SearchKernels *avx2 = avx2SearchKernels())
    tables.push_back(avx2);
  auto rne = [](float v) { return (v + 12582912.0f) - 12582912.0f; };
  auto clamp = [](float v, float lo, float hi) {
    return v < lo ? lo : (v > hi ? hi : v);
  };
  for (int trial = 0; trial < 100; ++trial) {
    int n = trial % 2 ? 32 : 16;
    std::vector<float> x = randomValues(8 * n, trial, 0.05f);
    std::vector<float> w = randomValues(8 * n, trial + 300, 1.0f);
    for (float &v : w)
      v = v * v + 0.01f;
    float base[8], iscale[8], dl[8], ml[8], inv[8];
    for (int k = 0; k < 8; ++k) {
      base[k] = k % 3 ? -0.01f * k : 0.0f;
      iscale[k] = (k % 2 ? -1.0f : 1.0f) * (10.0f + trial + 3.0f * k);
      dl[k] = 0.004f * (1 + (trial + k) % 9);
      ml[k] = k % 2 ? 0.0f : 0.002f * k;
      inv[k] = 1.0f / dl[k];
    }
    for (const SearchKernels *kern : tables) {
      LaneSums sums;
      kern->laneFitSums(x.data(), w.data(), n, base, iscale, -8.0f, 15.0f,
                        &sums);
      std::vector<float> q(8 * n);
      float err[8];
      kern->laneRequant(x.data(), w.data(), n, dl, ml, inv, -4.0f, 31.0f,
                        q.data(), err);
      for (int k = 0; k < 8; ++k) {
        float sq = 0, sqq = 0, sxq = 0, e = 0;
        for (int i = 0; i < n; ++i) {
          float xi = x[8 * i + k], wi = w[8 * i + k];
          float c = rne(clamp((xi - base[k]) * iscale[k], -8.0f, 15.0f));
          sq += wi * c;
          sqq += wi * c * c;
          sxq += wi * xi * c;
          float v = rne(clamp((xi + ml[k]) * inv[k], -4.0f, 31.0f));
          ASSERT_EQ(bitsOf(q[8 * i + k]), bitsOf(v)) << trial << " " << k;
          float diff = xi - (dl[k] * v - ml[k]);
          e += wi * diff * diff;
        }
        ASSERT_EQ(bitsOf(sums.q[k]), bitsOf(sq)) << trial << " " << k;
        ASSERT_EQ(bitsOf(sums.qq[k]), bitsOf(sqq)) << trial << " " << k;
        ASSERT_EQ(bitsOf(sums.xq[k]), bitsOf(sxq)) << trial << " " << k;
        ASSERT_EQ(bitsOf(err[k]), bitsOf(e)) << trial << " " << k;
      }
    }
  }
}

TEST(SearchKernels, grid_index_is_the_nearest_grid_value) {
  const SearchKernels &kernels = portableSearchKernels();
  std::vector<float> x(8), w(8, 1.0f), index(8);
  for (float v = -140.0f; v <= 130.0f; v += 0.37f) {
    for (float &e : x)
      e = v;
    kernels.gridError(x.data(), w.data(), 8, 1.0f, index.data());
    int k = static_cast<int>(index[0]);
    for (int g = 0; g < 16; ++g)
      ASSERT_LE(std::fabs(v - kIQ4Grid[k]), std::fabs(v - kIQ4Grid[g]) + 1e-4f)
          << v;
  }
}

TEST(SearchKernels, round_to_nearest_rows_agree_on_ties_and_extremes) {
  if (rt::hardwareCpuLevel() == rt::CpuLevel::Portable)
    GTEST_SKIP() << "only the portable kernels exist here";
  // Blocks whose scaled values land exactly on halves (scale 1), whose
  // largest magnitude appears with both signs (the first one decides Q4_0's
  // sign), that are all zero, or hold a single non-zero value.
  const int64_t cols = 128;
  std::vector<float> x(cols, 0.0f);
  for (int i = 0; i < 32; ++i)
    x[i] = (i % 2 ? -1.0f : 1.0f) * (float(i % 16) + 0.5f);
  x[31] = 127.0f;
  for (int i = 32; i < 64; ++i)
    x[i] = float(i % 9) - 4.5f;
  x[40] = 8.0f;
  x[50] = -8.0f;
  x[100] = -3.25f;
  std::vector<float> half(x.begin(), x.end());
  for (float &v : half)
    v *= 0.5f;
  rt::CpuLevel saved = rt::detectCpuLevel();
  for (BlockFormat format : {BlockFormat::Q8_0, BlockFormat::Q4_0})
    for (const std::vector<float> *row : {&x, &half}) {
      std::vector<uint8_t> fast(*rowBytes(format, cols)), portable(fast.size());
      rt::setCpuLevel(rt::hardwareCpuLevel());
      ASSERT_FALSE(bool(quantize(format, *row, 1, cols, fast)));
      rt::setCpuLevel(rt::CpuLevel::Portable);
      ASSERT_FALSE(bool(quantize(format, *row, 1, cols, portable)));
      EXPECT_EQ(fast, portable) << formatInfo(format).name.str();
    }
  rt::setCpuLevel(saved);
}

TEST(SearchKernels, quantized_bytes_do_not_depend_on_the_cpu_level) {
  if (rt::hardwareCpuLevel() == rt::CpuLevel::Portable)
    GTEST_SKIP() << "only the portable kernels exist here";
  const int64_t rows = 6, cols = 512;
  std::vector<float> x = randomValues(rows * cols, 7, 0.02f);
  std::vector<float> importance = randomValues(cols, 8, 1.0f);
  for (float &v : importance)
    v = v * v + 0.05f;
  rt::CpuLevel saved = rt::detectCpuLevel();
  for (BlockFormat format : allBlockFormats()) {
    std::vector<uint8_t> fast(rows * *rowBytes(format, cols));
    std::vector<uint8_t> portable(fast.size());
    for (const float *w : {static_cast<const float *>(nullptr),
                           static_cast<const float *>(importance.data())}) {
      rt::setCpuLevel(rt::hardwareCpuLevel());
      ASSERT_FALSE(bool(quantize(format, x, rows, cols, fast, w)));
      rt::setCpuLevel(rt::CpuLevel::Portable);
      ASSERT_FALSE(bool(quantize(format, x, rows, cols, portable, w)));
      EXPECT_EQ(fast, portable) << formatInfo(format).name.str();
    }
  }
  rt::setCpuLevel(saved);
}

} // namespace
