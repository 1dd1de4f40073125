//===- ThreadPool.cpp - Persistent workers behind parallelFor ---*- C++ -*-===//
//
// The executor calls kernels thousands of times a second, many of them on
// shapes that take tens of microseconds, so parallelFor cannot afford to
// create threads or even to always sleep on a condition variable. The pool
// keeps numThreads() - 1 workers alive; after a job they spin briefly
// watching for the next one (a call that follows within that time starts
// with no wake-up latency) and then sleep. The calling thread runs chunks
// too, so a one-thread pool is just a loop.
//
// A job is published through one 64-bit ticket word: generation << 32 |
// chunk count << 16 | next chunk index. Claiming a chunk is a
// compare-and-swap on that word, checked against the count in the same
// word, so a worker still looking at a finished job can never claim (or
// count) a chunk of the next one; the job's body is read only after a
// successful claim, while the job is necessarily still live.
//
//===----------------------------------------------------------------------===//

#include "phiq/Runtime/Kernels.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <sched.h>
#endif

namespace phiq::rt {
namespace {

using Body = std::function<void(int64_t, int64_t)>;

/// True on pool workers and on a caller while it runs a job: a parallelFor
/// from there runs inline instead of waiting on the pool it is part of.
thread_local bool insideParallelRegion = false;

inline void cpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

unsigned threadsFromEnvironment() {
  if (const char *env = std::getenv("PHIQ_NUM_THREADS")) {
    char *end = nullptr;
    long value = std::strtol(env, &end, 10);
    if (end != env && *end == '\0' && value >= 1)
      return static_cast<unsigned>(value < 1024 ? value : 1024);
  }
#if defined(__linux__)
  // Respect taskset/cgroup affinity, which hardware_concurrency ignores.
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
    return static_cast<unsigned>(CPU_COUNT(&set));
#endif
  unsigned hc = std::thread::hardware_concurrency();
  return hc ? hc : 1;
}

class WorkerPool {
public:
  explicit WorkerPool(unsigned threads) {
    for (unsigned i = 1; i < threads; ++i)
      workers.emplace_back([this] { workerMain(); });
  }

  ~WorkerPool() {
    {
      std::lock_guard<std::mutex> lock(sleepMutex);
      stopping.store(true, std::memory_order_seq_cst);
    }
    wakeup.notify_all();
    for (std::thread &t : workers)
      t.join();
  }

  /// Runs body over [0, n) in `chunks` (< 2^16) balanced contiguous pieces.
  /// Returns false without running anything if another thread holds the
  /// pool.
  bool run(int64_t n, int64_t chunks, const Body &body) {
    std::unique_lock<std::mutex> owner(ownerMutex, std::try_to_lock);
    if (!owner.owns_lock())
      return false;

    jobBody.store(&body, std::memory_order_relaxed);
    jobSize.store(n, std::memory_order_relaxed);
    chunksDone.store(0, std::memory_order_relaxed);
    // 32-bit generations wrap; a worker would have to sleep through 2^32
    // jobs to mistake one for another.
    const uint64_t generation =
        ((ticket.load(std::memory_order_relaxed) >> kGenerationShift) + 1) &
        0xffffffffu;
    // seq_cst pairs with the sleepers count below (a Dekker handshake): a
    // worker about to sleep either sees this ticket or is seen as sleeping.
    ticket.store(generation << kGenerationShift | uint64_t(chunks)
                                                      << kCountShift,
                 std::memory_order_seq_cst);
    if (sleepers.load(std::memory_order_seq_cst) > 0) {
      { std::lock_guard<std::mutex> lock(sleepMutex); }
      wakeup.notify_all();
    }

    insideParallelRegion = true;
    runChunks(generation);
    insideParallelRegion = false;

    for (unsigned spins = 0;
         chunksDone.load(std::memory_order_acquire) < chunks; ++spins) {
      if (spins < 4096)
        cpuRelax();
      else
        std::this_thread::yield();
    }
    return true;
  }

private:
  static constexpr unsigned kCountShift = 16;
  static constexpr unsigned kGenerationShift = 32;
  static constexpr uint64_t kFieldMask = 0xffff;
  /// How long an idle worker watches for the next job before sleeping.
  static constexpr std::chrono::microseconds kSpinTime{200};

  /// Claims and runs chunks of job `generation` until none are left or a
  /// newer job replaced it.
  void runChunks(uint64_t generation) {
    for (;;) {
      uint64_t t = ticket.load(std::memory_order_acquire);
      if ((t >> kGenerationShift) != generation)
        return;
      const int64_t index = static_cast<int64_t>(t & kFieldMask);
      const int64_t chunks =
          static_cast<int64_t>(t >> kCountShift & kFieldMask);
      if (index >= chunks)
        return;
      if (!ticket.compare_exchange_weak(t, t + 1, std::memory_order_acq_rel,
                                        std::memory_order_relaxed))
        continue;
      const Body *body = jobBody.load(std::memory_order_relaxed);
      const int64_t n = jobSize.load(std::memory_order_relaxed);
      // Balanced split: the first n % chunks pieces get one extra item.
      const int64_t base = n / chunks, extra = n % chunks;
      const int64_t begin = index * base + (index < extra ? index : extra);
      const int64_t end = begin + base + (index < extra ? 1 : 0);
      (*body)(begin, end);
      chunksDone.fetch_add(1, std::memory_order_release);
    }
  }

  /// Returns the generation of a job newer than `seen`, or of the current
  /// one once the pool is stopping.
  uint64_t waitForJob(uint64_t seen) {
    auto deadline = std::chrono::steady_clock::now() + kSpinTime;
    for (unsigned spins = 1;; ++spins) {
      uint64_t generation =
          ticket.load(std::memory_order_acquire) >> kGenerationShift;
      if (generation != seen || stopping.load(std::memory_order_relaxed))
        return generation;
      cpuRelax();
      if (spins % 256 == 0 && std::chrono::steady_clock::now() > deadline)
        break;
    }
    std::unique_lock<std::mutex> lock(sleepMutex);
    sleepers.fetch_add(1, std::memory_order_seq_cst);
    for (;;) {
      uint64_t generation =
          ticket.load(std::memory_order_seq_cst) >> kGenerationShift;
      if (generation != seen || stopping.load(std::memory_order_seq_cst)) {
        sleepers.fetch_sub(1, std::memory_order_relaxed);
        return generation;
      }
      wakeup.wait(lock);
    }
  }

  void workerMain() {
    insideParallelRegion = true;
    uint64_t seen = 0;
    for (;;) {
      uint64_t generation = waitForJob(seen);
      if (stopping.load(std::memory_order_acquire))
        return;
      seen = generation;
      runChunks(generation);
    }
  }

  std::vector<std::thread> workers;
  /// Held by the thread whose job the pool is running.
  std::mutex ownerMutex;

  std::atomic<uint64_t> ticket{0};
  std::atomic<const Body *> jobBody{nullptr};
  std::atomic<int64_t> jobSize{0};
  std::atomic<int64_t> chunksDone{0};

  std::mutex sleepMutex;
  std::condition_variable wakeup;
  std::atomic<unsigned> sleepers{0};
  std::atomic<bool> stopping{false};
};

WorkerPool &pool() {
  static WorkerPool instance(numThreads());
  return instance;
}

} // namespace

unsigned numThreads() {
  static const unsigned count = threadsFromEnvironment();
  return count;
}

void parallelFor(int64_t n, int64_t grain,
                 const std::function<void(int64_t, int64_t)> &fn) {
  if (n <= 0)
    return;
  if (grain < 1)
    grain = 1;
  const unsigned threads = numThreads();
  // At most n / grain pieces keeps every piece at >= grain items; 4 pieces
  // per thread lets a thread that finishes early (or one the OS preempted)
  // be covered by the others.
  int64_t chunks = n / grain;
  // (The ticket word holds chunk counts below 2^16.)
  const int64_t maxChunks = std::min<int64_t>(int64_t(threads) * 4, 0xffff);
  if (chunks > maxChunks)
    chunks = maxChunks;
  if (chunks <= 1 || threads <= 1 || insideParallelRegion ||
      !pool().run(n, chunks, fn))
    fn(0, n);
}

} // namespace phiq::rt
