// The one partial accumulator and derived metrics (SPEC §2): combine rules with
// 64-bit indices, the zero rules of cosine / rel_l2 / snr_db, nulls, and
// index arithmetic on shapes far past 2^32 elements.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "backend/partial_stats.hpp"
#include "weightdiff/stats.hpp"
#include "weightdiff/tensor.hpp"

namespace {

using weightdiff::PairStats;
using weightdiff::backend::Partial;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr uint64_t k2p32 = uint64_t{1} << 32;

// A partial over n finite pairs with the given max |d| at `index`.
Partial partial(uint64_t n, double max_abs, uint64_t index, double a_at, double min_a = -1,
                double max_a = 1) {
  Partial p = weightdiff::backend::empty_partial();
  p.n_fin = n;
  p.mx = max_abs;
  p.mx_i = index;
  p.a_mx = a_at;
  p.b_mx = a_at + max_abs;
  p.min_a = p.min_b = min_a;
  p.max_a = p.max_b = max_a;
  p.m2_a = p.m2_b = 1.0;
  return p;
}

TEST(PartialCombine, TiesKeepTheEarlierIndexPast32Bits) {
  Partial s = partial(10, 2.0, 3 * k2p32 + 5, 7.0);
  combine(s, partial(10, 2.0, 3 * k2p32 + 7, 9.0));
  EXPECT_EQ(s.mx_i, 3 * k2p32 + 5);
  EXPECT_EQ(s.a_mx, 7.0);
  combine(s, partial(10, 2.5, 5 * k2p32 + 1, 11.0));  // strictly larger: taken
  EXPECT_EQ(s.mx, 2.5);
  EXPECT_EQ(s.mx_i, 5 * k2p32 + 1);
  EXPECT_EQ(s.a_mx, 11.0);
  EXPECT_EQ(s.b_mx, 13.5);
  combine(s, partial(10, 2.5, 9 * k2p32, 0.0));
  EXPECT_EQ(s.mx_i, 5 * k2p32 + 1);
  EXPECT_EQ(s.n_fin, 40u);
}

TEST(PartialCombine, PartialsWithoutFinitePairsDoNotTouchExtremes) {
  Partial empty = weightdiff::backend::empty_partial();
  empty.nan_a = 5;
  Partial s = empty;
  combine(s, partial(3, 1.0, k2p32 + 9, 4.0, -3, 8));  // first finite partial: taken as is
  EXPECT_EQ(s.mx_i, k2p32 + 9);
  EXPECT_EQ(s.min_a, -3);
  EXPECT_EQ(s.max_a, 8);
  combine(s, empty);
  EXPECT_EQ(s.mx_i, k2p32 + 9);
  EXPECT_EQ(s.min_a, -3);
  EXPECT_EQ(s.nan_a, 10u);
  combine(s, partial(3, 0.5, 2 * k2p32, 0.0, -4, 2));
  EXPECT_EQ(s.min_a, -4);
  EXPECT_EQ(s.max_a, 8);
  EXPECT_EQ(s.mx, 1.0);
  // A tensor without finite pairs: PairStats' defaults, not the empty state's infinities.
  const weightdiff::HistRange r;
  std::vector<uint64_t> slots(weightdiff::backend::hist_layout(r).total(), 0);
  const PairStats none = weightdiff::backend::pair_stats_of(empty, slots.data(), r, 5);
  EXPECT_EQ(none.min_a, 0.0);
  EXPECT_EQ(none.max_abs, 0.0);
  EXPECT_EQ(none.max_rel, -1.0);
  EXPECT_EQ(none.nan_a, 5u);
}

TEST(PartialCombine, SumsCountsAndMaxRelAdd) {
  Partial x = weightdiff::backend::empty_partial(), y = x;
  x.n_fin = 2, y.n_fin = 3;
  x.n_eq = 1, y.n_eq = 2;
  x.n_mis = 1, y.n_mis = 4;
  x.inf_b = 2, y.inf_b = 5;
  x.s_abs = 1.5, y.s_abs = 2.25;
  x.s_dot = -1, y.s_dot = 4;
  x.mrel = 0.25, y.mrel = -1;  // y had no nonzero a
  combine(x, y);
  EXPECT_EQ(x.n_fin, 5u);
  EXPECT_EQ(x.n_eq, 3u);
  EXPECT_EQ(x.n_mis, 5u);
  EXPECT_EQ(x.inf_b, 7u);
  EXPECT_EQ(x.s_abs, 3.75);
  EXPECT_EQ(x.s_dot, 3.0);
  EXPECT_EQ(x.mrel, 0.25);
}

// The slot layout read back into PairStats' histograms.
TEST(PartialStats, SlotsBecomeTheHistograms) {
  const weightdiff::HistRange r{-2, 2};
  const auto h = weightdiff::backend::hist_layout(r);
  ASSERT_EQ(h.total(), 5u * 4 + 9);
  std::vector<uint64_t> slots(h.total());
  for (size_t k = 0; k < slots.size(); ++k) slots[k] = 100 + k;
  const PairStats s = weightdiff::backend::pair_stats_of(partial(1, 1, 0, 0), slots.data(), r, 1);
  EXPECT_EQ(s.hist_abs_diff.zero, 100u);
  EXPECT_EQ(s.hist_abs_diff.under, 101u);
  EXPECT_EQ(s.hist_abs_diff.counts, (std::vector<uint64_t>{102, 103, 104, 105}));
  EXPECT_EQ(s.hist_abs_diff.over, 106u);
  EXPECT_EQ(s.hist_a.zero, 107u);
  EXPECT_EQ(s.hist_a.under, 108u);
  EXPECT_EQ(s.hist_a.over, 109u);
  EXPECT_EQ(s.hist_a.pos, (std::vector<uint64_t>{110, 111, 112, 113}));
  EXPECT_EQ(s.hist_a.neg, (std::vector<uint64_t>{114, 115, 116, 117}));
  EXPECT_EQ(s.hist_b.zero, 118u);
  EXPECT_EQ(s.hist_b.neg.back(), 128u);
}

TEST(Moments, MergeMatchesTwoPassOverTheWhole) {
  const std::vector<double> v{3.5, -1.25, 1e3, 7, 7, -2e-3, 42, 0.5, 9, -100};
  struct M {
    uint64_t n = 0;
    double mean = 0, m2 = 0;
  };
  auto moments = [&](size_t lo, size_t hi) {
    M m;
    m.n = hi - lo;
    for (size_t i = lo; i < hi; ++i) m.mean += v[i];
    m.mean /= static_cast<double>(m.n);
    for (size_t i = lo; i < hi; ++i) m.m2 += (v[i] - m.mean) * (v[i] - m.mean);
    return m;
  };
  const M whole = moments(0, v.size());
  M merged;
  for (const M& part : {moments(0, 3), M{}, moments(3, 4), moments(4, 10)}) {  // M{}: empty
    weightdiff::backend::merge_moments(merged.n, merged.mean, merged.m2, part.n, part.mean, part.m2);
    merged.n += part.n;
  }
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
