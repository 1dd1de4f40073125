//===- Routing.cpp - Mixture-of-experts routing rules -----------*- C++ -*-===//
//
// sparsemixer follows transformers' PhimoeForCausalLM in eval mode operation
// by operation, in fp32 (threshold 2 * eps rounded to fp32 as torch compares
// an fp32 tensor with a Python float), so that expert choices and weights
// agree bit for bit in all but tie cases.
//
//===----------------------------------------------------------------------===//
#include "phiq/Runtime/Routing.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

using namespace phiq::rt;

namespace {

/// First index of the largest value, skipping `skip` (torch.max's choice).
int32_t argmax(const float *s, int64_t n, int64_t skip) {
  int32_t best = -1;
  for (int64_t j = 0; j < n; ++j)
    if (j != skip && (best < 0 || s[j] > s[best]))
      best = int32_t(j);
  return best;
}

/// softmax(s masked to the logits close to s[ref]) evaluated at ref, with
/// index `skip` excluded as if it were -inf.
float maskedSoftmaxAt(const float *s, int64_t n, int32_t ref, int64_t skip,
                      float threshold) {
  const float top = s[ref];
  // Entries kept by the mask; the reference itself always is.
  float maxKept = -std::numeric_limits<float>::infinity();
  std::vector<char> kept(static_cast<size_t>(n), 0);
  for (int64_t j = 0; j < n; ++j) {
    if (j == skip)
      continue;
    float factor = std::max(std::fabs(s[j]), top);
    kept[j] = !((top - s[j]) / factor > threshold);
    if (kept[j])
      maxKept = std::max(maxKept, s[j]);
  }
  float sum = 0;
  for (int64_t j = 0; j < n; ++j)
    if (kept[j])
      sum += std::exp(s[j] - maxKept);
  return std::exp(s[ref] - maxKept) / sum;
}

} // namespace

void phiq::rt::routeSparseMixer(const float *logits, int64_t rows,
                                int64_t numExperts, double jitterEps,
                                float *weights, int32_t *indices) {
  const float threshold = float(2.0 * jitterEps);
  for (int64_t r = 0; r < rows; ++r) {
    const float *s = logits + r * numExperts;
    int32_t first = argmax(s, numExperts, -1);
    int32_t second = argmax(s, numExperts, first);
    indices[2 * r] = first;
    indices[2 * r + 1] = second;
    weights[2 * r] = maskedSoftmaxAt(s, numExperts, first, -1, threshold);
    weights[2 * r + 1] =
        second < 0 ? 0.0f
                   : maskedSoftmaxAt(s, numExperts, second, first, threshold);
  }
}

void phiq::rt::routeSoftmaxTopK(const float *logits, int64_t rows,
                                int64_t numExperts, int64_t topK,
                                bool normalize, float *weights,
                                int32_t *indices) {
  std::vector<float> probs(static_cast<size_t>(numExperts));
  std::vector<int32_t> order(static_cast<size_t>(numExperts));
  for (int64_t r = 0; r < rows; ++r) {
    const float *s = logits + r * numExperts;
    float top = *std::max_element(s, s + numExperts), sum = 0;
    for (int64_t j = 0; j < numExperts; ++j)
      sum += probs[j] = std::exp(s[j] - top);
    for (float &p : probs)
      p /= sum;
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int32_t a, int32_t b) { return probs[a] > probs[b]; });
    float chosen = 0;
    for (int64_t k = 0; k < topK; ++k)
      chosen += probs[order[k]];
    for (int64_t k = 0; k < topK; ++k) {
      indices[r * topK + k] = order[k];
      weights[r * topK + k] =
          normalize ? probs[order[k]] / chosen : probs[order[k]];
    }
  }
}
