//===- Kernels.h - fp32 compute kernels of the reference executor -*- C++ -*-===//
//
// The numeric building blocks the reference executor runs a `phi` module
// with: plain functions over row-major fp32 buffers, no MLIR types. Each one
// picks its vector width from the CPU features found at run time (AVX-512,
// AVX2+FMA, or portable code) and spreads rows over the worker pool.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_RUNTIME_KERNELS_H
#define PHIQ_RUNTIME_KERNELS_H

#include <cstdint>
#include <functional>

namespace phiq::rt {

/// The instruction set the kernels dispatch to on this CPU.
enum class CpuLevel { Portable, AVX2, AVX512 };
/// The level in use: the best the CPU supports, lowered by PHIQ_CPU
/// (portable|avx2|avx512) or by setCpuLevel.
CpuLevel detectCpuLevel();
const char *cpuLevelName(CpuLevel level);
/// The best level this CPU supports, ignoring PHIQ_CPU and setCpuLevel.
CpuLevel hardwareCpuLevel();
/// Makes the kernels dispatch to `level`, clamped to hardwareCpuLevel();
/// returns the level now in use. For tests and benchmarks that compare
/// levels; not meant to be called while kernels run on other threads.
CpuLevel setCpuLevel(CpuLevel level);

/// Number of worker threads (hardware concurrency unless PHIQ_NUM_THREADS
/// is set).
unsigned numThreads();

/// Runs fn(begin, end) over [0, n) split into contiguous chunks on the worker
/// pool, at least `grain` items per chunk; returns when all are done.
void parallelFor(int64_t n, int64_t grain,
                 const std::function<void(int64_t, int64_t)> &fn);

/// C[M,N] = A[M,K] * W[N,K]^T (+ bias[N] if non-null).
/// W is in the [out_features, in_features] layout checkpoints store.
/// lda/ldc are row strides of A and C (>= K and >= N).
void matmulTransB(const float *A, int64_t lda, const float *W,
                  const float *bias, float *C, int64_t ldc, int64_t M,
                  int64_t N, int64_t K);

/// y = x / sqrt(mean(x^2) + eps) * w, per row of `dim` elements.
void rmsNorm(const float *x, const float *w, float *y, int64_t rows,
             int64_t dim, float eps);

/// y = (x - mean) / sqrt(var + eps) * w + b, per row (b may be null).
void layerNorm(const float *x, const float *w, const float *b, float *y,
               int64_t rows, int64_t dim, float eps);

/// out[r, i] = silu(in[r, i]) * in[r, inter + i] for i < inter, where each
/// input row is [gate(inter) | up(inter)] (Phi-3's fused gate_up_proj).
void siluGate(const float *in, float *out, int64_t rows, int64_t inter);

/// out = a + b, elementwise.
void add(const float *a, const float *b, float *out, int64_t n);

/// Rotates the first `rotaryDim` features of every head in place, the
/// "rotate_half" convention of transformers (pairs i and i + rotaryDim/2):
///   x'[i]     = x[i] * cos - x[i+h] * sin
///   x'[i+h]   = x[i+h] * cos + x[i] * sin
/// with angle = pos * invFreq[i], cos/sin scaled by `cosSinScale` (longrope's
/// attention factor). Features past rotaryDim are left alone.
/// x holds `tokens` rows of `numHeads * headDim` floats, row stride `ld`;
/// row t has position firstPos + t.
void applyRotary(float *x, int64_t ld, int64_t tokens, int64_t numHeads,
                 int64_t headDim, int64_t rotaryDim, const float *invFreq,
                 float cosSinScale, int64_t firstPos);

/// Causal grouped-query attention for one sequence.
///   q:   [tokens, numHeads * headDim], row stride ldq; query t sits at
///        position pastLen + t.
///   k,v: [pastLen + tokens, numKvHeads * headDim], row stride ldkv (the KV
///        cache, already holding this call's keys/values at the end).
///   out: [tokens, numHeads * headDim], row stride ldo.
/// Query head h reads kv head h / (numHeads / numKvHeads). Scores are
/// scale * q.k; a key at position j is visible to the query at position i
/// when j <= i and i - j < slidingWindow (pass INT64_MAX for none).
void attention(const float *q, int64_t ldq, const float *k, const float *v,
               int64_t ldkv, float *out, int64_t ldo, int64_t tokens,
               int64_t pastLen, int64_t numHeads, int64_t numKvHeads,
               int64_t headDim, float scale, int64_t slidingWindow);

/// In-place log-softmax statistics: returns logsumexp of `n` logits.
float logSumExp(const float *logits, int64_t n);

/// out[i] = exp(in[i]) to within 1 ulp (in == out allowed); the same exp the
/// softmax and SiLU kernels use.
void expElementwise(const float *in, float *out, int64_t n);

} // namespace phiq::rt

#endif // PHIQ_RUNTIME_KERNELS_H
