//===- KernelTestSupport.cpp - Kernel test helpers --------------*- C++ -*-===//
//
// Implements the per-CPU-level fixture and the seeded random data the
// kernel tests share.
//
//===----------------------------------------------------------------------===//

#include "KernelTestSupport.h"

#include <random>

namespace phiq::rt::test {

std::vector<CpuLevel> supportedLevels() {
  std::vector<CpuLevel> levels;
  for (CpuLevel level : {CpuLevel::Portable, CpuLevel::AVX2, CpuLevel::AVX512})
    if (static_cast<int>(level) <= static_cast<int>(hardwareCpuLevel()))
      levels.push_back(level);
  return levels;
}

void AtCpuLevel::SetUp() {
  saved = detectCpuLevel();
  ASSERT_EQ(setCpuLevel(GetParam()), GetParam());
}

void AtCpuLevel::TearDown() { setCpuLevel(saved); }

std::string levelTestName(const ::testing::TestParamInfo<CpuLevel> &info) {
  return cpuLevelName(info.param);
}

std::vector<float> randomFloats(size_t n, unsigned seed, float lo, float hi) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float &x : v)
    x = dist(rng);
  return v;
}

} // namespace phiq::rt::test
