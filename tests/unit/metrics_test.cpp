// The mergeable accumulator and derived metrics (SPEC §2): merge rules with
// 64-bit indices, the zero rules of cosine / rel_l2 / snr_db, nulls, and
// index arithmetic on shapes far past 2^32 elements.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "weightdiff/stats.hpp"
#include "weightdiff/tensor.hpp"

namespace {

using weightdiff::PairStats;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr uint64_t k2p32 = uint64_t{1} << 32;

// A partial over some elements with the given max |d| at `index`.
PairStats partial(uint64_t n, double max_abs, uint64_t index, double a_at, double min_a = -1,
                  double max_a = 1) {
  PairStats s;
  s.numel = s.n_finite = n;
  s.max_abs = max_abs;
  s.max_abs_index = index;
  s.a_at_max_abs = a_at;
  s.b_at_max_abs = a_at + max_abs;
  s.min_a = s.min_b = min_a;
  s.max_a = s.max_b = max_a;
  s.mom_a = s.mom_b = weightdiff::Moments{n, 0.0, 1.0};
  return s;
}

TEST(PairStatsMerge, TiesKeepTheEarlierIndexPast32Bits) {
  PairStats s = partial(10, 2.0, 3 * k2p32 + 5, 7.0);
  s.merge(partial(10, 2.0, 3 * k2p32 + 7, 9.0));
  EXPECT_EQ(s.max_abs_index, 3 * k2p32 + 5);
  EXPECT_EQ(s.a_at_max_abs, 7.0);
  s.merge(partial(10, 2.5, 5 * k2p32 + 1, 11.0));  // strictly larger: taken
  EXPECT_EQ(s.max_abs, 2.5);
  EXPECT_EQ(s.max_abs_index, 5 * k2p32 + 1);
  EXPECT_EQ(s.a_at_max_abs, 11.0);
  EXPECT_EQ(s.b_at_max_abs, 13.5);
  s.merge(partial(10, 2.5, 9 * k2p32, 0.0));
  EXPECT_EQ(s.max_abs_index, 5 * k2p32 + 1);
  EXPECT_EQ(s.numel, 40u);
  EXPECT_EQ(s.n_finite, 40u);
}

TEST(PairStatsMerge, PartialsWithoutFinitePairsDoNotTouchExtremes) {
  PairStats empty;
  empty.numel = 5;
  empty.nan_a = 5;
  PairStats s = empty;
  s.merge(partial(3, 1.0, k2p32 + 9, 4.0, -3, 8));  // first finite partial: taken as is
  EXPECT_EQ(s.max_abs_index, k2p32 + 9);
  EXPECT_EQ(s.min_a, -3);
  EXPECT_EQ(s.max_a, 8);
  s.merge(empty);
  EXPECT_EQ(s.max_abs_index, k2p32 + 9);
  EXPECT_EQ(s.min_a, -3);
  EXPECT_EQ(s.numel, 13u);
  EXPECT_EQ(s.nan_a, 10u);
  s.merge(partial(3, 0.5, 2 * k2p32, 0.0, -4, 2));
  EXPECT_EQ(s.min_a, -4);
  EXPECT_EQ(s.max_a, 8);
  EXPECT_EQ(s.max_abs, 1.0);
}

TEST(PairStatsMerge, SumsCountsHistogramsAndMaxRelAdd) {
  weightdiff::HistRange range{-2, 2};
  PairStats x(range), y(range);
  x.numel = x.n_finite = 2, y.numel = y.n_finite = 3;
  x.equal = 1, y.equal = 2;
  x.mismatched = 1, y.mismatched = 4;
  x.inf_b = 2, y.inf_b = 5;
  x.sum_abs = 1.5, y.sum_abs = 2.25;
  x.dot = -1, y.dot = 4;
  x.max_rel = 0.25, y.max_rel = -1;  // y had no nonzero a
  x.hist_abs_diff.counts = {1, 0, 2, 0};
  y.hist_abs_diff.counts = {0, 3, 1, 0};
  x.hist_a.neg = {0, 0, 0, 1};
  y.hist_a.neg = {1, 0, 0, 1};
  y.hist_b.over = 7;
  x.merge(y);
  EXPECT_EQ(x.numel, 5u);
  EXPECT_EQ(x.equal, 3u);
  EXPECT_EQ(x.mismatched, 5u);
  EXPECT_EQ(x.inf_b, 7u);
  EXPECT_EQ(x.sum_abs, 3.75);
  EXPECT_EQ(x.dot, 3.0);
  EXPECT_EQ(x.max_rel, 0.25);
  EXPECT_EQ(x.hist_abs_diff.counts, (std::vector<uint64_t>{1, 3, 3, 0}));
  EXPECT_EQ(x.hist_a.neg, (std::vector<uint64_t>{1, 0, 0, 2}));
  EXPECT_EQ(x.hist_b.over, 7u);
  EXPECT_EQ(x.hist_a.pos.size(), 4u);
}

TEST(Moments, MergeMatchesTwoPassOverTheWhole) {
  const std::vector<double> v{3.5, -1.25, 1e3, 7, 7, -2e-3, 42, 0.5, 9, -100};
  auto moments = [&](size_t lo, size_t hi) {
    weightdiff::Moments m;
    m.n = hi - lo;
    for (size_t i = lo; i < hi; ++i) m.mean += v[i];
    m.mean /= static_cast<double>(m.n);
    for (size_t i = lo; i < hi; ++i) m.m2 += (v[i] - m.mean) * (v[i] - m.mean);
    return m;
  };
  const weightdiff::Moments whole = moments(0, v.size());
  weightdiff::Moments merged;
  merged.merge(moments(0, 3));
  merged.merge(weightdiff::Moments{});  // empty: no change
  merged.merge(moments(3, 4));
  merged.merge(moments(4, 10));
  EXPECT_EQ(merged.n, whole.n);
  EXPECT_NEAR(merged.mean, whole.mean, 1e-13 * std::fabs(whole.mean));
  EXPECT_NEAR(merged.m2, whole.m2, 1e-13 * whole.m2);
}

TEST(DerivedMetrics, ZeroRules) {
  using weightdiff::cosine_of, weightdiff::rel_l2_of, weightdiff::snr_db_of;
  EXPECT_EQ(cosine_of(0, 0, 0), 1.0);
  EXPECT_EQ(cosine_of(0, 4, 0), 0.0);
  EXPECT_EQ(cosine_of(0, 0, 4), 0.0);
  EXPECT_EQ(cosine_of(-6, 4, 9), -1.0);
  EXPECT_EQ(rel_l2_of(0, 0), 0.0);
  EXPECT_EQ(rel_l2_of(4, 0), kInf);
  EXPECT_EQ(rel_l2_of(4, 16), 0.5);
  EXPECT_EQ(snr_db_of(0, 0), kInf);
  EXPECT_EQ(snr_db_of(0, 4), kInf);
  EXPECT_EQ(snr_db_of(4, 0), -kInf);
  EXPECT_NEAR(snr_db_of(1, 100), 20.0, 1e-12);
}

TEST(DerivedMetrics, NullsWhenNoFinitePair) {
  PairStats s;
  s.numel = 4;
  s.nan_a = 4;
  const auto m = weightdiff::derive_metrics(s);
  EXPECT_FALSE(m.max_abs || m.a_at_max_abs || m.b_at_max_abs || m.mean_abs || m.rmse || m.max_rel);
  EXPECT_FALSE(m.mean_a || m.mean_b || m.std_a || m.std_b || m.min_a || m.max_a || m.min_b || m.max_b);
  EXPECT_EQ(m.norm_a, 0.0);
  EXPECT_EQ(m.cosine, 1.0);
  EXPECT_EQ(m.rel_l2, 0.0);
  EXPECT_EQ(m.snr_db, kInf);
}

TEST(DerivedMetrics, PopulationStdAndMeans) {
  PairStats s;
  s.numel = s.n_finite = 4;
  s.mom_a = {4, 2.5, 5.0};  // 1, 2, 3, 4
  s.mom_b = {4, 0.0, 0.0};
  s.sum_abs = 2, s.sum_sq_diff = 4, s.sum_sq_a = 30;
  s.max_rel = 0;
  const auto m = weightdiff::derive_metrics(s);
  EXPECT_EQ(*m.mean_a, 2.5);
  EXPECT_EQ(*m.std_a, std::sqrt(1.25));
  EXPECT_EQ(*m.std_b, 0.0);
  EXPECT_EQ(*m.mean_abs, 0.5);
  EXPECT_EQ(*m.rmse, 1.0);
  EXPECT_EQ(*m.max_rel, 0.0);  // 0 is a value, not null
  EXPECT_EQ(m.norm_diff, 2.0);
}

// Identical tensors have dot == sum_sq_a == sum_sq_b exactly; their cosine
// must then be exactly 1 (so 1 - cosine prints 0), never an ulp off.
TEST(DerivedMetrics, CosineOfIdenticalTensorsIsExactlyOne) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(1e-3, 1e6);
  for (int i = 0; i < 10000; ++i) {
    const double s = u(rng);
    ASSERT_EQ(weightdiff::cosine_of(s, s, s), 1.0) << s;
  }
  // Outside the range where s*s is normal the plain formula is used.
  EXPECT_NEAR(weightdiff::cosine_of(1e200, 1e200, 1e200), 1.0, 1e-15);
  // Rounding never carries |cosine| past 1.
  EXPECT_LE(weightdiff::cosine_of(1.0000000000000002, 1.0, 1.0), 1.0);
  EXPECT_GE(weightdiff::cosine_of(-1.0000000000000002, 1.0, 1.0), -1.0);
}

TEST(UnravelIndex, LargeShapes) {
  using weightdiff::unravel_index;
  EXPECT_EQ(unravel_index(2999999999, {3, 1000000000}), (std::vector<uint64_t>{2, 999999999}));
  const uint64_t m = uint64_t{1} << 20;
  EXPECT_EQ(unravel_index(m * m * m - 1, {m, m, m}), (std::vector<uint64_t>{m - 1, m - 1, m - 1}));
  EXPECT_EQ(unravel_index((uint64_t{1} << 40) + 5, {m, m, m}), (std::vector<uint64_t>{1, 0, 5}));
  EXPECT_EQ(unravel_index(k2p32 + 1, {k2p32 + 2}), (std::vector<uint64_t>{k2p32 + 1}));
  EXPECT_EQ(unravel_index(0, {}), std::vector<uint64_t>{});
  EXPECT_EQ(unravel_index(7, {2, 1, 4}), (std::vector<uint64_t>{1, 0, 3}));
}

TEST(ShapeString, JoinsWithX) {
  EXPECT_EQ(weightdiff::shape_string({4096, 4096}), "4096x4096");
  EXPECT_EQ(weightdiff::shape_string({0, 4}), "0x4");
  EXPECT_EQ(weightdiff::shape_string({}), "");
}

}  // namespace
