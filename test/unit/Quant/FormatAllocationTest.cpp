//===- FormatAllocationTest.cpp - The mixed-precision knapsack -----------===//
//
// allocateFormats against brute force over every combination on small
// random cases (exact when the budget is within the resolution), the
// budget always holding at coarse resolution, and the error paths.
//
//===----------------------------------------------------------------------===//
#include "phiq/Quant/FormatAllocation.h"

#include <gtest/gtest.h>

#include <limits>
#include <random>

using namespace phiq::quant;

namespace {

/// The least cost over every combination within the budget (infinity when
/// none fits).
double bruteForce(const std::vector<std::vector<SizedCost>> &candidates,
                  int64_t budget) {
  double best = std::numeric_limits<double>::infinity();
  std::vector<size_t> pick(candidates.size(), 0);
  while (true) {
    int64_t bytes = 0;
    double cost = 0.0;
    for (size_t t = 0; t < candidates.size(); ++t) {
      bytes += candidates[t][pick[t]].bytes;
      cost += candidates[t][pick[t]].cost;
    }
    if (bytes <= budget)
      best = std::min(best, cost);
    size_t t = 0;
    while (t < pick.size() && ++pick[t] == candidates[t].size())
      pick[t++] = 0;
    if (t == pick.size())
      return best;
  }
}

std::vector<std::vector<SizedCost>> randomCase(std::mt19937 &rng,
                                               int tensors) {
  // Like real formats: more bytes, less cost (mostly), with some noise.
  std::uniform_int_distribution<int> count(1, 5), size(1, 40);
  std::uniform_real_distribution<double> cost(0.0, 10.0);
  std::vector<std::vector<SizedCost>> candidates(tensors);
  for (auto &options : candidates)
    for (int k = count(rng); k-- > 0;)
      options.push_back({int64_t(size(rng)) * 16, cost(rng)});
  return candidates;
}

TEST(FormatAllocation, MatchesBruteForce) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 300; ++trial) {
    auto candidates = randomCase(rng, 1 + trial % 6);
    int64_t minimum = 0, maximum = 0;
    for (auto &options : candidates) {
      int64_t lo = options[0].bytes, hi = options[0].bytes;
      for (auto &c : options)
        lo = std::min(lo, c.bytes), hi = std::max(hi, c.bytes);
      minimum += lo, maximum += hi;
    }
    int64_t budget = minimum + (maximum - minimum) * (trial % 5) / 4;
    auto got = allocateFormats(candidates, budget, /*resolution=*/1 << 16);
    ASSERT_TRUE(bool(got)) << llvm::toString(got.takeError());
    EXPECT_LE(got->bytes, budget);
    EXPECT_NEAR(got->cost, bruteForce(candidates, budget), 1e-9);
    // The reported totals are those of the choice.
    int64_t bytes = 0;
    double cost = 0.0;
    for (size_t t = 0; t < candidates.size(); ++t) {
      bytes += candidates[t][got->choice[t]].bytes;
      cost += candidates[t][got->choice[t]].cost;
    }
    EXPECT_EQ(bytes, got->bytes);
    EXPECT_NEAR(cost, got->cost, 1e-9);
  }
}

TEST(FormatAllocation, CoarseResolutionStaysWithinBudget) {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 100; ++trial) {
    auto candidates = randomCase(rng, 6);
    int64_t maximum = 0;
    for (auto &options : candidates) {
      int64_t hi = 0;
      for (auto &c : options)
        hi = std::max(hi, c.bytes);
      maximum += hi;
    }
    auto got = allocateFormats(candidates, maximum, /*resolution=*/8);
    if (!got) {
      llvm::consumeError(got.takeError());
      continue; // rounding up may leave no room at 8 units: allowed
    }
    EXPECT_LE(got->bytes, maximum);
    EXPECT_GE(got->cost, bruteForce(candidates, maximum) - 1e-9);
  }
}

TEST(FormatAllocation, PrefersTheEarlierCandidateOnTies) {
  std::vector<std::vector<SizedCost>> candidates = {{{10, 1.0}, {10, 1.0}}};
  auto got = allocateFormats(candidates, 10);
  ASSERT_TRUE(bool(got));
  EXPECT_EQ(got->choice[0], 0u);
}

TEST(FormatAllocation, SpendsTheBudgetWhereItBuysTheMost) {
  // Tensor 1 loses far more at its small format: it gets the big one.
  std::vector<std::vector<SizedCost>> candidates = {
      {{4, 2.0}, {8, 1.0}}, {{4, 50.0}, {8, 1.0}}};
  auto got = allocateFormats(candidates, 12);
  ASSERT_TRUE(bool(got));
  EXPECT_EQ(got->choice, (std::vector<size_t>{0, 1}));
  EXPECT_EQ(got->bytes, 12);
}

TEST(FormatAllocation, Errors) {
  std::vector<std::vector<SizedCost>> empty = {{{4, 1.0}}, {}};
  auto noCandidate = allocateFormats(empty, 100);
  ASSERT_FALSE(bool(noCandidate));
  EXPECT_EQ(llvm::toString(noCandidate.takeError()),
            "tensor 1 has no candidate format");
  std::vector<std::vector<SizedCost>> big = {{{40, 1.0}, {60, 0.5}}};
  auto over = allocateFormats(big, 39);
  ASSERT_FALSE(bool(over));
  EXPECT_EQ(llvm::toString(over.takeError()),
            "the smallest formats need 40 bytes, over the budget of 39 bytes");
}

} // namespace
