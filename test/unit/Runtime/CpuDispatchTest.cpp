//===- CpuDispatchTest.cpp - Tests of the run-time ISA choice ---*- C++ -*-===//
//
// Pins how the kernels' instruction set is chosen and overridden.
//
//===----------------------------------------------------------------------===//

#include "KernelTestSupport.h"

#include <cstring>

namespace phiq::rt::test {
namespace {

TEST(CpuDispatch, SetCpuLevelNeverExceedsTheHardware) {
  CpuLevel saved = detectCpuLevel();
  EXPECT_EQ(setCpuLevel(CpuLevel::AVX512), hardwareCpuLevel());
  EXPECT_EQ(detectCpuLevel(), hardwareCpuLevel());
  EXPECT_EQ(setCpuLevel(CpuLevel::Portable), CpuLevel::Portable);
  EXPECT_EQ(detectCpuLevel(), CpuLevel::Portable);
  setCpuLevel(saved);
}

TEST(CpuDispatch, LevelNamesAreThePhiqCpuSpellings) {
  EXPECT_STREQ(cpuLevelName(CpuLevel::Portable), "portable");
  EXPECT_STREQ(cpuLevelName(CpuLevel::AVX2), "avx2");
  EXPECT_STREQ(cpuLevelName(CpuLevel::AVX512), "avx512");
}

TEST(CpuDispatch, SupportedLevelsStartPortableAndEndAtTheHardware) {
  std::vector<CpuLevel> levels = supportedLevels();
  ASSERT_FALSE(levels.empty());
  EXPECT_EQ(levels.front(), CpuLevel::Portable);
  EXPECT_EQ(levels.back(), hardwareCpuLevel());
}

} // namespace
} // namespace phiq::rt::test
