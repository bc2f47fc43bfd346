// quant_groups (issue 12 item 5): the grouping, the pooled and per-tensor
// statistics and the order, on hand-built results whose sums are random
// (fixed seed), against values computed here from the definitions.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "weightdiff/quant_groups.hpp"

namespace weightdiff {
namespace {

TensorDiff pair(std::string name, std::string dtype_a, std::string dtype_b, double ssa, double ssd,
                double max_abs, uint64_t n = 100) {
  TensorDiff t;
  t.name = t.name_b = std::move(name);
  t.status = ssd == 0 ? Status::identical : Status::different;
  t.dtype_a = std::move(dtype_a);
  t.dtype_b = std::move(dtype_b);
  t.floating = true;
  t.stats.emplace();
  t.stats->numel = t.stats->n_finite = n;
  t.stats->sum_sq_a = ssa;
  t.stats->sum_sq_diff = ssd;
  t.stats->max_abs = max_abs;
  return t;
}

// SPEC §2: norm_diff / norm_a and 20·log10(norm_a / norm_diff).
double rel(double ssa, double ssd) { return std::sqrt(ssd) / std::sqrt(ssa); }
double snr(double ssa, double ssd) { return 20.0 * std::log10(std::sqrt(ssa) / std::sqrt(ssd)); }

TEST(QuantGroups, NoQuantizedSideGivesNoGroups) {
  DiffResult r;
  r.tensors.push_back(pair("a", "f32", "bf16", 4, 1e-4, 0.01));
  r.tensors.push_back(pair("b", "f32", "f16", 4, 1e-6, 0.001));
  EXPECT_TRUE(quant_groups(r).empty());
  EXPECT_FALSE(has_quantized_side(r.tensors[0]));
  // A quantized pair that was not compared (shape mismatch) does not count either.
  TensorDiff s = pair("c", "f32", "q4_K", 1, 1, 1);
  s.status = Status::shape_mismatch;
  s.stats.reset();
  r.tensors.push_back(s);
  EXPECT_TRUE(has_quantized_side(r.tensors.back()));
  EXPECT_TRUE(quant_groups(r).empty());
}

TEST(QuantGroups, WhatCountsAsQuantized) {
  EXPECT_TRUE(has_quantized_side(pair("x", "q8_0", "f32", 1, 1, 1)));
  EXPECT_TRUE(has_quantized_side(pair("x", "f32", "f8e5m2", 1, 1, 1)));
  EXPECT_FALSE(has_quantized_side(pair("x", "f32", "i8", 1, 1, 1)));  // integers are not floating quant types
  TensorDiff d = pair("x", "f32", "i32", 1, 1, 1);
  d.quant_b = "gptq_int4[g128]";
  EXPECT_TRUE(has_quantized_side(d));
  EXPECT_EQ(quant_type(d, false), "gptq_int4[g128]");
}

TEST(QuantGroups, PooledAndPerTensorStatisticsFromTheDefinitions) {
  std::mt19937_64 rng(20261206);
  std::uniform_real_distribution<double> ssa_d(0.5, 50.0), ratio(1e-4, 1e-1), mx(1e-3, 1.0);
  const std::vector<std::string> types = {"q4_K", "q8_0", "f16"};
  DiffResult r;
  for (int i = 0; i < 23; ++i) {
    const std::string& qb = types[i % 3];
    const double a = ssa_d(rng);
    const double scale = qb == "q4_K" ? 10.0 : qb == "q8_0" ? 0.1 : 0.001;
    std::string name = "t";  // not "t" + …: GCC 12's -Wrestrict false positive
    name += std::to_string(100 + i);
    r.tensors.push_back(pair(name, "bf16", qb, a, a * ratio(rng) * scale, mx(rng),
                             50 + static_cast<uint64_t>(i)));
  }
  // Not counted: an integer pair, and one only in A.
  TensorDiff ints = pair("ids", "i64", "i64", 0, 0, 0);
  ints.floating = false;
  r.tensors.push_back(ints);
  TensorDiff gone;
  gone.name = "gone";
  gone.status = Status::only_in_a;
  gone.dtype_a = "q4_K";
  r.tensors.push_back(gone);

  const auto groups = quant_groups(r);
  ASSERT_EQ(groups.size(), 3u);
  for (const auto& g : groups) {
    EXPECT_EQ(g.quant_a, "bf16");
    double ssa = 0, ssd = 0;
    uint64_t n = 0, elements = 0;
    std::vector<double> rels, snrs, maxes;
    std::string worst;
    double worst_snr = std::numeric_limits<double>::infinity();
    for (const auto& t : r.tensors) {
      if (!t.floating || t.dtype_b != g.quant_b || !t.stats) continue;
      ssa += t.stats->sum_sq_a;
      ssd += t.stats->sum_sq_diff;
      ++n;
      elements += t.stats->n_finite;
      rels.push_back(rel(t.stats->sum_sq_a, t.stats->sum_sq_diff));
      snrs.push_back(snr(t.stats->sum_sq_a, t.stats->sum_sq_diff));
      maxes.push_back(t.stats->max_abs);
      if (snrs.back() < worst_snr) worst_snr = snrs.back(), worst = t.name;
    }
    EXPECT_EQ(g.tensors, n);
    EXPECT_EQ(g.elements, elements);
    EXPECT_NEAR(g.rel_l2, rel(ssa, ssd), 1e-12 * g.rel_l2);
    EXPECT_NEAR(g.snr_db, snr(ssa, ssd), 1e-9);
    for (auto* v : {&rels, &snrs, &maxes}) std::sort(v->begin(), v->end());
    const size_t mid = (n - 1) / 2;  // 8 or 7 members: the lower median
    EXPECT_EQ(g.rel_l2_median, rels[mid]);
    EXPECT_EQ(g.rel_l2_max, rels.back());
    EXPECT_NEAR(g.snr_db_median, snrs[mid], 1e-9);
    EXPECT_NEAR(g.snr_db_min, snrs.front(), 1e-9);
    EXPECT_EQ(g.max_abs_median, maxes[mid]);
    EXPECT_EQ(g.max_abs_max, maxes.back());
    EXPECT_EQ(g.worst, worst);
  }
  // Worst pooled SNR first.
  EXPECT_EQ(groups[0].quant_b, "q4_K");
  EXPECT_EQ(groups[1].quant_b, "q8_0");
  EXPECT_EQ(groups[2].quant_b, "f16");
}

TEST(QuantGroups, IdenticalAndNonFiniteOnlyPairs) {
  DiffResult r;
  r.tensors.push_back(pair("same", "q8_0", "q8_0", 3, 0, 0));
  // Every element NaN/Inf somewhere: no finite pair, so no max_abs to report.
  TensorDiff nan = pair("nan", "f32", "q4_0", 0, 0, 0, 0);
  nan.stats->numel = 10;
  r.tensors.push_back(nan);
  const auto groups = quant_groups(r);
  ASSERT_EQ(groups.size(), 2u);
  // Both SNRs are +inf (nothing differs): equal, so key order: f32 before q8_0.
  EXPECT_EQ(groups[0].quant_a, "f32");
  EXPECT_EQ(groups[0].elements, 0u);
  EXPECT_FALSE(groups[0].max_abs_median.has_value());
  EXPECT_EQ(groups[1].quant_a, "q8_0");
  EXPECT_EQ(groups[1].rel_l2, 0.0);
  EXPECT_TRUE(std::isinf(groups[1].snr_db) && groups[1].snr_db > 0);
  EXPECT_EQ(groups[1].max_abs_max, 0.0);
}

TEST(QuantGroups, TiesKeepTheFirstTensorAsWorst) {
  DiffResult r;
  r.tensors.push_back(pair("first", "f32", "q4_K", 2, 0.02, 0.1));
  r.tensors.push_back(pair("second", "f32", "q4_K", 2, 0.02, 0.2));
  const auto groups = quant_groups(r);
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].worst, "first");
  EXPECT_EQ(groups[0].max_abs_median, 0.1);  // lower median of two
}

}  // namespace
}  // namespace weightdiff
