//===- CpuDispatch.cpp - Choosing the kernels' instruction set --*- C++ -*-===//
//
// The machines the executor runs on differ (AVX2-only and AVX-512 hosts are
// both in use), and the library must run on any x86-64, so the instruction
// set is chosen at run time: the best level the CPU supports, optionally
// lowered by PHIQ_CPU=portable|avx2|avx512 or by setCpuLevel (tests run every
// supported level against the same references).
//
//===----------------------------------------------------------------------===//

#include "phiq/Runtime/Kernels.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace phiq::rt {
namespace {

CpuLevel probeHardware() {
#if defined(__x86_64__) || defined(__i386__)
  // __builtin_cpu_supports also checks that the OS saves the wider register
  // state (XGETBV), not just the CPUID bits.
  __builtin_cpu_init();
  const bool avx2 =
      __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (avx2 && __builtin_cpu_supports("avx512f"))
    return CpuLevel::AVX512;
  if (avx2)
    return CpuLevel::AVX2;
#endif
  return CpuLevel::Portable;
}

CpuLevel clampToHardware(CpuLevel level) {
  CpuLevel hw = hardwareCpuLevel();
  return static_cast<int>(level) < static_cast<int>(hw) ? level : hw;
}

/// The starting level: the hardware's, or PHIQ_CPU's if that is lower.
CpuLevel initialLevel() {
  const char *env = std::getenv("PHIQ_CPU");
  if (!env || !*env)
    return hardwareCpuLevel();
  for (CpuLevel level : {CpuLevel::Portable, CpuLevel::AVX2, CpuLevel::AVX512})
    if (std::strcmp(env, cpuLevelName(level)) == 0)
      return clampToHardware(level);
  std::fprintf(stderr,
               "phiq: ignoring PHIQ_CPU=%s (expected portable, avx2 or "
               "avx512)\n",
               env);
  return hardwareCpuLevel();
}

std::atomic<int> &activeLevel() {
  static std::atomic<int> level{static_cast<int>(initialLevel())};
  return level;
}

} // namespace

CpuLevel hardwareCpuLevel() {
  static const CpuLevel level = probeHardware();
  return level;
}

CpuLevel detectCpuLevel() {
  return static_cast<CpuLevel>(activeLevel().load(std::memory_order_relaxed));
}

CpuLevel setCpuLevel(CpuLevel level) {
  CpuLevel applied = clampToHardware(level);
  activeLevel().store(static_cast<int>(applied), std::memory_order_relaxed);
  return applied;
}

const char *cpuLevelName(CpuLevel level) {
  switch (level) {
  case CpuLevel::Portable:
    return "portable";
  case CpuLevel::AVX2:
    return "avx2";
  case CpuLevel::AVX512:
    return "avx512";
  }
  return "unknown";
}

} // namespace phiq::rt
