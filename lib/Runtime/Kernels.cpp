//===- Kernels.cpp - Public kernels: dispatch and threading -----*- C++ -*-===//
//
// The entry points of Kernels.h. Each picks the KernelTable of the active
// CPU level and decides how to cut its work into pieces for the worker pool
// (GEMM tiles, attention blocks, row ranges); the per-ISA translation units
// do the arithmetic on each piece. This file is compiled for the baseline
// target, so it runs anywhere.
//
//===----------------------------------------------------------------------===//

#include "KernelTable.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <numeric>

namespace phiq::rt {
namespace {

const KernelTable &activeTable() {
  switch (detectCpuLevel()) {
#if defined(__x86_64__) || defined(_M_X64)
  case CpuLevel::AVX512:
    return avx512KernelTable();
  case CpuLevel::AVX2:
    return avx2KernelTable();
#endif
  default:
    return portableKernelTable();
  }
}

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t roundUp(int64_t a, int64_t b) { return ceilDiv(a, b) * b; }

/// Cap on one packed copy of W (floats): 16 MiB, a share of L3 on the
/// machines we run on. Wider matrices are packed and multiplied in column
/// chunks.
constexpr int64_t kMaxPackFloats = int64_t(4) << 20;
/// Target rows and columns of one GEMM work unit: the A rows (kRowsPerUnit x
/// K) stay in L2 while the unit's packed panels stream through L1.
constexpr int64_t kRowsPerUnit = 96;
constexpr int64_t kColsPerUnit = 512;
/// Below this many multiply-adds a GEMM runs on the calling thread: waking
/// the pool costs more than it saves.
constexpr int64_t kSerialMacs = int64_t(1) << 17;

/// Balanced column split for the packed path: returns panels per unit.
int64_t panelsPerUnit(int64_t panels, int64_t nr, int64_t mBlocks,
                      unsigned threads) {
  int64_t perUnit = std::max<int64_t>(1, kColsPerUnit / nr);
  const int64_t wanted = int64_t(threads) * 4;
  while (perUnit > 1 && mBlocks * ceilDiv(panels, perUnit) < wanted)
    perUnit = ceilDiv(perUnit, 2);
  return std::min(perUnit, panels);
}

} // namespace

int64_t gemmBlockK(int64_t K, int64_t kcMax) {
  const int64_t blocks = ceilDiv(K, kcMax);
  return ceilDiv(K, blocks);
}

float *threadScratch(ScratchSlot slot, int64_t floats) {
  struct Buffers {
    float *data[kNumScratchSlots] = {};
    int64_t capacity[kNumScratchSlots] = {};
    ~Buffers() {
      for (float *p : data)
        std::free(p);
    }
  };
  thread_local Buffers buffers;
  if (floats < 1)
    floats = 1;
  if (buffers.capacity[slot] < floats) {
    // Grow by half again so a slowly growing KV cache does not reallocate
    // on every call; whole cache lines, as aligned_alloc requires.
    int64_t want = std::max(floats, buffers.capacity[slot] * 3 / 2);
    want = roundUp(want, 16);
    std::free(buffers.data[slot]);
    buffers.data[slot] = static_cast<float *>(
        std::aligned_alloc(64, static_cast<size_t>(want) * sizeof(float)));
    if (!buffers.data[slot]) {
      std::fprintf(stderr, "phiq: out of memory for %lld kernel floats\n",
                   static_cast<long long>(want));
      std::abort();
    }
    buffers.capacity[slot] = want;
  }
  return buffers.data[slot];
}

// The GEMM. Few rows (decode): dot products straight from W, split over W's
// rows. Otherwise, per column chunk: pack W into panels (in parallel), then
// compute units of kRowsPerUnit rows x kColsPerUnit columns, claimed
// dynamically by the pool; each unit walks the K blocks itself, so a tile of
// C is finished by one thread.
void matmulTransB(const float *A, int64_t lda, const float *W,
                  const float *bias, float *C, int64_t ldc, int64_t M,
                  int64_t N, int64_t K) {
  if (M <= 0 || N <= 0)
    return;
  if (K <= 0) {
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n)
        C[m * ldc + n] = bias ? bias[n] : 0.0f;
    return;
  }
  const KernelTable &t = activeTable();
  const GemmProblem p{A, lda, W, K, true, bias, C, ldc, M, N, K};
  const bool serial = M * N * K < kSerialMacs;

  if (M <= t.smallM) {
    // Each piece streams at least ~64 KiB of W.
    const int64_t grain = serial ? N : std::max<int64_t>(8, 16384 / K);
    parallelFor(N, grain,
                [&](int64_t n0, int64_t n1) { t.gemmSmallM(p, 0, M, n0, n1); });
    return;
  }

  const int64_t nr = t.nr;
  const int64_t kc = gemmBlockK(K, t.kcMax);
  const int64_t chunkCols =
      std::max(nr, std::min(roundUp(N, nr), kMaxPackFloats / K / nr * nr));
  float *packed = threadScratch(kScratchMatmulPack,
                                std::min(roundUp(N, nr), chunkCols) * K);
  const unsigned threads = serial ? 1 : numThreads();
  const int64_t mc = std::min(
      roundUp(M, t.mr), std::max<int64_t>(t.mr, kRowsPerUnit / t.mr * t.mr));
  const int64_t mBlocks = ceilDiv(M, mc);

  for (int64_t nBase = 0; nBase < N; nBase += chunkCols) {
    const int64_t panels = ceilDiv(std::min(chunkCols, N - nBase), nr);
    const int64_t nPad = panels * nr;
    auto pack = [&](int64_t p0, int64_t p1) {
      for (int64_t k0 = 0; k0 < K; k0 += kc)
        t.packPanels(p, nBase, k0, std::min(kc, K - k0), p0, p1,
                     packed + k0 * nPad);
    };
    if (serial)
      pack(0, panels);
    else
      parallelFor(panels, std::max<int64_t>(1, 8192 / (nr * K)), pack);

    const int64_t perUnit = panelsPerUnit(panels, nr, mBlocks, threads);
    const int64_t nGroups = ceilDiv(panels, perUnit);
    auto compute = [&](int64_t u0, int64_t u1) {
      for (int64_t u = u0; u < u1; ++u) {
        const int64_t m0 = (u / nGroups) * mc;
        const int64_t p0 = (u % nGroups) * perUnit;
        const int64_t m1 = std::min(M, m0 + mc);
        const int64_t p1 = std::min(panels, p0 + perUnit);
        for (int64_t k0 = 0; k0 < K; k0 += kc)
          t.computePanels(p, packed + k0 * nPad, nBase, k0,
                          std::min(kc, K - k0), m0, m1, p0, p1);
      }
    };
    if (serial)
      compute(0, mBlocks * nGroups);
    else
      parallelFor(mBlocks * nGroups, 1, compute);
  }
}

void rmsNorm(const float *x, const float *w, float *y, int64_t rows,
             int64_t dim, float eps) {
  if (rows <= 0 || dim <= 0)
    return;
  const KernelTable &t = activeTable();
  parallelFor(rows, std::max<int64_t>(1, 16384 / dim),
              [&](int64_t r0, int64_t r1) {
                t.rmsNormRows(x + r0 * dim, w, y + r0 * dim, r1 - r0, dim, eps);
              });
}

void layerNorm(const float *x, const float *w, const float *b, float *y,
               int64_t rows, int64_t dim, float eps) {
  if (rows <= 0 || dim <= 0)
    return;
  const KernelTable &t = activeTable();
  parallelFor(
      rows, std::max<int64_t>(1, 16384 / dim), [&](int64_t r0, int64_t r1) {
        t.layerNormRows(x + r0 * dim, w, b, y + r0 * dim, r1 - r0, dim, eps);
      });
}

void siluGate(const float *in, float *out, int64_t rows, int64_t inter) {
  if (rows <= 0 || inter <= 0)
    return;
  const KernelTable &t = activeTable();
  parallelFor(
      rows, std::max<int64_t>(1, 8192 / inter), [&](int64_t r0, int64_t r1) {
        t.siluGateRows(in + r0 * 2 * inter, out + r0 * inter, r1 - r0, inter);
      });
}

void add(const float *a, const float *b, float *out, int64_t n) {
  if (n <= 0)
    return;
  const KernelTable &t = activeTable();
  parallelFor(n, 32768, [&](int64_t i0, int64_t i1) {
    t.addRange(a + i0, b + i0, out + i0, i1 - i0);
  });
}

void expElementwise(const float *in, float *out, int64_t n) {
  if (n <= 0)
    return;
  const KernelTable &t = activeTable();
  parallelFor(n, 16384, [&](int64_t i0, int64_t i1) {
    t.expRange(in + i0, out + i0, i1 - i0);
  });
}

void applyRotary(float *x, int64_t ld, int64_t tokens, int64_t numHeads,
                 int64_t headDim, int64_t rotaryDim, const float *invFreq,
                 float cosSinScale, int64_t firstPos) {
  if (tokens <= 0 || numHeads <= 0 || rotaryDim < 2)
    return;
  const KernelTable &t = activeTable();
  // A token costs rotaryDim cos/sin evaluations plus numHeads*rotaryDim
  // multiply-adds.
  const int64_t perToken = rotaryDim * (8 + numHeads);
  parallelFor(tokens, std::max<int64_t>(1, 8192 / perToken),
              [&](int64_t t0, int64_t t1) {
                t.rotaryRows(x, ld, t0, t1, numHeads, headDim, rotaryDim,
                             invFreq, cosSinScale, firstPos);
              });
}

// Work units are (kv head, block of queries). A block's query count is
// chosen so its score matrix, (heads per kv head * queries) x visible keys,
// stays near 256 KiB (L2), rounded so the gathered rows fill whole GEMM
// tiles, then halved while there are too few units to keep every thread
// busy. When several blocks share a kv head, its keys are packed once up
// front instead of once per block. Later query blocks see more keys, so
// units are handed out last block first.
void attention(const float *q, int64_t ldq, const float *k, const float *v,
               int64_t ldkv, float *out, int64_t ldo, int64_t tokens,
               int64_t pastLen, int64_t numHeads, int64_t numKvHeads,
               int64_t headDim, float scale, int64_t slidingWindow) {
  if (tokens <= 0 || numHeads <= 0 || numKvHeads <= 0 || headDim <= 0)
    return;
  const KernelTable &t = activeTable();
  const int64_t group = numHeads / numKvHeads;
  const int64_t totalKeys = pastLen + tokens;
  const int64_t window =
      std::max<int64_t>(1, std::min(slidingWindow, totalKeys));
  const int64_t step = t.mr / std::gcd<int64_t>(group, t.mr);
  int64_t qb = 65536 / (group * std::min(totalKeys, window + 64));
  qb = std::clamp<int64_t>(qb / step * step, step, 64);
  const int64_t wanted = int64_t(numThreads()) * 4;
  while (qb >= 2 * std::max<int64_t>(step, 8) &&
         numKvHeads * ceilDiv(tokens, qb) < wanted)
    qb = std::max(step, qb / 2 / step * step);
  qb = std::min(qb, tokens);
  const int64_t blocks = ceilDiv(tokens, qb);

  AttentionProblem a{q,       ldq,           k,          v,
                     ldkv,    out,           ldo,        tokens,
                     pastLen, numHeads,      numKvHeads, headDim,
                     scale,   slidingWindow, nullptr,    0};
  if (blocks > 1 && group * qb > t.smallM && headDim <= t.kcMax) {
    const int64_t panels = ceilDiv(totalKeys, t.nr);
    a.packedKeysStride = panels * t.nr * headDim;
    float *packed =
        threadScratch(kScratchAttnKeys, numKvHeads * a.packedKeysStride);
    parallelFor(
        numKvHeads * panels, std::max<int64_t>(1, 4096 / (t.nr * headDim)),
        [&](int64_t i0, int64_t i1) {
          for (int64_t i = i0; i < i1;) {
            const int64_t h = i / panels, p0 = i % panels;
            const int64_t p1 = std::min(panels, p0 + (i1 - i));
            const GemmProblem keys{nullptr, 0,         k + h * headDim, ldkv,
                                   true,    nullptr,   nullptr,         0,
                                   0,       totalKeys, headDim};
            t.packPanels(keys, 0, 0, headDim, p0, p1,
                         packed + h * a.packedKeysStride);
            i += p1 - p0;
          }
        });
    a.packedKeys = packed;
  }
  parallelFor(numKvHeads * blocks, 1, [&](int64_t u0, int64_t u1) {
    for (int64_t u = u0; u < u1; ++u) {
      const int64_t block = blocks - 1 - u / numKvHeads;
      const int64_t t0 = block * qb;
      t.attentionBlock(a, u % numKvHeads, t0, std::min(tokens, t0 + qb));
    }
  });
}

float logSumExp(const float *logits, int64_t n) {
  return activeTable().logSumExp(logits, n);
}

} // namespace phiq::rt
