//===- ThreadPoolTest.cpp - Tests of parallelFor ----------------*- C++ -*-===//
//
// Pins parallelFor's contract: every index exactly once, chunks of at least
// `grain`, safe nesting and concurrent callers, and reuse over many short
// jobs in a row (the executor's pattern).
//
//===----------------------------------------------------------------------===//

#include "KernelTestSupport.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

namespace phiq::rt::test {
namespace {

TEST(ThreadPool, NumThreadsIsAtLeastOne) { EXPECT_GE(numThreads(), 1u); }

TEST(ThreadPool, ParallelForVisitsEveryIndexExactlyOnce) {
  for (int64_t n : {1, 2, 7, 64, 1000, 100003}) {
    std::vector<std::atomic<int>> hits(n);
    parallelFor(n, 1, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i)
        hits[i].fetch_add(1);
    });
    for (int64_t i = 0; i < n; ++i)
      ASSERT_EQ(hits[i].load(), 1) << "n=" << n << " i=" << i;
  }
}

TEST(ThreadPool, ChunksAreContiguousAndAtLeastGrain) {
  const int64_t n = 1000, grain = 37;
  std::mutex mutex;
  std::vector<std::pair<int64_t, int64_t>> chunks;
  parallelFor(n, grain, [&](int64_t b, int64_t e) {
    std::lock_guard<std::mutex> lock(mutex);
    chunks.emplace_back(b, e);
  });
  std::sort(chunks.begin(), chunks.end());
  int64_t next = 0;
  for (auto [b, e] : chunks) {
    EXPECT_EQ(b, next);
    EXPECT_GE(e - b, grain);
    next = e;
  }
  EXPECT_EQ(next, n);
}

TEST(ThreadPool, ZeroItemsRunNothing) {
  bool called = false;
  parallelFor(0, 1, [&](int64_t, int64_t) { called = true; });
  EXPECT_FALSE(called);
}

TEST(ThreadPool, NestedParallelForRunsInlineAndCompletes) {
  std::atomic<int64_t> total{0};
  parallelFor(8, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      parallelFor(100, 1,
                  [&](int64_t ib, int64_t ie) { total.fetch_add(ie - ib); });
  });
  EXPECT_EQ(total.load(), 800);
}

TEST(ThreadPool, ConcurrentCallersEachGetTheirWholeRange) {
  std::atomic<int64_t> sums[4] = {};
  std::vector<std::thread> callers;
  for (int c = 0; c < 4; ++c)
    callers.emplace_back([&, c] {
      for (int rep = 0; rep < 200; ++rep)
        parallelFor(500, 1, [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i)
            sums[c].fetch_add(i);
        });
    });
  for (std::thread &t : callers)
    t.join();
  for (auto &s : sums)
    EXPECT_EQ(s.load(), 200 * (499 * 500 / 2));
}

TEST(ThreadPool, ManyShortJobsInARowAllComplete) {
  std::vector<int64_t> out(64);
  for (int rep = 0; rep < 20000; ++rep) {
    parallelFor(64, 1, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i)
        out[i] = rep + i;
    });
    if (out[0] != rep || out[63] != rep + 63)
      FAIL() << "job " << rep << " did not finish before parallelFor returned";
  }
}

TEST(ThreadPool, JobsOfChangingSizeRunEachIndexOnceBeforeReturning) {
  // Alternating small and large jobs: a worker still looking at the last,
  // finished job must never claim a piece of the next one, and parallelFor
  // must not return while any piece still runs.
  std::vector<std::atomic<int>> hits(256);
  for (int rep = 0; rep < 20000; ++rep) {
    const int64_t n = rep % 2 ? 256 : 1 + rep % 7;
    for (int64_t i = 0; i < n; ++i)
      hits[i].store(0, std::memory_order_relaxed);
    parallelFor(n, 1, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i)
        hits[i].fetch_add(1, std::memory_order_relaxed);
    });
    for (int64_t i = 0; i < n; ++i)
      if (hits[i].load(std::memory_order_relaxed) != 1)
        FAIL() << "job " << rep << " (n=" << n << ") ran index " << i << " "
               << hits[i].load() << " times before returning";
  }
}

} // namespace
} // namespace phiq::rt::test
