//===- ConvertTest.cpp - Tests of the fp32 conversions ----------*- C++ -*-===//
//
// Checks convertToF32 and the single-value helpers bit for bit against
// reference decoders written independently here (from the format
// definitions, with ldexp), over every F16/BF16/F8 bit pattern, and covers
// the edge values by name: subnormals, infinities, NaNs, signed zero.
//
//===----------------------------------------------------------------------===//
#include "phiq/Params/Convert.h"
#include "phiq/Params/ParamStore.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

using namespace phiq::params;

namespace {

/// binary16 decoded from its definition; NaNs as quiet NaNs with payload.
uint32_t referenceF16(uint16_t half) {
  uint32_t sign = (half & 0x8000u) ? 0x80000000u : 0u;
  int exponent = (half >> 10) & 0x1f;
  int mantissa = half & 0x3ff;
  if (exponent == 31) {
    if (mantissa == 0)
      return sign | 0x7f800000u;
    return sign | 0x7fc00000u | (uint32_t(mantissa) << 13);
  }
  float magnitude = exponent == 0
                        ? std::ldexp(float(mantissa), -24)
                        : std::ldexp(float(1024 + mantissa), exponent - 25);
  return sign | floatBits(magnitude);
}

/// float8_e4m3fn decoded from its definition.
float referenceE4M3(uint8_t bits) {
  int exponent = (bits >> 3) & 0xf;
  int mantissa = bits & 0x7;
  float magnitude;
  if (exponent == 15 && mantissa == 7)
    magnitude = std::numeric_limits<float>::quiet_NaN();
  else if (exponent == 0)
    magnitude = std::ldexp(float(mantissa), -9);
  else
    magnitude = std::ldexp(1.0f + mantissa / 8.0f, exponent - 7);
  return (bits & 0x80) ? -magnitude : magnitude;
}

std::vector<uint8_t> allHalfPatterns() {
  std::vector<uint8_t> bytes(2 * 65536);
  for (uint32_t i = 0; i < 65536; ++i) {
    uint16_t value = static_cast<uint16_t>(i);
    std::memcpy(bytes.data() + 2 * i, &value, 2);
  }
  return bytes;
}

std::vector<float> convert(DType dtype, const std::vector<uint8_t> &bytes) {
  std::vector<float> out(bytes.size() / dtypeSize(dtype));
  convertToF32(dtype, bytes.data(), out.data(), out.size());
  return out;
}

template <typename T> std::vector<uint8_t> toBytes(std::vector<T> values) {
  std::vector<uint8_t> bytes(values.size() * sizeof(T));
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

TEST(ConvertTest, F16MatchesReferenceForEveryBitPattern) {
  std::vector<uint8_t> bytes = allHalfPatterns();
  std::vector<float> dispatched = convert(DType::F16, bytes);
  std::vector<float> portable(65536);
  convertF16ToF32Portable(bytes.data(), portable.data(), 65536);
  for (uint32_t i = 0; i < 65536; ++i) {
    uint32_t expected = referenceF16(static_cast<uint16_t>(i));
    ASSERT_EQ(floatBits(dispatched[i]), expected)
        << "f16 bits 0x" << std::hex << i;
    ASSERT_EQ(floatBits(portable[i]), expected)
        << "f16 bits 0x" << std::hex << i;
    ASSERT_EQ(floatBits(fp16BitsToFp32(static_cast<uint16_t>(i))), expected);
  }
}

TEST(ConvertTest, F16EdgeValues) {
  EXPECT_EQ(fp16BitsToFp32(0x0001), std::ldexp(1.0f, -24));    // min subnormal
  EXPECT_EQ(fp16BitsToFp32(0x03ff), std::ldexp(1023.0f, -24)); // max subnormal
  EXPECT_EQ(fp16BitsToFp32(0x0400), std::ldexp(1.0f, -14));    // min normal
  EXPECT_EQ(fp16BitsToFp32(0x7bff), 65504.0f);                 // max finite
  EXPECT_EQ(fp16BitsToFp32(0x3c00), 1.0f);
  EXPECT_EQ(fp16BitsToFp32(0xc000), -2.0f);
  EXPECT_EQ(fp16BitsToFp32(0x7c00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(fp16BitsToFp32(0xfc00), -std::numeric_limits<float>::infinity());
  EXPECT_EQ(floatBits(fp16BitsToFp32(0x8000)), 0x80000000u); // -0
  EXPECT_TRUE(std::isnan(fp16BitsToFp32(0x7e00)));
  EXPECT_TRUE(std::isnan(fp16BitsToFp32(0x7c01))); // signaling, comes out quiet
  EXPECT_EQ(floatBits(fp16BitsToFp32(0x7c01)), 0x7fc02000u);
}

TEST(ConvertTest, F16HandlesUnalignedSourcesAndEveryTailLength) {
  // Odd start address and lengths around the 8/16-wide vector steps.
  std::vector<uint8_t> storage(1 + 2 * 64);
  for (size_t i = 0; i < 64; ++i) {
    uint16_t half = static_cast<uint16_t>(0x3c00 + 37 * i);
    std::memcpy(storage.data() + 1 + 2 * i, &half, 2);
  }
  for (int64_t count = 0; count <= 64; ++count) {
    std::vector<float> out(count + 1, -7.0f);
    convertToF32(DType::F16, storage.data() + 1, out.data(), count);
    for (int64_t i = 0; i < count; ++i) {
      uint16_t half;
      std::memcpy(&half, storage.data() + 1 + 2 * i, 2);
      ASSERT_EQ(floatBits(out[i]), referenceF16(half)) << count << " " << i;
    }
    EXPECT_EQ(out[count], -7.0f) << "wrote past the end for count " << count;
  }
}

TEST(ConvertTest, BF16IsBitExactWidening) {
  std::vector<uint8_t> bytes = allHalfPatterns();
  std::vector<float> out = convert(DType::BF16, bytes);
  for (uint32_t i = 0; i < 65536; ++i)
    ASSERT_EQ(floatBits(out[i]), i << 16) << "bf16 bits 0x" << std::hex << i;
}

TEST(ConvertTest, BF16EdgeValues) {
  EXPECT_EQ(bf16BitsToFp32(0x3f80), 1.0f);
  EXPECT_EQ(bf16BitsToFp32(0xc040), -3.0f);
  EXPECT_EQ(bf16BitsToFp32(0x0001), std::ldexp(1.0f, -133));  // min subnormal
  EXPECT_EQ(bf16BitsToFp32(0x7f7f), std::ldexp(255.0f, 120)); // max finite
  EXPECT_EQ(bf16BitsToFp32(0x7f80), std::numeric_limits<float>::infinity());
  EXPECT_EQ(bf16BitsToFp32(0xff80), -std::numeric_limits<float>::infinity());
  EXPECT_EQ(floatBits(bf16BitsToFp32(0x8000)), 0x80000000u);
  EXPECT_TRUE(std::isnan(bf16BitsToFp32(0x7fc0)));
  EXPECT_TRUE(std::isnan(bf16BitsToFp32(0xff81)));
}

TEST(ConvertTest, F32ToBF16RoundsToNearestEven) {
  EXPECT_EQ(fp32ToBf16Bits(1.0f), 0x3f80);
  // Halfway between 1.0 (even) and the next bf16: stays at 1.0.
  EXPECT_EQ(fp32ToBf16Bits(1.0f + std::ldexp(1.0f, -8)), 0x3f80);
  // Halfway between 0x3f81 (odd) and 0x3f82 (even): goes up.
  EXPECT_EQ(fp32ToBf16Bits(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3f82);
  // Just above halfway rounds up.
  EXPECT_EQ(fp32ToBf16Bits(bitsFloat(0x3f808001)), 0x3f81);
  EXPECT_EQ(fp32ToBf16Bits(bitsFloat(0x7f7fffff)), 0x7f80); // overflows to inf
  EXPECT_EQ(fp32ToBf16Bits(-0.0f), 0x8000);
  uint16_t nan = fp32ToBf16Bits(bitsFloat(0x7f800001)); // payload only in low
  EXPECT_TRUE(std::isnan(bf16BitsToFp32(nan))) << std::hex << nan;
}

TEST(ConvertTest, F8E4M3MatchesReferenceForEveryBitPattern) {
  std::vector<uint8_t> bytes(256);
  for (unsigned i = 0; i < 256; ++i)
    bytes[i] = static_cast<uint8_t>(i);
  std::vector<float> out = convert(DType::F8_E4M3, bytes);
  for (unsigned i = 0; i < 256; ++i) {
    float expected = referenceE4M3(static_cast<uint8_t>(i));
    if (std::isnan(expected))
      EXPECT_TRUE(std::isnan(out[i])) << i;
    else
      EXPECT_EQ(floatBits(out[i]), floatBits(expected)) << i;
  }
  EXPECT_EQ(f8E4M3BitsToF32(0x7e), 448.0f); // largest finite
  EXPECT_EQ(f8E4M3BitsToF32(0x38), 1.0f);
  EXPECT_EQ(f8E4M3BitsToF32(0x01), std::ldexp(1.0f, -9));
  EXPECT_TRUE(std::isnan(f8E4M3BitsToF32(0x7f)));
  EXPECT_TRUE(std::isnan(f8E4M3BitsToF32(0xff)));
}

TEST(ConvertTest, F8E5M2IsTheTopByteOfF16) {
  std::vector<uint8_t> bytes(256);
  for (unsigned i = 0; i < 256; ++i)
    bytes[i] = static_cast<uint8_t>(i);
  std::vector<float> out = convert(DType::F8_E5M2, bytes);
  for (unsigned i = 0; i < 256; ++i)
    EXPECT_EQ(floatBits(out[i]), referenceF16(static_cast<uint16_t>(i << 8)))
        << i;
  EXPECT_EQ(out[0x3c], 1.0f);
  EXPECT_EQ(out[0x7b], 57344.0f);
  EXPECT_EQ(out[0x7c], std::numeric_limits<float>::infinity());
  EXPECT_EQ(out[0x01], std::ldexp(1.0f, -16));
}

TEST(ConvertTest, F32AndF64) {
  std::vector<float> f32 = convert(
      DType::F32, toBytes<float>({1.5f, -0.0f, std::ldexp(1.0f, -149)}));
  EXPECT_EQ(f32[0], 1.5f);
  EXPECT_EQ(floatBits(f32[1]), 0x80000000u);
  EXPECT_EQ(f32[2], std::ldexp(1.0f, -149));

  std::vector<float> f64 =
      convert(DType::F64, toBytes<double>({1.5, 0.1, 1e300, -1e300}));
  EXPECT_EQ(f64[0], 1.5f);
  EXPECT_EQ(f64[1], 0.1f);
  EXPECT_EQ(f64[2], std::numeric_limits<float>::infinity());
  EXPECT_EQ(f64[3], -std::numeric_limits<float>::infinity());
}

TEST(ConvertTest, IntegersAndBool) {
  EXPECT_EQ(convert(DType::I8, toBytes<int8_t>({-128, 127})),
            (std::vector<float>{-128.0f, 127.0f}));
  EXPECT_EQ(convert(DType::U8, toBytes<uint8_t>({0, 255})),
            (std::vector<float>{0.0f, 255.0f}));
  EXPECT_EQ(convert(DType::I16, toBytes<int16_t>({-32768, 32767})),
            (std::vector<float>{-32768.0f, 32767.0f}));
  EXPECT_EQ(convert(DType::U16, toBytes<uint16_t>({65535})),
            (std::vector<float>{65535.0f}));
  EXPECT_EQ(convert(DType::I32, toBytes<int32_t>({INT32_MIN, 16777217})),
            (std::vector<float>{-2147483648.0f, 16777216.0f}));
  EXPECT_EQ(convert(DType::U32, toBytes<uint32_t>({UINT32_MAX})),
            (std::vector<float>{4294967296.0f}));
  EXPECT_EQ(convert(DType::I64, toBytes<int64_t>({-1, INT64_MIN})),
            (std::vector<float>{-1.0f, -9223372036854775808.0f}));
  EXPECT_EQ(convert(DType::U64, toBytes<uint64_t>({UINT64_MAX})),
            (std::vector<float>{18446744073709551616.0f}));
  EXPECT_EQ(convert(DType::Bool, toBytes<uint8_t>({0, 1, 2})),
            (std::vector<float>{0.0f, 1.0f, 1.0f}));
}

TEST(ConvertTest, UnalignedIntegerAndF32Sources) {
  std::vector<uint8_t> storage(1 + 3 * 4);
  int32_t values[3] = {-5, 70000, 123456};
  std::memcpy(storage.data() + 1, values, sizeof(values));
  float out[3];
  convertToF32(DType::I32, storage.data() + 1, out, 3);
  EXPECT_EQ(out[0], -5.0f);
  EXPECT_EQ(out[1], 70000.0f);
  EXPECT_EQ(out[2], 123456.0f);
}

TEST(ConvertTest, ZeroCountWritesNothing) {
  float out = 3.0f;
  uint8_t byte = 0;
  for (DType dtype : {DType::F32, DType::F16, DType::BF16, DType::I8})
    convertToF32(dtype, &byte, &out, 0);
  EXPECT_EQ(out, 3.0f);
}

} // namespace
