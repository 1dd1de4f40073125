//===- Sampler.cpp - Next-token selection -----------------------*- C++ -*-===//
//
// Greedy argmax, or temperature sampling restricted by top-k and top-p, with
// a seeded generator of our own (splitmix64) so that a seed gives the same
// text on every platform and standard library.
//
//===----------------------------------------------------------------------===//
#include "phiq/Runtime/Generate.h"

#include <algorithm>
#include <cmath>
#include <numeric>

using namespace phiq::rt;

Sampler::Sampler(SamplingOptions options)
    : options(options), state(options.seed) {}

double Sampler::uniform() {
  // splitmix64, 53 random bits -> [0, 1).
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return double(z >> 11) * 0x1.0p-53;
}

int32_t Sampler::sample(llvm::ArrayRef<float> logits) {
  // Argmax takes the first maximum, as torch.argmax does.
  if (options.temperature <= 0)
    return int32_t(std::max_element(logits.begin(), logits.end()) -
                   logits.begin());
  std::vector<int32_t> order(logits.size());
  std::iota(order.begin(), order.end(), 0);
  auto byLogit = [&](int32_t a, int32_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  };
  size_t keep = order.size();
  if (options.topK > 0 && size_t(options.topK) < keep) {
    keep = size_t(options.topK);
    std::partial_sort(order.begin(), order.begin() + keep, order.end(),
                      byLogit);
  } else {
    std::sort(order.begin(), order.end(), byLogit);
  }
  order.resize(keep);
  std::vector<double> probs(keep);
  double maxLogit = logits[order[0]], sum = 0;
  for (size_t i = 0; i < keep; ++i)
    sum += probs[i] =
        std::exp((double(logits[order[i]]) - maxLogit) / options.temperature);
  // Top-p: the shortest prefix whose mass reaches p.
  double cumulative = 0;
  size_t cut = keep;
  for (size_t i = 0; i < keep; ++i) {
    cumulative += probs[i] / sum;
    if (cumulative >= options.topP) {
      cut = i + 1;
      break;
    }
  }
  double mass = 0;
  for (size_t i = 0; i < cut; ++i)
    mass += probs[i];
  double r = uniform() * mass;
  for (size_t i = 0; i < cut; ++i) {
    r -= probs[i];
    if (r < 0)
      return order[i];
  }
  return order[cut - 1];
}
