#include <algorithm>
#include <cmath>

#include "weightdiff/stats.hpp"

namespace weightdiff {
namespace {

std::optional<double> defined_if(bool ok, double v) {
  return ok ? std::optional<double>(v) : std::nullopt;
}

}  // namespace

PairStats::PairStats(HistRange r) {
  const size_t nb = static_cast<size_t>(std::max(0, r.bins()));
  hist_abs_diff.counts.assign(nb, 0);
  hist_a.pos.assign(nb, 0);
  hist_a.neg.assign(nb, 0);
  hist_b.pos.assign(nb, 0);
  hist_b.neg.assign(nb, 0);
}

double cosine_of(double dot, double sum_sq_a, double sum_sq_b) noexcept {
  const double na = std::sqrt(sum_sq_a), nb = std::sqrt(sum_sq_b);
  if (na == 0 && nb == 0) return 1.0;
  if (na == 0 || nb == 0) return 0.0;
  // dot / sqrt(|a|^2 |b|^2) equals dot / (|a| |b|) in exact arithmetic and
  // is exactly 1 for identical tensors (sqrt(fl(s*s)) == s), where
  // sqrt(s) * sqrt(s) is often an ulp off; fall back when the product leaves
  // the normal range. Rounding may still step just past ±1: clamp.
  const double product = sum_sq_a * sum_sq_b;
  const double c = std::isnormal(product) ? dot / std::sqrt(product) : dot / (na * nb);
  return std::clamp(c, -1.0, 1.0);
}

double rel_l2_of(double sum_sq_diff, double sum_sq_a) noexcept {
  const double nd = std::sqrt(sum_sq_diff), na = std::sqrt(sum_sq_a);
  if (na == 0) return nd == 0 ? 0.0 : INFINITY;
  return nd / na;
}

double snr_db_of(double sum_sq_diff, double sum_sq_a) noexcept {
  const double nd = std::sqrt(sum_sq_diff), na = std::sqrt(sum_sq_a);
  if (nd == 0) return INFINITY;
  if (na == 0) return -INFINITY;
  return 20.0 * std::log10(na / nd);
}

Metrics derive_metrics(const PairStats& s) {
  Metrics m;
  const bool any = s.n_finite > 0;
  const double n = static_cast<double>(s.n_finite);
  m.max_abs = defined_if(any, s.max_abs);
  m.a_at_max_abs = defined_if(any, s.a_at_max_abs);
  m.b_at_max_abs = defined_if(any, s.b_at_max_abs);
  m.mean_abs = defined_if(any, s.sum_abs / n);
  m.rmse = defined_if(any, std::sqrt(s.sum_sq_diff / n));
  m.max_rel = defined_if(s.max_rel >= 0, s.max_rel);
  m.norm_a = std::sqrt(s.sum_sq_a);
  m.norm_b = std::sqrt(s.sum_sq_b);
  m.norm_diff = std::sqrt(s.sum_sq_diff);
  m.cosine = cosine_of(s.dot, s.sum_sq_a, s.sum_sq_b);
  m.rel_l2 = rel_l2_of(s.sum_sq_diff, s.sum_sq_a);
  m.snr_db = snr_db_of(s.sum_sq_diff, s.sum_sq_a);
  m.mean_a = defined_if(any, s.mom_a.mean);
  m.mean_b = defined_if(any, s.mom_b.mean);
  m.std_a = defined_if(any, std::sqrt(s.mom_a.m2 / n));
  m.std_b = defined_if(any, std::sqrt(s.mom_b.m2 / n));
  m.min_a = defined_if(any, s.min_a);
  m.max_a = defined_if(any, s.max_a);
  m.min_b = defined_if(any, s.min_b);
  m.max_b = defined_if(any, s.max_b);
  // Outside F one side at least is NaN/Inf; elements where both are make up
  // the rest: nonfinite_a + nonfinite_b = (numel - n_finite) + both.
  const uint64_t nonfinite_a = s.nan_a + s.inf_a, nonfinite_b = s.nan_b + s.inf_b;
  const uint64_t outside = s.numel - s.n_finite;
  const uint64_t both = nonfinite_a + nonfinite_b >= outside ? nonfinite_a + nonfinite_b - outside : 0;
  m.nonfinite_introduced = nonfinite_b >= both ? nonfinite_b - both : 0;
  m.nonfinite_removed = nonfinite_a >= both ? nonfinite_a - both : 0;
  return m;
}

}  // namespace weightdiff
