//===- KernelTable.h - Per-ISA kernel entry points --------------*- C++ -*-===//
//
// The public kernels in Kernels.cpp decide how to split work over threads;
// the arithmetic itself lives in one translation unit per instruction set
// (KernelsPortable.cpp, KernelsAVX2.cpp, KernelsAVX512.cpp), each compiled
// with its own -m flags. This header is the narrow, flag-neutral interface
// between the two sides: plain structs and a table of function pointers, so
// no inline code compiled for one ISA can leak into another.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_LIB_RUNTIME_KERNELTABLE_H
#define PHIQ_LIB_RUNTIME_KERNELTABLE_H

#include "phiq/Runtime/Kernels.h"

#include <stddef.h>
#include <stdint.h>

namespace phiq::rt {

/// C[M,N] = A[M,K] * B (+ bias[N]), where B is given either as W[N,K]
/// (`bTransposed`, the nn.Linear weight layout, row stride ldb) or as
/// B[K,N] (row stride ldb).
struct GemmProblem {
  const float *A;
  int64_t lda;
  const float *B;
  int64_t ldb;
  bool bTransposed;
  const float *bias;
  float *C;
  int64_t ldc;
  int64_t M, N, K;
};

/// One attention call, as passed to phiq::rt::attention.
struct AttentionProblem {
  const float *q;
  int64_t ldq;
  const float *k;
  const float *v;
  int64_t ldkv;
  float *out;
  int64_t ldo;
  int64_t tokens, pastLen, numHeads, numKvHeads, headDim;
  float scale;
  int64_t slidingWindow;
  /// Optional: every kv head's keys packed once for the whole call as GEMM
  /// panels over positions [0, pastLen + tokens) (K block = all of headDim),
  /// kv head h at packedKeys + h * packedKeysStride. Null: each block packs
  /// the keys it needs itself.
  const float *packedKeys;
  int64_t packedKeysStride;
};

/// Entry points of one instruction set. All of them are serial; Kernels.cpp
/// calls them from the worker pool on disjoint pieces of the output.
///
/// Packed GEMM layout: for the K block starting at k0 (kc = its length) and a
/// group of columns starting at nBase padded to nPad (a multiple of nr), the
/// block occupies kc * nPad floats at packed + k0 * nPad; inside it, panel p
/// (columns nBase + p*nr ...) is kc rows of nr floats, zero-padded past N.
struct KernelTable {
  CpuLevel level;
  /// Micro-tile: mr rows of C by nr columns.
  int mr, nr;
  /// Largest K block a packed panel holds (sized so one panel stays in L1).
  int64_t kcMax;
  /// matmulTransB uses the unpacked dot-product path up to this many rows.
  int64_t smallM;

  /// Packs panels [panel0, panel1) of the K block [k0, k0 + kc) for columns
  /// starting at nBase into `block` (= packed + k0 * nPad).
  void (*packPanels)(const GemmProblem &p, int64_t nBase, int64_t k0,
                     int64_t kc, int64_t panel0, int64_t panel1, float *block);
  /// Computes rows [m0, m1) x panels [panel0, panel1) of C for the K block
  /// [k0, k0 + kc) from `block`; the block k0 == 0 stores (+ bias), later
  /// blocks accumulate.
  void (*computePanels)(const GemmProblem &p, const float *block, int64_t nBase,
                        int64_t k0, int64_t kc, int64_t m0, int64_t m1,
                        int64_t panel0, int64_t panel1);
  /// Rows [m0, m1) x columns [n0, n1) of C without packing (few rows).
  void (*gemmSmallM)(const GemmProblem &p, int64_t m0, int64_t m1, int64_t n0,
                     int64_t n1);

  void (*rmsNormRows)(const float *x, const float *w, float *y, int64_t rows,
                      int64_t dim, float eps);
  void (*layerNormRows)(const float *x, const float *w, const float *b,
                        float *y, int64_t rows, int64_t dim, float eps);
  void (*siluGateRows)(const float *in, float *out, int64_t rows,
                       int64_t inter);
  void (*addRange)(const float *a, const float *b, float *out, int64_t n);
  void (*expRange)(const float *in, float *out, int64_t n);
  /// Rotates tokens [t0, t1) of an applyRotary call.
  void (*rotaryRows)(float *x, int64_t ld, int64_t t0, int64_t t1,
                     int64_t numHeads, int64_t headDim, int64_t rotaryDim,
                     const float *invFreq, float cosSinScale, int64_t firstPos);
  /// Attention for the query heads of kv head `kvHead` and queries [t0, t1).
  void (*attentionBlock)(const AttentionProblem &a, int64_t kvHead, int64_t t0,
                         int64_t t1);
  float (*logSumExp)(const float *x, int64_t n);
};

/// The K block length for K under a cap of kcMax: K split into
/// ceil(K / kcMax) near-equal blocks, so no block is a short remainder.
int64_t gemmBlockK(int64_t K, int64_t kcMax);

const KernelTable &portableKernelTable();
#if defined(__x86_64__) || defined(_M_X64)
const KernelTable &avx2KernelTable();
const KernelTable &avx512KernelTable();
#endif

/// Per-thread scratch buffers, 64-byte aligned, grown on demand and kept for
/// the thread's lifetime (the executor calls kernels thousands of times a
/// second; allocating each time would show). A slot is one live buffer: a
/// kernel must not ask for the same slot twice while still using the first.
enum ScratchSlot : unsigned {
  kScratchMatmulPack,
  kScratchAttnQuery,
  kScratchAttnScores,
  kScratchAttnOut,
  kScratchAttnPack,
  kScratchAttnSums,
  kScratchAttnKeys,
  kScratchRotary,
  kNumScratchSlots
};
float *threadScratch(ScratchSlot slot, int64_t floats);

} // namespace phiq::rt

#endif // PHIQ_LIB_RUNTIME_KERNELTABLE_H
