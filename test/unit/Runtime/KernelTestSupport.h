//===- KernelTestSupport.h - Shared helpers of the kernel tests -*- C++ -*-===//
//
// Every kernel test runs once per CPU level the machine supports (the
// fixture forces the level with setCpuLevel), on random data from a fixed
// seed, against references written in the slowest obvious way in double.
//
//===----------------------------------------------------------------------===//
#ifndef PHIQ_TEST_UNIT_RUNTIME_KERNELTESTSUPPORT_H
#define PHIQ_TEST_UNIT_RUNTIME_KERNELTESTSUPPORT_H

#include "phiq/Runtime/Kernels.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace phiq::rt::test {

/// The levels this CPU can run, lowest first.
std::vector<CpuLevel> supportedLevels();

/// Fixture: runs the test body with the kernels forced to GetParam().
class AtCpuLevel : public ::testing::TestWithParam<CpuLevel> {
protected:
  void SetUp() override;
  void TearDown() override;

private:
  CpuLevel saved = CpuLevel::Portable;
};

std::string levelTestName(const ::testing::TestParamInfo<CpuLevel> &info);

/// n values uniform in [lo, hi), deterministic for a given seed.
std::vector<float> randomFloats(size_t n, unsigned seed, float lo = -1.0f,
                                float hi = 1.0f);

} // namespace phiq::rt::test

#define PHIQ_INSTANTIATE_AT_EVERY_CPU_LEVEL(Suite)                             \
  INSTANTIATE_TEST_SUITE_P(                                                    \
      CpuLevels, Suite,                                                        \
      ::testing::ValuesIn(::phiq::rt::test::supportedLevels()),                \
      ::phiq::rt::test::levelTestName)

#endif // PHIQ_TEST_UNIT_RUNTIME_KERNELTESTSUPPORT_H
