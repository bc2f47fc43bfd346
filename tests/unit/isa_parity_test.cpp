// The CPU pass gives the same bits on every SIMD target Highway dispatches to
// (AVX-512, AVX2, SSE4 and the portable fallback): accumulation happens in 8
// fixed lanes whatever the vector width. Each target this CPU supports is
// forced in turn and compared with the first, field by field, bit for bit.
#include <gtest/gtest.h>
#include <hwy/targets.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <iostream>
#include <random>
#include <vector>

#include "backend/cpu/fused_kernel.hpp"

namespace weightdiff::cpu {
namespace {

uint64_t bits(double x) { return std::bit_cast<uint64_t>(x); }

void expect_same_bits(const PairStats& x, const PairStats& y, const char* target) {
  SCOPED_TRACE(target);
  EXPECT_EQ(x.numel, y.numel);
  EXPECT_EQ(x.n_finite, y.n_finite);
  EXPECT_EQ(x.equal, y.equal);
  EXPECT_EQ(x.mismatched, y.mismatched);
  EXPECT_EQ(x.nan_a, y.nan_a);
  EXPECT_EQ(x.nan_b, y.nan_b);
  EXPECT_EQ(x.inf_a, y.inf_a);
  EXPECT_EQ(x.inf_b, y.inf_b);
  for (auto [p, q] : {std::pair{x.sum_abs, y.sum_abs}, {x.sum_sq_diff, y.sum_sq_diff},
                      {x.dot, y.dot}, {x.sum_sq_a, y.sum_sq_a}, {x.sum_sq_b, y.sum_sq_b},
                      {x.mom_a.mean, y.mom_a.mean}, {x.mom_a.m2, y.mom_a.m2},
                      {x.mom_b.mean, y.mom_b.mean}, {x.mom_b.m2, y.mom_b.m2},
                      {x.min_a, y.min_a}, {x.max_a, y.max_a}, {x.min_b, y.min_b},
                      {x.max_b, y.max_b}, {x.max_abs, y.max_abs},
                      {x.a_at_max_abs, y.a_at_max_abs}, {x.b_at_max_abs, y.b_at_max_abs},
                      {x.max_rel, y.max_rel}})
    EXPECT_EQ(bits(p), bits(q));
  EXPECT_EQ(x.max_abs_index, y.max_abs_index);
  EXPECT_EQ(x.hist_abs_diff.counts, y.hist_abs_diff.counts);
  EXPECT_EQ(x.hist_abs_diff.zero, y.hist_abs_diff.zero);
  EXPECT_EQ(x.hist_abs_diff.over, y.hist_abs_diff.over);
  EXPECT_EQ(x.hist_a.pos, y.hist_a.pos);
  EXPECT_EQ(x.hist_a.neg, y.hist_a.neg);
  EXPECT_EQ(x.hist_b.pos, y.hist_b.pos);
  EXPECT_EQ(x.hist_b.neg, y.hist_b.neg);
}

// Random f32 pairs with a sprinkle of NaN, ±Inf, ±0 and exact ties; a length
// that is not a multiple of 8 or of the 1024-element block.
std::vector<float> make_side(std::mt19937_64& rng, size_t n, const std::vector<float>* base) {
  std::normal_distribution<float> normal(0.0f, 0.02f);
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = base ? (*base)[i] + 1e-3f * normal(rng) : normal(rng);
  for (size_t i = 7; i < n; i += 997) v[i] = NAN;
  for (size_t i = 11; i < n; i += 1231) v[i] = (i % 2) ? INFINITY : -INFINITY;
  for (size_t i = 13; i < n; i += 331) v[i] = (i % 2) ? 0.0f : -0.0f;
  return v;
}

PairStats run(const std::vector<float>& a, const std::vector<float>& b) {
  const ChunkInput in{DType::f32, DType::f32, reinterpret_cast<const std::byte*>(a.data()),
                      reinterpret_cast<const std::byte*>(b.data()), 0, a.size(), 1e-5, 1.3e-6,
                      HistRange{}};
  return reduce_chunk(in);
}

TEST(IsaParity, EverySupportedTargetGivesTheSameBits) {
  std::mt19937_64 rng(20261128);
  const size_t n = 3 * 1024 + 517;
  const auto a = make_side(rng, n, nullptr);
  const auto b = make_side(rng, n, &a);

  const std::vector<int64_t> targets = hwy::SupportedAndGeneratedTargets();
  ASSERT_FALSE(targets.empty());
  hwy::SetSupportedTargetsForTest(targets.front());
  const PairStats first = run(a, b);
  ASSERT_GT(first.n_finite, 0u);
  ASSERT_GT(first.nan_a, 0u);
  std::cout << "[ targets  ] " << hwy::TargetName(targets.front());
  for (size_t t = 1; t < targets.size(); ++t) {
    std::cout << ' ' << hwy::TargetName(targets[t]);
    hwy::SetSupportedTargetsForTest(targets[t]);
    expect_same_bits(first, run(a, b), hwy::TargetName(targets[t]));
  }
  std::cout << '\n';
  hwy::SetSupportedTargetsForTest(0);
  if (targets.size() < 2) GTEST_SKIP() << "this CPU supports only one SIMD target";
}

}  // namespace
}  // namespace weightdiff::cpu
