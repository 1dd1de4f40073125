//===- AttentionTest.cpp - Causal GQA attention tests -----------*- C++ -*-===//
//
// attention() against softmax(scale * q.k) . v computed per query in double
// over exactly the keys the mask admits: causal, grouped-query (1 and 4
// query heads per kv head), sliding windows, a KV cache with earlier
// positions (pastLen > 0), odd head sizes and row strides wider than rows.
//
//===----------------------------------------------------------------------===//

#include "KernelTestSupport.h"

#include <algorithm>
#include <cmath>

namespace phiq::rt::test {
namespace {

struct AttentionCase {
  int64_t tokens, pastLen, numHeads, numKvHeads, headDim;
  int64_t window = INT64_MAX;
  int64_t qPad = 0, kvPad = 0, oPad = 0;
  float valueScale = 1.0f; ///< multiplies q and k: large scores
};

void checkAttention(const AttentionCase &c, unsigned seed) {
  SCOPED_TRACE(::testing::Message()
               << "tokens=" << c.tokens << " past=" << c.pastLen
               << " heads=" << c.numHeads << "/" << c.numKvHeads
               << " d=" << c.headDim << " window=" << c.window);
  const int64_t d = c.headDim, total = c.pastLen + c.tokens;
  const int64_t ldq = c.numHeads * d + c.qPad;
  const int64_t ldkv = c.numKvHeads * d + c.kvPad;
  const int64_t ldo = c.numHeads * d + c.oPad;
  std::vector<float> q =
      randomFloats(c.tokens * ldq, seed, -c.valueScale, c.valueScale);
  std::vector<float> k =
      randomFloats(total * ldkv, seed + 1, -c.valueScale, c.valueScale);
  std::vector<float> v = randomFloats(total * ldkv, seed + 2);
  const float sentinel = -777.0f;
  std::vector<float> out(c.tokens * ldo, sentinel);
  const float scale = 1.0f / std::sqrt(float(d));
  attention(q.data(), ldq, k.data(), v.data(), ldkv, out.data(), ldo, c.tokens,
            c.pastLen, c.numHeads, c.numKvHeads, d, scale, c.window);

  // Scores carry fp32 rounding relative to their size, and softmax turns an
  // absolute score error into a relative weight error: the bound grows with
  // the scores' scale.
  const double tol = 2e-6 * std::max(1.0f, c.valueScale * c.valueScale);
  const int64_t group = c.numHeads / c.numKvHeads;
  std::vector<double> scores(total), acc(d);
  for (int64_t t = 0; t < c.tokens; ++t) {
    const int64_t i = c.pastLen + t;
    const int64_t lo = c.window <= i ? i - c.window + 1 : 0;
    for (int64_t h = 0; h < c.numHeads; ++h) {
      const int64_t kh = h / group;
      double m = -INFINITY;
      for (int64_t j = lo; j <= i; ++j) {
        double s = 0;
        for (int64_t e = 0; e < d; ++e)
          s += double(q[t * ldq + h * d + e]) * k[j * ldkv + kh * d + e];
        scores[j] = s * scale;
        m = std::max(m, scores[j]);
      }
      double sum = 0;
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t j = lo; j <= i; ++j) {
        const double p = std::exp(scores[j] - m);
        sum += p;
        for (int64_t e = 0; e < d; ++e)
          acc[e] += p * v[j * ldkv + kh * d + e];
      }
      for (int64_t e = 0; e < d; ++e)
        ASSERT_NEAR(out[t * ldo + h * d + e], acc[e] / sum, tol)
            << "t=" << t << " h=" << h << " e=" << e;
    }
    for (int64_t e = c.numHeads * d; e < ldo; ++e)
      ASSERT_EQ(out[t * ldo + e], sentinel) << "output padding written";
  }
}

class Attention : public AtCpuLevel {};

TEST_P(Attention, CausalPrefillMatchesReference) {
  checkAttention({5, 0, 2, 2, 8}, 1);
  checkAttention({70, 0, 3, 3, 13}, 2);
}

TEST_P(Attention, GroupedQueryHeadsShareTheirKvHead) {
  checkAttention({17, 0, 8, 2, 32}, 3);
  checkAttention({33, 0, 4, 1, 24}, 4);
}

TEST_P(Attention, DecodeAgainstKvCacheMatchesReference) {
  checkAttention({1, 40, 8, 2, 32}, 5);
  checkAttention({1, 700, 8, 8, 32}, 6);
}

TEST_P(Attention, ChunkAfterPastTokensSeesTheWholeCache) {
  checkAttention({9, 23, 4, 4, 20}, 7);
}

TEST_P(Attention, SlidingWindowHidesOldKeys) {
  checkAttention({9, 23, 4, 1, 20, 7}, 8);
  checkAttention({150, 0, 2, 2, 16, 64}, 9);
  checkAttention({1, 50, 2, 1, 16, 1}, 10);
}

TEST_P(Attention, RowStridesWiderThanRowsAreHonoured) {
  checkAttention({11, 5, 4, 2, 12, 9, 7, 3, 5}, 11);
}

TEST_P(Attention, LongPrefillSpansManyQueryBlocks) {
  checkAttention({600, 0, 2, 2, 16}, 12);
}

TEST_P(Attention, HeadsWiderThanOneKBlockMatchReference) {
  checkAttention({40, 3, 2, 1, 300}, 14);
}

TEST_P(Attention, SoftmaxIsStableForLargeScores) {
  // Scores of several hundred: exp without the max shift would overflow.
  AttentionCase c{20, 4, 2, 2, 16};
  c.valueScale = 12.0f;
  checkAttention(c, 13);
}

PHIQ_INSTANTIATE_AT_EVERY_CPU_LEVEL(Attention);

} // namespace
} // namespace phiq::rt::test
