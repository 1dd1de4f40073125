//===- kernels_bench.cpp - Throughput of the reference kernels --*- C++ -*-===//
//
// Measures matmulTransB and attention on the shapes the tiny Phi models
// produce, next to straightforward references timed in the same run:
//   naive    C[m][n] = sum_k A[m][k] * W[n][k], the textbook triple loop
//            (a serial float reduction, so the compiler cannot vectorize it)
//   autovec  the loop order -O3 vectorizes (C[m][:] += A[m][k] * Wt[k][:],
//            W transposed beforehand), built for the best ISA the CPU has
// The references run on the same worker pool as ours (split over output
// columns), so a ratio measures the kernel, not the thread count, and both
// sides see the same machine noise. Every figure is a median of repeated
// calls; the ratios are what to compare across machines.
//
//===----------------------------------------------------------------------===//

#include "phiq/Runtime/Kernels.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <vector>

using namespace phiq::rt;

namespace {

/// Median seconds per call of fn, sampling for about `budget` seconds (at
/// least 3 calls after one warm-up call).
double medianSeconds(const std::function<void()> &fn, double budget = 0.3) {
  using Clock = std::chrono::steady_clock;
  fn();
  std::vector<double> samples;
  double total = 0;
  while (samples.size() < 3 || (total < budget && samples.size() < 1000)) {
    auto start = Clock::now();
    fn();
    double s = std::chrono::duration<double>(Clock::now() - start).count();
    samples.push_back(s);
    total += s;
  }
  std::nth_element(samples.begin(), samples.begin() + samples.size() / 2,
                   samples.end());
  return samples[samples.size() / 2];
}

std::vector<float> randomFloats(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float &x : v)
    x = dist(rng);
  return v;
}

#if defined(__x86_64__) && defined(__GNUC__)
#define PHIQ_BENCH_CLONES                                                      \
  __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define PHIQ_BENCH_CLONES
#endif

/// Rows [m0, m1) x columns [n0, n1) of C, textbook order.
void naiveMatmul(const float *A, const float *W, float *C, int64_t m0,
                 int64_t m1, int64_t N, int64_t K, int64_t n0, int64_t n1) {
  for (int64_t m = m0; m < m1; ++m)
    for (int64_t n = n0; n < n1; ++n) {
      float s = 0.0f;
      for (int64_t k = 0; k < K; ++k)
        s += A[m * K + k] * W[n * K + k];
      C[m * N + n] = s;
    }
}

/// Rows [m0, m1) x columns [n0, n1) of C, in the order the vectorizer
/// likes.
PHIQ_BENCH_CLONES
void autovecMatmul(const float *A, const float *Wt, float *C, int64_t m0,
                   int64_t m1, int64_t N, int64_t K, int64_t n0, int64_t n1) {
  for (int64_t m = m0; m < m1; ++m) {
    float *__restrict c = C + m * N;
    for (int64_t n = n0; n < n1; ++n)
      c[n] = 0.0f;
    for (int64_t k = 0; k < K; ++k) {
      const float a = A[m * K + k];
      const float *__restrict w = Wt + k * N;
      for (int64_t n = n0; n < n1; ++n)
        c[n] += a * w[n];
    }
  }
}

/// The reference attention, per query and head: scores, max, exp, weighted
/// sum of values. Queries [t0, t1) and heads [h0, h1) only, so a subset can
/// be timed and heads spread over the pool.
void naiveAttention(const float *q, const float *k, const float *v, float *out,
                    int64_t t0, int64_t t1, int64_t pastLen, int64_t heads,
                    int64_t kvHeads, int64_t d, float scale, int64_t h0,
                    int64_t h1) {
  const int64_t group = heads / kvHeads;
  std::vector<float> s(pastLen + t1);
  for (int64_t t = t0; t < t1; ++t) {
    const int64_t i = pastLen + t;
    for (int64_t h = h0; h < h1; ++h) {
      const float *qh = q + t * heads * d + h * d;
      const int64_t kh = h / group;
      float m = -INFINITY;
      for (int64_t j = 0; j <= i; ++j) {
        float dot = 0;
        for (int64_t e = 0; e < d; ++e)
          dot += qh[e] * k[j * kvHeads * d + kh * d + e];
        s[j] = dot * scale;
        m = std::max(m, s[j]);
      }
      float sum = 0;
      for (int64_t j = 0; j <= i; ++j) {
        s[j] = std::exp(s[j] - m);
        sum += s[j];
      }
      float *o = out + t * heads * d + h * d;
      for (int64_t e = 0; e < d; ++e)
        o[e] = 0;
      for (int64_t j = 0; j <= i; ++j)
        for (int64_t e = 0; e < d; ++e)
          o[e] += s[j] * v[j * kvHeads * d + kh * d + e];
      for (int64_t e = 0; e < d; ++e)
        o[e] /= sum;
    }
  }
}

struct Ratio {
  double logSum = 0;
  int count = 0;
  void add(double r) {
    logSum += std::log(r);
    ++count;
  }
  double geomean() const { return count ? std::exp(logSum / count) : 0; }
};

void benchMatmul(Ratio &vsNaive, Ratio &vsAutovec) {
  struct Shape {
    int64_t N, K;
  };
  const Shape shapes[] = {{256, 256},  {384, 256},  {768, 256}, {1536, 256},
                          {3520, 256}, {4032, 256}, {256, 768}};
  const int64_t rowCounts[] = {1, 256, 8192};
  std::printf("\nmatmulTransB  C[M,N] = A[M,K] * W[N,K]^T   (GFLOP/s)\n");
  std::printf("%6s %5s %4s | %8s | %8s %8s | %7s %7s\n", "M", "N", "K", "ours",
              "naive", "autovec", "x naive", "x auto");
  for (const Shape &s : shapes) {
    std::vector<float> W = randomFloats(s.N * s.K, 2);
    std::vector<float> Wt(s.N * s.K);
    for (int64_t n = 0; n < s.N; ++n)
      for (int64_t k = 0; k < s.K; ++k)
        Wt[k * s.N + n] = W[n * s.K + k];
    for (int64_t M : rowCounts) {
      std::vector<float> A = randomFloats(M * s.K, 1);
      std::vector<float> C(M * s.N);
      const double flops = 2.0 * M * s.N * s.K;
      double ours = flops / medianSeconds([&] {
                      matmulTransB(A.data(), s.K, W.data(), nullptr, C.data(),
                                   s.N, M, s.N, s.K);
                    });
      // The references' speed does not depend on M: time a few rows.
      const int64_t refRows =
          std::clamp<int64_t>((int64_t(8) << 20) / (s.N * s.K), 1, M);
      const double refFlops = 2.0 * refRows * s.N * s.K;
      // Rows over the pool when there are enough, else columns.
      const bool byRows = refRows >= 2 * int64_t(numThreads());
      auto split = [&](auto &&loop) {
        if (byRows)
          parallelFor(refRows, 1,
                      [&](int64_t m0, int64_t m1) { loop(m0, m1, 0, s.N); });
        else
          parallelFor(s.N, 64, [&](int64_t n0, int64_t n1) {
            loop(0, refRows, n0, n1);
          });
      };
      double naive =
          refFlops /
          medianSeconds(
              [&] {
                split([&](int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
                  naiveMatmul(A.data(), W.data(), C.data(), m0, m1, s.N, s.K,
                              n0, n1);
                });
              },
              0.1);
      double autovec =
          refFlops /
          medianSeconds(
              [&] {
                split([&](int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
                  autovecMatmul(A.data(), Wt.data(), C.data(), m0, m1, s.N, s.K,
                                n0, n1);
                });
              },
              0.1);
      std::printf("%6lld %5lld %4lld | %8.2f | %8.2f %8.2f | %7.1f %7.1f\n",
                  (long long)M, (long long)s.N, (long long)s.K, ours * 1e-9,
                  naive * 1e-9, autovec * 1e-9, ours / naive, ours / autovec);
      vsNaive.add(ours / naive);
      vsAutovec.add(ours / autovec);
    }
  }
}

void benchAttention(Ratio &vsNaive) {
  struct Case {
    const char *name;
    int64_t tokens, pastLen, heads, kvHeads, d;
  };
  const Case cases[] = {
      {"prefill phi3.5-tiny", 256, 0, 8, 8, 32},
      {"prefill phi4-tiny", 256, 0, 8, 2, 32},
      {"prefill 2048 tok", 2048, 0, 8, 2, 32},
      {"decode at 2047", 1, 2047, 8, 2, 32},
      {"prefill phi3.5 heads", 512, 0, 32, 32, 96},
  };
  std::printf("\nattention  causal, fp32   (GFLOP/s, 4*d flops per visible "
              "query-key pair)\n");
  std::printf("%-22s %6s %5s %6s %4s | %8s | %8s | %7s\n", "case", "tokens",
              "past", "heads", "d", "ours", "naive", "x naive");
  for (const Case &c : cases) {
    const int64_t total = c.pastLen + c.tokens;
    std::vector<float> q = randomFloats(c.tokens * c.heads * c.d, 3);
    std::vector<float> k = randomFloats(total * c.kvHeads * c.d, 4);
    std::vector<float> v = randomFloats(total * c.kvHeads * c.d, 5);
    std::vector<float> out(c.tokens * c.heads * c.d);
    const float scale = 1.0f / std::sqrt(float(c.d));
    auto pairs = [&](int64_t t0, int64_t t1) {
      double n = 0;
      for (int64_t t = t0; t < t1; ++t)
        n += double(c.pastLen + t + 1);
      return n * c.heads;
    };
    double ours =
        4.0 * c.d * pairs(0, c.tokens) / medianSeconds([&] {
          attention(q.data(), c.heads * c.d, k.data(), v.data(),
                    c.kvHeads * c.d, out.data(), c.heads * c.d, c.tokens,
                    c.pastLen, c.heads, c.kvHeads, c.d, scale, INT64_MAX);
        });
    // The reference on the last queries (the most keys) up to a budget.
    int64_t t0 = c.tokens;
    while (t0 > 0 && pairs(t0 - 1, c.tokens) * c.d < 4e6)
      --t0;
    if (t0 == c.tokens)
      --t0;
    double naive =
        4.0 * c.d * pairs(t0, c.tokens) /
        medianSeconds(
            [&] {
              parallelFor(c.heads, 1, [&](int64_t h0, int64_t h1) {
                naiveAttention(q.data(), k.data(), v.data(), out.data(), t0,
                               c.tokens, c.pastLen, c.heads, c.kvHeads, c.d,
                               scale, h0, h1);
              });
            },
            0.1);
    std::printf(
        "%-22s %6lld %5lld %3lld/%-2lld %4lld | %8.2f | %8.2f | %7.1f\n",
        c.name, (long long)c.tokens, (long long)c.pastLen, (long long)c.heads,
        (long long)c.kvHeads, (long long)c.d, ours * 1e-9, naive * 1e-9,
        ours / naive);
    vsNaive.add(ours / naive);
  }
}

} // namespace

int main(int argc, char **argv) {
  bool matmulOnly = false, attentionOnly = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--matmul"))
      matmulOnly = true;
    else if (!std::strcmp(argv[i], "--attention"))
      attentionOnly = true;
    else {
      std::fprintf(stderr,
                   "usage: %s [--matmul | --attention]\n"
                   "  PHIQ_CPU=portable|avx2|avx512 and PHIQ_NUM_THREADS=n "
                   "choose the kernels' ISA and threads.\n",
                   argv[0]);
      return 2;
    }
  }
  std::printf("phiq-bench-kernels: ISA %s (hardware %s), %u threads for "
              "ours and the references\n",
              cpuLevelName(detectCpuLevel()), cpuLevelName(hardwareCpuLevel()),
              numThreads());
  Ratio mmNaive, mmAuto, attNaive;
  if (!attentionOnly)
    benchMatmul(mmNaive, mmAuto);
  if (!matmulOnly)
    benchAttention(attNaive);
  std::printf("\ngeometric-mean speedup:");
  if (!attentionOnly)
    std::printf(" matmul x%.1f vs naive, x%.1f vs autovec;", mmNaive.geomean(),
                mmAuto.geomean());
  if (!matmulOnly)
    std::printf(" attention x%.1f vs naive", attNaive.geomean());
  std::printf("\n");
  return 0;
}
