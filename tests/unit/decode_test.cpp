// Element decoding (SPEC §2): every code of every small float format against
// an independent decoder and known values, integer rounding, bool, nibbles;
// and the test-side encoders that generate data for the other suites.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include "backend/cpu/decode.hpp"
#include "encode.hpp"

namespace wdtest {
namespace {

using weightdiff::DType;
using weightdiff::cpu::decode_to_f64;

// Same value, same sign of zero, or both NaN.
::testing::AssertionResult same_value(double got, double want) {
  if (std::isnan(got) && std::isnan(want)) return ::testing::AssertionSuccess();
  if (got == want && std::signbit(got) == std::signbit(want)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "got " << got << ", want " << want;
}

// decode_to_f64 over raw bytes, starting at element `first`.
std::vector<double> decode(DType t, const std::vector<uint8_t>& bytes, uint64_t first, size_t count) {
  std::vector<double> out(count);
  decode_to_f64(t, reinterpret_cast<const std::byte*>(bytes.data()), first, count, out.data());
  return out;
}

std::vector<uint8_t> all_codes_16() {
  std::vector<uint8_t> bytes(65536 * 2);
  for (uint32_t c = 0; c < 65536; ++c) {
    const auto v = static_cast<uint16_t>(c);
    std::memcpy(bytes.data() + 2 * c, &v, 2);
  }
  return bytes;
}

std::vector<uint8_t> all_codes_8() {
  std::vector<uint8_t> bytes(256);
  for (int c = 0; c < 256; ++c) bytes[c] = static_cast<uint8_t>(c);
  return bytes;
}

const DType kFp8[] = {DType::f8e4m3fn, DType::f8e4m3fnuz, DType::f8e5m2, DType::f8e5m2fnuz};

TEST(Decode, F16EveryCodeMatchesIndependentDecoder) {
  const auto vec = decode(DType::f16, all_codes_16(), 0, 65536);
  for (uint32_t c = 0; c < 65536; ++c) {
    const double want = decode_small_float(DType::f16, c);
    EXPECT_TRUE(same_value(weightdiff::cpu::f16_to_f64(static_cast<uint16_t>(c)), want)) << c;
    EXPECT_TRUE(same_value(vec[c], want)) << "decode_to_f64, code " << c;
  }
}

TEST(Decode, F16KnownValues) {
  auto f16 = [](uint16_t c) { return weightdiff::cpu::f16_to_f64(c); };
  EXPECT_EQ(f16(0x0001), std::ldexp(1.0, -24));  // smallest subnormal
  EXPECT_EQ(f16(0x03FF), std::ldexp(1023.0, -24));  // largest subnormal
  EXPECT_EQ(f16(0x0400), std::ldexp(1.0, -14));
  EXPECT_EQ(f16(0x3C00), 1.0);
  EXPECT_EQ(f16(0xC000), -2.0);
  EXPECT_EQ(f16(0x7BFF), 65504.0);
  EXPECT_EQ(f16(0x7C00), std::numeric_limits<double>::infinity());
  EXPECT_EQ(f16(0xFC00), -std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(f16(0x7E00)));
  EXPECT_TRUE(std::isnan(f16(0x7C01)));
  EXPECT_TRUE(std::isnan(f16(0xFFFF)));
  EXPECT_TRUE(same_value(f16(0x8000), -0.0));
  EXPECT_EQ(f16(0x8001), -std::ldexp(1.0, -24));
}

TEST(Decode, Bf16EveryCodeMatchesIndependentDecoder) {
  const auto vec = decode(DType::bf16, all_codes_16(), 0, 65536);
  for (uint32_t c = 0; c < 65536; ++c) {
    const double want = decode_small_float(DType::bf16, c);
    EXPECT_TRUE(same_value(weightdiff::cpu::bf16_to_f64(static_cast<uint16_t>(c)), want)) << c;
    EXPECT_TRUE(same_value(vec[c], want)) << "decode_to_f64, code " << c;
  }
  auto bf16 = [](uint16_t c) { return weightdiff::cpu::bf16_to_f64(c); };
  EXPECT_EQ(bf16(0x3F80), 1.0);
  EXPECT_EQ(bf16(0xC049), -3.140625);
  EXPECT_EQ(bf16(0x0001), std::ldexp(1.0, -133));
  EXPECT_EQ(bf16(0x7F7F), std::ldexp(255.0, 120));
  EXPECT_EQ(bf16(0x7F80), std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(bf16(0x7FC0)));
  EXPECT_TRUE(same_value(bf16(0x8000), -0.0));
}

TEST(Decode, Fp8EveryCodeMatchesIndependentDecoder) {
  const auto bytes = all_codes_8();
  for (const DType t : kFp8) {
    SCOPED_TRACE(std::string(weightdiff::dtype_name(t)));
    const auto vec = decode(t, bytes, 0, 256);
    int nans = 0;
    for (int c = 0; c < 256; ++c) {
      const double want = decode_small_float(t, static_cast<uint32_t>(c));
      nans += std::isnan(want);
      EXPECT_TRUE(same_value(weightdiff::cpu::f8_to_f64(t, static_cast<uint8_t>(c)), want)) << c;
      EXPECT_TRUE(same_value(vec[c], want)) << "decode_to_f64, code " << c;
    }
    const int want_nans = t == DType::f8e4m3fn ? 2 : t == DType::f8e5m2 ? 6 : 1;
    EXPECT_EQ(nans, want_nans);
  }
}

TEST(Decode, Fp8KnownValues) {
  auto f8 = [](DType t, int c) { return weightdiff::cpu::f8_to_f64(t, static_cast<uint8_t>(c)); };
  const double inf = std::numeric_limits<double>::infinity();
  // e4m3fn: bias 7, no Inf, S.1111.111 is NaN.
  EXPECT_EQ(f8(DType::f8e4m3fn, 0x7E), 448.0);
  EXPECT_EQ(f8(DType::f8e4m3fn, 0xFE), -448.0);
  EXPECT_TRUE(std::isnan(f8(DType::f8e4m3fn, 0x7F)));
  EXPECT_TRUE(std::isnan(f8(DType::f8e4m3fn, 0xFF)));
  EXPECT_EQ(f8(DType::f8e4m3fn, 0x38), 1.0);
  EXPECT_EQ(f8(DType::f8e4m3fn, 0x01), std::ldexp(1.0, -9));  // subnormal
  EXPECT_EQ(f8(DType::f8e4m3fn, 0x07), std::ldexp(7.0, -9));
  EXPECT_EQ(f8(DType::f8e4m3fn, 0x08), std::ldexp(1.0, -6));
  EXPECT_EQ(f8(DType::f8e4m3fn, 0x78), 256.0);  // exponent 15 is finite here
  EXPECT_TRUE(same_value(f8(DType::f8e4m3fn, 0x80), -0.0));
  // e4m3fnuz: bias 8, 0x80 is the only NaN, no -0.
  EXPECT_TRUE(std::isnan(f8(DType::f8e4m3fnuz, 0x80)));
  EXPECT_EQ(f8(DType::f8e4m3fnuz, 0x7F), 240.0);
  EXPECT_EQ(f8(DType::f8e4m3fnuz, 0xFF), -240.0);
  EXPECT_EQ(f8(DType::f8e4m3fnuz, 0x40), 1.0);
  EXPECT_EQ(f8(DType::f8e4m3fnuz, 0x01), std::ldexp(1.0, -10));
  // e5m2: IEEE-like, bias 15.
  EXPECT_EQ(f8(DType::f8e5m2, 0x7C), inf);
  EXPECT_EQ(f8(DType::f8e5m2, 0xFC), -inf);
  for (int c : {0x7D, 0x7E, 0x7F, 0xFD, 0xFE, 0xFF}) EXPECT_TRUE(std::isnan(f8(DType::f8e5m2, c))) << c;
  EXPECT_EQ(f8(DType::f8e5m2, 0x7B), 57344.0);
  EXPECT_EQ(f8(DType::f8e5m2, 0x3C), 1.0);
  EXPECT_EQ(f8(DType::f8e5m2, 0x01), std::ldexp(1.0, -16));
  EXPECT_EQ(f8(DType::f8e5m2, 0x04), std::ldexp(1.0, -14));
  // e5m2fnuz: bias 16, 0x80 the only NaN, exponent 31 finite.
  EXPECT_TRUE(std::isnan(f8(DType::f8e5m2fnuz, 0x80)));
  EXPECT_EQ(f8(DType::f8e5m2fnuz, 0x7F), 57344.0);
  EXPECT_EQ(f8(DType::f8e5m2fnuz, 0x7C), 32768.0);
  EXPECT_EQ(f8(DType::f8e5m2fnuz, 0x40), 1.0);
  EXPECT_EQ(f8(DType::f8e5m2fnuz, 0x01), std::ldexp(1.0, -17));
}

// Relations between formats that need no decoder of our own.
TEST(Decode, Fp8AgreesWithRelatedFormats) {
  for (int c = 0; c < 256; ++c) {
    const auto u = static_cast<uint8_t>(c);
    // e5m2 is the top byte of an f16.
    EXPECT_TRUE(same_value(weightdiff::cpu::f8_to_f64(DType::f8e5m2, u),
                           weightdiff::cpu::f16_to_f64(static_cast<uint16_t>(c << 8))))
        << c;
    // fnuz variants: bias one higher, so half the value, except the NaN codes.
    if (c != 0x80 && (c & 0x7F) != 0x7F) {
      EXPECT_EQ(weightdiff::cpu::f8_to_f64(DType::f8e4m3fnuz, u),
                weightdiff::cpu::f8_to_f64(DType::f8e4m3fn, u) / 2)
          << c;
    }
    if (c != 0x80 && (c & 0x7C) != 0x7C) {
      EXPECT_EQ(weightdiff::cpu::f8_to_f64(DType::f8e5m2fnuz, u),
                weightdiff::cpu::f8_to_f64(DType::f8e5m2, u) / 2)
          << c;
    }
  }
}

TEST(Decode, OffsetsAndOddCountsReadTheRightElements) {
  const auto bytes = all_codes_16();
  for (const DType t : {DType::f16, DType::bf16}) {
    const auto got = decode(t, bytes, 40001, 13);
    for (size_t i = 0; i < got.size(); ++i)
      EXPECT_TRUE(same_value(got[i], decode_small_float(t, static_cast<uint32_t>(40001 + i))));
  }
  for (const DType t : kFp8) {
    const auto got = decode(t, all_codes_8(), 77, 101);
    for (size_t i = 0; i < got.size(); ++i)
      EXPECT_TRUE(same_value(got[i], decode_small_float(t, static_cast<uint32_t>(77 + i))));
  }
}

template <typename T>
std::vector<uint8_t> raw(const std::vector<T>& v) {
  std::vector<uint8_t> out(v.size() * sizeof(T));
  std::memcpy(out.data(), v.data(), out.size());
  return out;
}

TEST(Decode, IntegersRoundToNearestEven) {
  constexpr uint64_t p53 = uint64_t{1} << 53, p63 = uint64_t{1} << 63;
  const auto u = decode(DType::u64, raw<uint64_t>({p53, p53 + 1, p53 + 2, p53 + 3, p63 + 1024,
                                                   p63 + 1025, ~uint64_t{0}}),
                        0, 7);
  const double d53 = std::ldexp(1.0, 53), d63 = std::ldexp(1.0, 63);
  EXPECT_EQ(u, (std::vector<double>{d53, d53, d53 + 2, d53 + 4, d63, d63 + 2048, std::ldexp(1.0, 64)}));
  const int64_t m53 = -static_cast<int64_t>(p53);
  const auto i = decode(DType::i64, raw<int64_t>({m53 - 1, m53 - 3, std::numeric_limits<int64_t>::min(),
                                                  std::numeric_limits<int64_t>::max()}),
                        0, 4);
  EXPECT_EQ(i, (std::vector<double>{-d53, -d53 - 4, -d63, d63}));
  EXPECT_EQ(decode(DType::i32, raw<int32_t>({-2147483647 - 1, 2147483647}), 0, 2),
            (std::vector<double>{-2147483648.0, 2147483647.0}));
  EXPECT_EQ(decode(DType::u32, raw<uint32_t>({4294967295u}), 0, 1), (std::vector<double>{4294967295.0}));
  EXPECT_EQ(decode(DType::i16, raw<int16_t>({-32768, 32767, -1}), 0, 3),
            (std::vector<double>{-32768, 32767, -1}));
  EXPECT_EQ(decode(DType::u16, raw<uint16_t>({65535}), 0, 1), (std::vector<double>{65535}));
  EXPECT_EQ(decode(DType::i8, {0x80, 0x7F, 0xFF}, 0, 3), (std::vector<double>{-128, 127, -1}));
  EXPECT_EQ(decode(DType::u8, {0x80, 0x7F, 0xFF}, 1, 2), (std::vector<double>{127, 255}));
}

TEST(Decode, BoolIsOneForAnyNonzeroByte) {
  EXPECT_EQ(decode(DType::boolean, {0, 1, 2, 0x80, 0xFF, 0}, 0, 6),
            (std::vector<double>{0, 1, 1, 1, 1, 0}));
}

TEST(Decode, FourBitPacksLowNibbleFirst) {
  const std::vector<uint8_t> bytes{0x21, 0xF8, 0x07};
  EXPECT_EQ(decode(DType::u4, bytes, 0, 5), (std::vector<double>{1, 2, 8, 15, 7}));
  EXPECT_EQ(decode(DType::i4, bytes, 0, 5), (std::vector<double>{1, 2, -8, -1, 7}));
  EXPECT_EQ(decode(DType::i4, bytes, 1, 3), (std::vector<double>{2, -8, -1}));  // odd start
  EXPECT_EQ(decode(DType::u4, bytes, 3, 2), (std::vector<double>{15, 7}));
  EXPECT_EQ(decode_values(DType::i4, bytes, 5), (std::vector<double>{1, 2, -8, -1, 7}));
}

TEST(Decode, WideFloatsPassThrough) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const auto f = decode(DType::f32, raw<float>({-0.0f, 1e-45f, 3.4028235e38f, std::nanf("")}), 0, 4);
  EXPECT_TRUE(same_value(f[0], -0.0));
  EXPECT_EQ(f[1], static_cast<double>(1e-45f));  // f32 subnormal
  EXPECT_EQ(f[2], static_cast<double>(3.4028235e38f));
  EXPECT_TRUE(std::isnan(f[3]));
  const auto d = decode(DType::f64, raw<double>({5e-324, -0.0, nan}), 0, 3);
  EXPECT_EQ(d[0], 5e-324);
  EXPECT_TRUE(same_value(d[1], -0.0));
  EXPECT_TRUE(std::isnan(d[2]));
}

// The test-side encoders round-trip every finite code and round ties to even.
TEST(Encode, RoundTripsEveryCodeAndRoundsTiesToEven) {
  for (const DType t : {DType::f16, DType::bf16, DType::f8e4m3fn, DType::f8e4m3fnuz, DType::f8e5m2,
                        DType::f8e5m2fnuz}) {
    SCOPED_TRACE(std::string(weightdiff::dtype_name(t)));
    const uint32_t codes = weightdiff::dtype_bits(t) == 16 ? 65536 : 256;
    for (uint32_t c = 0; c < codes; ++c) {
      const double v = decode_small_float(t, c);
      if (std::isnan(v)) continue;
      EXPECT_EQ(encode_small_float(t, v), c) << "value " << v;
    }
  }
  EXPECT_EQ(f32_to_f16(1.0f + 0x1p-11f), 0x3C00);      // tie -> even (1.0)
  EXPECT_EQ(f32_to_f16(1.0f + 3 * 0x1p-11f), 0x3C02);  // tie -> even (1 + 2^-9)
  EXPECT_EQ(f32_to_f16(65519.0f), 0x7BFF);
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7C00);  // overflow rounds to inf
  EXPECT_EQ(f32_to_f16(0x1p-25f), 0x0000);  // half the smallest subnormal: tie -> 0
  EXPECT_EQ(f32_to_f16(0x1.8p-24f), 0x0002);  // 1.5 subnormal ulps: tie -> 2
  EXPECT_EQ(f32_to_bf16(1.0f + 0x1p-8f), 0x3F80);
  EXPECT_EQ(f32_to_bf16(1.0f + 3 * 0x1p-8f), 0x3F82);
  EXPECT_EQ(f32_to_bf16(std::bit_cast<float>(0x3F808001u)), 0x3F81);  // just above the tie
  EXPECT_EQ(f32_to_f8(DType::f8e4m3fn, 464.0f), 0x7E);  // tie between 448 and 480 -> 448
  EXPECT_EQ(f32_to_f8(DType::f8e4m3fn, 480.0f), 0x7F);  // overflow: NaN (no Inf)
  EXPECT_EQ(f32_to_f8(DType::f8e5m2, 61440.0f), 0x7C);  // tie above the max: inf
  EXPECT_EQ(f32_to_f8(DType::f8e4m3fnuz, -0.0f), 0x00);  // no -0 in fnuz
  EXPECT_EQ(f32_to_f8(DType::f8e5m2fnuz, std::nanf("")), 0x80);
}

}  // namespace
}  // namespace wdtest
