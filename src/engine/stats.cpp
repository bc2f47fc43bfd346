#include <algorithm>
#include <cmath>

#include "weightdiff/stats.hpp"

namespace weightdiff {
namespace {

void add_into(std::vector<uint64_t>& into, const std::vector<uint64_t>& from) {
  for (size_t i = 0; i < into.size() && i < from.size(); ++i) into[i] += from[i];
}

std::optional<double> defined_if(bool ok, double v) {
  return ok ? std::optional<double>(v) : std::nullopt;
}

}  // namespace

void Moments::merge(const Moments& o) noexcept {
  if (o.n == 0) return;
  if (n == 0) {
    *this = o;
    return;
  }
  const double na = static_cast<double>(n), nb = static_cast<double>(o.n);
  const double total = na + nb;
  const double delta = o.mean - mean;
  mean += delta * (nb / total);
  m2 += o.m2 + delta * delta * (na * nb / total);
  n += o.n;
}

PairStats::PairStats(HistRange r) {
  const size_t nb = static_cast<size_t>(std::max(0, r.bins()));
  hist_abs_diff.counts.assign(nb, 0);
  hist_a.pos.assign(nb, 0);
  hist_a.neg.assign(nb, 0);
  hist_b.pos.assign(nb, 0);
  hist_b.neg.assign(nb, 0);
}

void PairStats::merge(const PairStats& later) {
  if (later.n_finite > 0) {
    if (n_finite == 0) {
      min_a = later.min_a, max_a = later.max_a, min_b = later.min_b, max_b = later.max_b;
      max_abs = later.max_abs, max_abs_index = later.max_abs_index;
      a_at_max_abs = later.a_at_max_abs, b_at_max_abs = later.b_at_max_abs;
    } else {
      min_a = std::min(min_a, later.min_a), max_a = std::max(max_a, later.max_a);
      min_b = std::min(min_b, later.min_b), max_b = std::max(max_b, later.max_b);
      if (later.max_abs > max_abs) {  // ties keep the earlier (smaller) index
        max_abs = later.max_abs, max_abs_index = later.max_abs_index;
        a_at_max_abs = later.a_at_max_abs, b_at_max_abs = later.b_at_max_abs;
      }
    }
  }
  numel += later.numel;
  n_finite += later.n_finite;
  equal += later.equal;
  mismatched += later.mismatched;
  nan_a += later.nan_a, nan_b += later.nan_b, inf_a += later.inf_a, inf_b += later.inf_b;
  sum_abs += later.sum_abs;
  sum_sq_diff += later.sum_sq_diff;
  dot += later.dot;
  sum_sq_a += later.sum_sq_a;
  sum_sq_b += later.sum_sq_b;
  mom_a.merge(later.mom_a);
  mom_b.merge(later.mom_b);
  max_rel = std::max(max_rel, later.max_rel);

  hist_abs_diff.zero += later.hist_abs_diff.zero;
  hist_abs_diff.under += later.hist_abs_diff.under;
  hist_abs_diff.over += later.hist_abs_diff.over;
  add_into(hist_abs_diff.counts, later.hist_abs_diff.counts);
  for (auto [into, from] : {std::pair{&hist_a, &later.hist_a}, std::pair{&hist_b, &later.hist_b}}) {
    into->zero += from->zero;
    into->under += from->under;
    into->over += from->over;
    add_into(into->pos, from->pos);
    add_into(into->neg, from->neg);
  }
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
  return m;
}

}  // namespace weightdiff
