// DType names, sizes and default tolerances (SPEC §3, §5).
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "weightdiff/dtype.hpp"

namespace {

using weightdiff::DType;

TEST(DType, NamesAreTheSpecsAndRoundTrip) {
  const std::vector<std::string> spec{"f64", "f32", "f16", "bf16", "f8e4m3fn", "f8e4m3fnuz",
                                      "f8e5m2", "f8e5m2fnuz", "i64", "i32", "i16", "i8",
                                      "u64", "u32", "u16", "u8", "bool", "i4", "u4",
                                      "q4_0", "q4_1", "q5_0", "q5_1", "q8_0",
                                      "q2_K", "q3_K", "q4_K", "q5_K", "q6_K"};
  ASSERT_EQ(spec.size(), static_cast<size_t>(weightdiff::kDTypeCount));
  std::set<std::string> seen;
  for (int i = 0; i < weightdiff::kDTypeCount; ++i) {
    const auto t = static_cast<DType>(i);
    const std::string name(weightdiff::dtype_name(t));
    seen.insert(name);
    const auto back = weightdiff::dtype_from_name(name);
    ASSERT_TRUE(back.has_value()) << name;
    EXPECT_EQ(*back, t);
  }
  EXPECT_EQ(seen, std::set<std::string>(spec.begin(), spec.end()));
  EXPECT_FALSE(weightdiff::dtype_from_name("F32").has_value());  // names are case-sensitive
  EXPECT_FALSE(weightdiff::dtype_from_name("").has_value());
  EXPECT_FALSE(weightdiff::dtype_from_name("float32").has_value());
}

TEST(DType, BitsAndFloatness) {
  EXPECT_EQ(weightdiff::dtype_bits(DType::f64), 64u);
  EXPECT_EQ(weightdiff::dtype_bits(DType::bf16), 16u);
  EXPECT_EQ(weightdiff::dtype_bits(DType::f8e5m2fnuz), 8u);
  EXPECT_EQ(weightdiff::dtype_bits(DType::boolean), 8u);
  EXPECT_EQ(weightdiff::dtype_bits(DType::u64), 64u);
  EXPECT_EQ(weightdiff::dtype_bits(DType::i4), 4u);
  EXPECT_EQ(weightdiff::dtype_bits(DType::u4), 4u);
  for (const DType t : {DType::f64, DType::f32, DType::f16, DType::bf16, DType::f8e4m3fn,
                        DType::f8e4m3fnuz, DType::f8e5m2, DType::f8e5m2fnuz})
    EXPECT_TRUE(weightdiff::dtype_is_float(t)) << weightdiff::dtype_name(t);
  for (const DType t : {DType::i64, DType::u8, DType::boolean, DType::i4})
    EXPECT_FALSE(weightdiff::dtype_is_float(t)) << weightdiff::dtype_name(t);
}

TEST(DType, StorageBytesPackNibblesAndDetectOverflow) {
  EXPECT_EQ(weightdiff::dtype_storage_bytes(DType::f32, 3), 12u);
  EXPECT_EQ(weightdiff::dtype_storage_bytes(DType::i4, 0), 0u);
  EXPECT_EQ(weightdiff::dtype_storage_bytes(DType::i4, 5), 3u);
  EXPECT_EQ(weightdiff::dtype_storage_bytes(DType::u4, 6), 3u);
  EXPECT_EQ(weightdiff::dtype_storage_bytes(DType::u4, ~uint64_t{0}), uint64_t{1} << 63);
  EXPECT_EQ(weightdiff::dtype_storage_bytes(DType::u8, ~uint64_t{0}), ~uint64_t{0});
  EXPECT_FALSE(weightdiff::dtype_storage_bytes(DType::f16, uint64_t{1} << 63).has_value());
  EXPECT_FALSE(weightdiff::dtype_storage_bytes(DType::f64, uint64_t{1} << 61).has_value());
  EXPECT_EQ(weightdiff::dtype_storage_bytes(DType::f64, (uint64_t{1} << 61) - 1),
            ~uint64_t{0} - 7);  // 2^64 - 8
}

TEST(DType, DefaultTolerancesFollowTorchTesting) {
  struct Want {
    DType t;
    double atol, rtol;
  };
  const Want want[] = {
      {DType::f64, 1e-7, 1e-7},        {DType::f32, 1e-5, 1.3e-6},
      {DType::f16, 1e-5, 1e-3},        {DType::bf16, 1e-5, 1.6e-2},
      {DType::f8e4m3fn, 1e-5, 0.125},  {DType::f8e4m3fnuz, 1e-5, 0.125},
      {DType::f8e5m2, 1e-5, 0.25},     {DType::f8e5m2fnuz, 1e-5, 0.25},
      {DType::i64, 0, 0},              {DType::i32, 0, 0},
      {DType::i16, 0, 0},              {DType::i8, 0, 0},
      {DType::u64, 0, 0},              {DType::u32, 0, 0},
      {DType::u16, 0, 0},              {DType::u8, 0, 0},
      {DType::boolean, 0, 0},          {DType::i4, 0, 0},
      {DType::u4, 0, 0},
  };
  for (const auto& w : want) {
    const auto tol = weightdiff::default_tolerance(w.t);
    EXPECT_EQ(tol.atol, w.atol) << weightdiff::dtype_name(w.t);
    EXPECT_EQ(tol.rtol, w.rtol) << weightdiff::dtype_name(w.t);
  }
}

}  // namespace
