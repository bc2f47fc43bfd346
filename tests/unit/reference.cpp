#include "reference.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>

#include "weightdiff/tensor.hpp"

namespace wdtest {
namespace {

constexpr double kSumRel = 1e-9;
constexpr double kCosineAbs = 1e-12;

// SPEC §4: the bin of a finite |x| > 0 is its binary exponent floor(log2 |x|);
// +inf (an overflowed d) is `over`.
enum class Slot { zero, under, bin, over };
Slot slot_of(double ax, int lo, int hi, int& bin) {
  if (ax == 0) return Slot::zero;
  if (std::isinf(ax)) return Slot::over;
  const int e = std::ilogb(ax);
  if (e < lo) return Slot::under;
  if (e >= hi) return Slot::over;
  bin = e - lo;
  return Slot::bin;
}

void add_value(RefValueHist& h, double x, int lo, int hi) {
  int bin = 0;
  switch (slot_of(std::fabs(x), lo, hi, bin)) {
    case Slot::zero: ++h.zero; break;
    case Slot::under: ++h.under; break;
    case Slot::over: ++h.over; break;
    case Slot::bin: ++(x < 0 ? h.neg : h.pos)[bin]; break;
  }
}

// |got - ref| <= rel * scale, spelled out in the failure message.
void expect_sum(const char* what, double got, const RefSum& ref) {
  const long double want = ref.value();
  const long double bound = kSumRel * ref.abs;
  EXPECT_LE(std::fabs(static_cast<long double>(got) - want), bound)
      << what << ": got " << got << ", reference " << static_cast<double>(want)
      << ", bound " << static_cast<double>(bound);
}

// A derived value: relative agreement, or the same infinity/zero.
void expect_rel(const char* what, double got, long double want, double rel = 1e-9) {
  if (std::isinf(want) || want == 0) {
    EXPECT_EQ(got, static_cast<double>(want)) << what;
    return;
  }
  EXPECT_LE(std::fabs(got - want), rel * std::fabs(want))
      << what << ": got " << got << ", reference " << static_cast<double>(want);
}

}  // namespace

void RefSum::add(long double x) {
  // Long double keeps 64 mantissa bits: over n terms the error stays below
  // n * 2^-64 * abs (1e-13 * abs at n = 2^21), far inside SPEC's 1e-9 * abs.
  sum += x;
  abs += std::fabs(x);
}

long double RefStats::cosine() const {
  const long double na = std::sqrt(sum_sq_a.value()), nb = std::sqrt(sum_sq_b.value());
  if (na == 0 && nb == 0) return 1;
  if (na == 0 || nb == 0) return 0;
  return dot.value() / (na * nb);
}

long double RefStats::rel_l2() const {
  const long double nd = std::sqrt(sum_sq_diff.value()), na = std::sqrt(sum_sq_a.value());
  if (na == 0) return nd == 0 ? 0 : std::numeric_limits<long double>::infinity();
  return nd / na;
}

long double RefStats::snr_db() const {
  const long double nd = std::sqrt(sum_sq_diff.value()), na = std::sqrt(sum_sq_a.value());
  if (nd == 0) return std::numeric_limits<long double>::infinity();
  if (na == 0) return -std::numeric_limits<long double>::infinity();
  return 20 * std::log10(na / nd);
}

RefStats reference_stats(const std::vector<double>& a, const std::vector<double>& b, double atol,
                         double rtol, int lo, int hi) {
  RefStats r;
  const size_t nb = static_cast<size_t>(hi - lo);
  r.hist_abs_diff.counts.assign(nb, 0);
  for (RefValueHist* h : {&r.hist_a, &r.hist_b}) {
    h->pos.assign(nb, 0);
    h->neg.assign(nb, 0);
  }
  r.numel = a.size();
  bool have_max = false;
  for (uint64_t i = 0; i < a.size(); ++i) {
    const double x = a[i], y = b[i];
    r.nan_a += std::isnan(x);
    r.nan_b += std::isnan(y);
    r.inf_a += std::isinf(x);
    r.inf_b += std::isinf(y);
    const bool equal = x == y || (std::isnan(x) && std::isnan(y));
    r.equal += equal;
    if (std::isfinite(x)) add_value(r.hist_a, x, lo, hi);
    if (std::isfinite(y)) add_value(r.hist_b, y, lo, hi);
    if (!(std::isfinite(x) && std::isfinite(y))) {
      r.mismatched += !equal;
      continue;
    }
    ++r.n_finite;
    const double d = y - x;
    const double ad = std::fabs(d);
    const double tol = atol + rtol * std::fabs(x);  // built with -ffp-contract=off
    r.mismatched += !(ad <= tol);
    if (!have_max || ad > r.max_abs) {
      r.max_abs = ad;
      r.max_abs_index = i;
      r.a_at_max_abs = x;
      r.b_at_max_abs = y;
    }
    if (x != 0) {
      const double rel = ad / std::fabs(x);
      if (!r.max_rel || rel > *r.max_rel) r.max_rel = rel;
    }
    if (!have_max) {
      r.min_a = r.max_a = x;
      r.min_b = r.max_b = y;
    } else {
      r.min_a = std::min(r.min_a, x), r.max_a = std::max(r.max_a, x);
      r.min_b = std::min(r.min_b, y), r.max_b = std::max(r.max_b, y);
    }
    have_max = true;
    const long double lx = x, ly = y, ld = d;
    r.sum_abs.add(std::fabs(ld));
    r.sum_sq_diff.add(ld * ld);
    r.dot.add(lx * ly);
    r.sum_sq_a.add(lx * lx);
    r.sum_sq_b.add(ly * ly);
    r.sum_a.add(lx);
    r.sum_b.add(ly);
    int bin = 0;
    switch (slot_of(ad, lo, hi, bin)) {
      case Slot::zero: ++r.hist_abs_diff.zero; break;
      case Slot::under: ++r.hist_abs_diff.under; break;
      case Slot::over: ++r.hist_abs_diff.over; break;
      case Slot::bin: ++r.hist_abs_diff.counts[bin]; break;
    }
  }
  if (r.n_finite > 0) {  // second pass: centered squares
    const long double n = static_cast<long double>(r.n_finite);
    const long double mean_a = r.sum_a.value() / n, mean_b = r.sum_b.value() / n;
    RefSum m2a, m2b;
    for (uint64_t i = 0; i < a.size(); ++i) {
      if (!(std::isfinite(a[i]) && std::isfinite(b[i]))) continue;
      m2a.add((a[i] - mean_a) * (a[i] - mean_a));
      m2b.add((b[i] - mean_b) * (b[i] - mean_b));
    }
    r.var_a = m2a.value() / n;
    r.var_b = m2b.value() / n;
  }
  return r;
}

std::vector<uint64_t> ref_unravel(uint64_t flat, const std::vector<uint64_t>& shape) {
  std::vector<uint64_t> idx(shape.size());
  uint64_t stride = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    idx[i] = (flat / stride) % shape[i];
    stride *= shape[i];
  }
  return idx;
}

void expect_same_bits(const weightdiff::PairStats& x, const weightdiff::PairStats& y) {
  auto bits = [](double v) { return std::bit_cast<uint64_t>(v); };
#define WD_SAME_COUNT(f) EXPECT_EQ(x.f, y.f) << #f
#define WD_SAME_BITS(f) EXPECT_EQ(bits(x.f), bits(y.f)) << #f << ": " << x.f << " vs " << y.f
  WD_SAME_COUNT(numel);
  WD_SAME_COUNT(n_finite);
  WD_SAME_COUNT(equal);
  WD_SAME_COUNT(mismatched);
  WD_SAME_COUNT(nan_a);
  WD_SAME_COUNT(nan_b);
  WD_SAME_COUNT(inf_a);
  WD_SAME_COUNT(inf_b);
  WD_SAME_BITS(sum_abs);
  WD_SAME_BITS(sum_sq_diff);
  WD_SAME_BITS(dot);
  WD_SAME_BITS(sum_sq_a);
  WD_SAME_BITS(sum_sq_b);
  WD_SAME_COUNT(mom_a.n);
  WD_SAME_BITS(mom_a.mean);
  WD_SAME_BITS(mom_a.m2);
  WD_SAME_COUNT(mom_b.n);
  WD_SAME_BITS(mom_b.mean);
  WD_SAME_BITS(mom_b.m2);
  WD_SAME_BITS(min_a);
  WD_SAME_BITS(max_a);
  WD_SAME_BITS(min_b);
  WD_SAME_BITS(max_b);
  WD_SAME_BITS(max_abs);
  WD_SAME_COUNT(max_abs_index);
  WD_SAME_BITS(a_at_max_abs);
  WD_SAME_BITS(b_at_max_abs);
  WD_SAME_BITS(max_rel);
  WD_SAME_COUNT(hist_abs_diff.zero);
  WD_SAME_COUNT(hist_abs_diff.under);
  WD_SAME_COUNT(hist_abs_diff.over);
  WD_SAME_COUNT(hist_abs_diff.counts);
  for (auto [hx, hy] : {std::pair{&x.hist_a, &y.hist_a}, std::pair{&x.hist_b, &y.hist_b}}) {
    EXPECT_EQ(hx->zero, hy->zero);
    EXPECT_EQ(hx->under, hy->under);
    EXPECT_EQ(hx->over, hy->over);
    EXPECT_EQ(hx->pos, hy->pos);
    EXPECT_EQ(hx->neg, hy->neg);
  }
#undef WD_SAME_COUNT
#undef WD_SAME_BITS
  // The derived metrics follow from the fields, but check them too.
  const weightdiff::Metrics mx = weightdiff::derive_metrics(x), my = weightdiff::derive_metrics(y);
  for (auto [u, v] : {std::pair{mx.cosine, my.cosine}, std::pair{mx.rel_l2, my.rel_l2},
                      std::pair{mx.snr_db, my.snr_db}, std::pair{mx.norm_a, my.norm_a}})
    EXPECT_EQ(bits(u), bits(v));
}

void expect_matches_reference(const weightdiff::TensorDiff& t, const RefStats& r) {
  using weightdiff::Status;
  ASSERT_TRUE(t.stats.has_value()) << t.name << " was not compared";
  const weightdiff::PairStats& s = *t.stats;
  const weightdiff::Metrics m = weightdiff::derive_metrics(s);

  EXPECT_EQ(s.numel, r.numel);
  EXPECT_EQ(s.n_finite, r.n_finite);
  EXPECT_EQ(s.equal, r.equal);
  EXPECT_EQ(s.mismatched, r.mismatched);
  EXPECT_EQ(s.nan_a, r.nan_a);
  EXPECT_EQ(s.nan_b, r.nan_b);
  EXPECT_EQ(s.inf_a, r.inf_a);
  EXPECT_EQ(s.inf_b, r.inf_b);
  const Status want = r.equal == r.numel ? Status::identical
                      : r.mismatched == 0 ? Status::close : Status::different;
  EXPECT_STREQ(weightdiff::status_name(t.status), weightdiff::status_name(want));

  // Sums (present even when F is empty: then 0).
  expect_sum("sum_abs", s.sum_abs, r.sum_abs);
  expect_sum("sum_sq_diff", s.sum_sq_diff, r.sum_sq_diff);
  expect_sum("dot", s.dot, r.dot);
  expect_sum("sum_sq_a", s.sum_sq_a, r.sum_sq_a);
  expect_sum("sum_sq_b", s.sum_sq_b, r.sum_sq_b);
  EXPECT_LE(std::fabs(m.cosine - r.cosine()), kCosineAbs)
      << "cosine " << m.cosine << " vs " << static_cast<double>(r.cosine());
  expect_rel("norm_a", m.norm_a, std::sqrt(r.sum_sq_a.value()));
  expect_rel("norm_b", m.norm_b, std::sqrt(r.sum_sq_b.value()));
  expect_rel("norm_diff", m.norm_diff, std::sqrt(r.sum_sq_diff.value()));
  expect_rel("rel_l2", m.rel_l2, r.rel_l2());
  if (std::isinf(r.snr_db())) {
    EXPECT_EQ(m.snr_db, static_cast<double>(r.snr_db()));
  } else {
    EXPECT_NEAR(m.snr_db, static_cast<double>(r.snr_db()), 1e-7);
  }

  if (r.n_finite == 0) {
    EXPECT_FALSE(m.max_abs || m.a_at_max_abs || m.b_at_max_abs || m.mean_abs || m.rmse);
    EXPECT_FALSE(m.mean_a || m.mean_b || m.std_a || m.std_b);
    EXPECT_FALSE(m.min_a || m.max_a || m.min_b || m.max_b);
  } else {
    const long double n = static_cast<long double>(r.n_finite);
    EXPECT_EQ(s.max_abs, r.max_abs);
    EXPECT_EQ(s.max_abs_index, r.max_abs_index);
    EXPECT_EQ(weightdiff::unravel_index(s.max_abs_index, t.shape_a),
              ref_unravel(r.max_abs_index, t.shape_a));
    EXPECT_EQ(s.a_at_max_abs, r.a_at_max_abs);
    EXPECT_EQ(s.b_at_max_abs, r.b_at_max_abs);
    EXPECT_EQ(s.min_a, r.min_a);
    EXPECT_EQ(s.max_a, r.max_a);
    EXPECT_EQ(s.min_b, r.min_b);
    EXPECT_EQ(s.max_b, r.max_b);
    ASSERT_TRUE(m.mean_abs && m.rmse && m.mean_a && m.mean_b && m.std_a && m.std_b);
    expect_rel("mean_abs", *m.mean_abs, r.sum_abs.value() / n);
    expect_rel("rmse", *m.rmse, std::sqrt(r.sum_sq_diff.value() / n));
    EXPECT_LE(std::fabs(*m.mean_a - r.sum_a.value() / n), kSumRel * r.sum_a.abs / n) << "mean_a";
    EXPECT_LE(std::fabs(*m.mean_b - r.sum_b.value() / n), kSumRel * r.sum_b.abs / n) << "mean_b";
    EXPECT_LE(std::fabs(*m.std_a * *m.std_a - r.var_a), kSumRel * r.sum_sq_a.abs / n) << "std_a";
    EXPECT_LE(std::fabs(*m.std_b * *m.std_b - r.var_b), kSumRel * r.sum_sq_b.abs / n) << "std_b";
  }
  EXPECT_EQ(m.max_rel.has_value(), r.max_rel.has_value());
  if (m.max_rel && r.max_rel) {
    EXPECT_EQ(*m.max_rel, *r.max_rel);
  }

  EXPECT_EQ(s.hist_abs_diff.zero, r.hist_abs_diff.zero);
  EXPECT_EQ(s.hist_abs_diff.under, r.hist_abs_diff.under);
  EXPECT_EQ(s.hist_abs_diff.over, r.hist_abs_diff.over);
  EXPECT_EQ(s.hist_abs_diff.counts, r.hist_abs_diff.counts);
  for (auto [got, want, side] : {std::tuple{&s.hist_a, &r.hist_a, "hist_a"},
                                 std::tuple{&s.hist_b, &r.hist_b, "hist_b"}}) {
    EXPECT_EQ(got->zero, want->zero) << side;
    EXPECT_EQ(got->under, want->under) << side;
    EXPECT_EQ(got->over, want->over) << side;
    EXPECT_EQ(got->pos, want->pos) << side;
    EXPECT_EQ(got->neg, want->neg) << side;
  }
}

}  // namespace wdtest
