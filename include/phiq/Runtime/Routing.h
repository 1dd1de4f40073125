//===- Routing.h - Mixture-of-experts routing rules -------------*- C++ -*-===//
//
// The two ways a PhiMoE router's logits become expert choices: sparsemixer
// (the checkpoint's own rule, as transformers runs it at inference) and
// softmax-top-k (llama.cpp's). Plain functions over fp32 rows.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_RUNTIME_ROUTING_H
#define PHIQ_RUNTIME_ROUTING_H

#include <cstdint>

namespace phiq::rt {

/// sparsemixer, eval mode, top-2. For each row of `numExperts` logits s:
///   e1 = argmax s,  w1 = softmax over {j : (s[e1]-s[j]) / max(|s[j]|, s[e1])
///                                           <= 2 eps} evaluated at e1
///   e2 = argmax of s without e1, w2 likewise with s[e2] as the reference
///        and e1 left out.
/// Writes indices [rows, 2] (e1, e2) and weights [rows, 2] (w1, w2).
void routeSparseMixer(const float *logits, int64_t rows, int64_t numExperts,
                      double jitterEps, float *weights, int32_t *indices);

/// softmax over all logits, the topK most probable (first index wins ties),
/// their probabilities renormalized to sum to one if `normalize`.
void routeSoftmaxTopK(const float *logits, int64_t rows, int64_t numExperts,
                      int64_t topK, bool normalize, float *weights,
                      int32_t *indices);

} // namespace phiq::rt

#endif // PHIQ_RUNTIME_ROUTING_H
