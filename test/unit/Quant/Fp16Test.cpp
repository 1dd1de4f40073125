//===- Fp16Test.cpp - Half and bfloat16 rounding ----------------*- C++ -*-===//
//
// The binary16 and bfloat16 conversions decide every scale's bytes, so they
// are checked against slow references built from the definition (the
// nearest representable value, ties to the even encoding) on every half,
// every midpoint between halves and a wide sweep of float bit patterns.
//
//===----------------------------------------------------------------------===//

#include "ReferenceDecoders.h"

#include "phiq/Quant/Fp16.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

using namespace phiq::quant;
using phiq::quant::testing::slowHalfToFloat;

namespace {

float fromBits(uint32_t bits) {
  float v;
  std::memcpy(&v, &bits, 4);
  return v;
}

uint32_t toBits(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  return bits;
}

/// Nearest binary16 by search over the (monotone) finite encodings; ties
/// to the even encoding; beyond 65504 + half an ulp, infinity.
uint16_t slowFloatToHalf(float f) {
  uint16_t sign = std::signbit(f) ? 0x8000 : 0;
  if (std::isnan(f))
    return sign | 0x7e00;
  double a = std::fabs(double(f));
  if (a >= 65520.0)
    return sign | 0x7c00;
  uint16_t lo = 0, hi = 0x7bff;
  while (lo < hi) { // largest encoding whose value is <= a
    uint16_t mid = uint16_t((lo + hi + 1) / 2);
    if (double(slowHalfToFloat(mid)) <= a)
      lo = mid;
    else
      hi = uint16_t(mid - 1);
  }
  if (lo == 0x7bff)
    return sign | lo;
  double below = a - slowHalfToFloat(lo);
  double above = double(slowHalfToFloat(uint16_t(lo + 1))) - a;
  uint16_t pick = below < above   ? lo
                  : above < below ? uint16_t(lo + 1)
                  : (lo & 1)      ? uint16_t(lo + 1)
                                  : lo;
  return sign | pick;
}

/// Nearest bfloat16 (the top half of a float), ties to even; NaN keeps its
/// top bits with the quiet bit set.
uint16_t slowFloatToBf16(float f) {
  uint32_t bits = toBits(f);
  if (std::isnan(f))
    return uint16_t((bits >> 16) | 0x40);
  uint32_t down = bits & 0xffff0000u;
  uint32_t up = down + 0x10000u;
  double a = std::fabs(double(f));
  double vDown = std::fabs(double(fromBits(down)));
  // Rounding up past the largest finite value gives infinity; measure it
  // as 2^128, where IEEE rounding puts it.
  double vUp = (up & 0x7fffffffu) == 0x7f800000u
                   ? std::ldexp(1.0, 128)
                   : std::fabs(double(fromBits(up)));
  double below = a - vDown, above = vUp - a;
  uint32_t pick = below < above        ? down
                  : above < below      ? up
                  : ((down >> 16) & 1) ? up
                                       : down;
  return uint16_t(pick >> 16);
}

std::vector<float> interestingFloats() {
  std::vector<float> values = {
      0.0f,       -0.0f,         1.0f,     -1.0f,    65504.0f,
      65519.996f, 65520.0f,      65536.0f, 1e-8f,    2.9802322e-8f,
      5.96e-8f,   6.1035156e-5f, 6.1e-5f,  INFINITY, -INFINITY,
      NAN,        -NAN,          3.4e38f,  1e-40f,   -1e-45f};
  // Every half, the midpoint to the next one, and a float ulp either side.
  for (uint32_t h = 0; h < 0x7c00; ++h) {
    float v = slowHalfToFloat(uint16_t(h));
    values.push_back(v);
    values.push_back(-v);
    float mid =
        float((double(v) + double(slowHalfToFloat(uint16_t(h + 1)))) / 2);
    values.push_back(mid);
    values.push_back(std::nextafter(mid, 0.0f));
    values.push_back(std::nextafter(mid, INFINITY));
    values.push_back(-mid);
  }
  // A sweep of bit patterns, every sign and exponent.
  for (uint64_t bits = 0; bits < (uint64_t(1) << 32); bits += 104729)
    values.push_back(fromBits(uint32_t(bits)));
  return values;
}

TEST(Fp16, rounds_every_half_midpoint_and_sweep_to_nearest_even) {
  for (float f : interestingFloats())
    ASSERT_EQ(fp32ToFp16Bits(f), slowFloatToHalf(f))
        << "input bits 0x" << std::hex << toBits(f);
}

TEST(Fp16, widens_every_half_exactly) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    float expected = slowHalfToFloat(uint16_t(h));
    float got = fp16BitsToFp32(uint16_t(h));
    if (std::isnan(expected)) {
      ASSERT_TRUE(std::isnan(got)) << h;
      continue;
    }
    ASSERT_EQ(toBits(got), toBits(expected)) << "half 0x" << std::hex << h;
  }
}

TEST(Fp16, nan_becomes_quiet_nan_with_sign_like_ggml) {
  EXPECT_EQ(fp32ToFp16Bits(fromBits(0x7fc00000u)), 0x7e00);
  EXPECT_EQ(fp32ToFp16Bits(fromBits(0xff812345u)), 0xfe00);
  EXPECT_EQ(fp32ToFp16Bits(fromBits(0x7f800001u)), 0x7e00);
}

TEST(Bf16, rounds_to_nearest_even_and_keeps_nans_quiet) {
  for (float f : interestingFloats())
    ASSERT_EQ(fp32ToBf16Bits(f), slowFloatToBf16(f))
        << "input bits 0x" << std::hex << toBits(f);
  EXPECT_EQ(fp32ToBf16Bits(fromBits(0x7f800001u)), 0x7fc0);
  EXPECT_EQ(fp32ToBf16Bits(fromBits(0xffff0000u)), 0xffff);
}

TEST(Fp16, row_conversions_match_scalar_ones) {
  std::vector<float> values = interestingFloats();
  std::vector<uint16_t> half(values.size()), bf(values.size());
  fp32ToFp16Row(values.data(), half.data(), int64_t(values.size()));
  fp32ToBf16Row(values.data(), bf.data(), int64_t(values.size()));
  std::vector<float> back(values.size());
  fp16ToFp32Row(half.data(), back.data(), int64_t(values.size()));
  for (size_t i = 0; i < values.size(); ++i) {
    ASSERT_EQ(half[i], fp32ToFp16Bits(values[i]));
    ASSERT_EQ(bf[i], fp32ToBf16Bits(values[i]));
    ASSERT_EQ(toBits(back[i]), toBits(fp16BitsToFp32(half[i])));
  }
}

} // namespace
