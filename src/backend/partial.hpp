// The one partial accumulator of the fused pass (SPEC §2-4), produced by
// every backend for each chunk task and merged by the engine: counts, sums,
// (mean, M2) moments merged by Chan et al., extremes with the smallest
// index of max |d|, max |d|/|a|; the histograms travel beside it as a flat
// array of HistLayout slots. One empty state (empty_partial), one combine.
// Host/device code: the CUDA kernels combine tiles with it too.
//
// Exact parts (counts, extremes with their smallest index, max |d|/|a|,
// histogram bins) do not depend on the order in which partials are
// combined. Sums and moments do, within SPEC §2's bound; every caller
// combines in one fixed order, so a task's bits never depend on threads,
// launches or devices.
#pragma once

#include "backend/hd.hpp"

namespace weightdiff::backend {

struct Partial {
  uint64_t n_fin, n_eq, n_mis, nan_a, nan_b, inf_a, inf_b;
  double s_abs, s_sq_d, s_dot, s_sq_a, s_sq_b;
  double mean_a, m2_a, mean_b, m2_b;  // moments over the n_fin finite pairs
  double min_a, max_a, min_b, max_b;  // +-inf when n_fin == 0
  double mx;                          // max |d|; -1 when n_fin == 0
  uint64_t mx_i;                      // its smallest flat index
  double a_mx, b_mx;
  double mrel;  // max |d|/|a| over finite pairs with a != 0; -1 when none
};

WD_HD Partial empty_partial() {
  Partial p{};
  p.min_a = p.min_b = f64_inf();
  p.max_a = p.max_b = -f64_inf();
  p.mx = -1.0;
  p.mrel = -1.0;
  return p;
}

// Histogram slots of one tile or task, as one array:
//   [0, nb+3)          |d|: zero, under, counts[nb], over
//   [nb+3, 3nb+6)      a:   zero, under, over, pos[nb], neg[nb]
//   [3nb+6, 5nb+9)     b:   the same
struct HistLayout {
  int lo = -40;
  int nb = 56;
  WD_HD uint32_t a_base() const { return static_cast<uint32_t>(nb + 3); }
  WD_HD uint32_t b_base() const { return static_cast<uint32_t>(3 * nb + 6); }
  WD_HD uint32_t total() const { return static_cast<uint32_t>(5 * nb + 9); }

  // Bin of the binary exponent of |x| (x finite, nonzero): -1 under, nb over.
  WD_HD int bin(double x) const {
    const int e = static_cast<int>((f64_to_bits(x) >> 52) & 0x7FF);
    if (e == 0) return -1;  // subnormal: below 2^lo since lo >= -1021
    const int j = e - 1023 - lo;
    return j < 0 ? -1 : j >= nb ? nb : j;
  }
  // |d| of a finite pair (may be +inf when f64 values overflow: `over`).
  WD_HD uint32_t abs_slot(double ad) const {
    if (ad == 0) return 0;
    if (!is_finite(ad)) return static_cast<uint32_t>(nb + 2);
    const int j = bin(ad);
    return static_cast<uint32_t>(j < 0 ? 1 : j >= nb ? nb + 2 : j + 2);
  }
  // A finite value, relative to its side's base.
  WD_HD uint32_t value_slot(double x) const {
    if (x == 0) return 0;
    const int j = bin(x);
    if (j < 0) return 1;
    if (j >= nb) return 2;
    return static_cast<uint32_t>(3 + j + (x < 0 ? nb : 0));
  }
};

// Chan et al.'s merge of (n, mean, M2): the only definition of it.
WD_HD void merge_moments(uint64_t n, double& mean, double& m2, uint64_t on, double omean,
                         double om2) {
  if (on == 0) return;
  if (n == 0) {
    mean = omean, m2 = om2;
    return;
  }
  const double na = static_cast<double>(n), nb = static_cast<double>(on);
  const double total = na + nb;
  const double delta = omean - mean;
  mean += delta * (nb / total);
  m2 += om2 + delta * delta * (na * nb / total);
}

// x <- x combined with y. Exact fields are order-independent (ties on max
// |d| go to the smaller index); sums and moments follow the call order.
WD_HD void combine(Partial& x, const Partial& y) {
  merge_moments(x.n_fin, x.mean_a, x.m2_a, y.n_fin, y.mean_a, y.m2_a);
  merge_moments(x.n_fin, x.mean_b, x.m2_b, y.n_fin, y.mean_b, y.m2_b);
  x.n_fin += y.n_fin;
  x.n_eq += y.n_eq;
  x.n_mis += y.n_mis;
  x.nan_a += y.nan_a, x.nan_b += y.nan_b, x.inf_a += y.inf_a, x.inf_b += y.inf_b;
  x.s_abs += y.s_abs;
  x.s_sq_d += y.s_sq_d;
  x.s_dot += y.s_dot;
  x.s_sq_a += y.s_sq_a;
  x.s_sq_b += y.s_sq_b;
  if (y.min_a < x.min_a) x.min_a = y.min_a;
  if (y.max_a > x.max_a) x.max_a = y.max_a;
  if (y.min_b < x.min_b) x.min_b = y.min_b;
  if (y.max_b > x.max_b) x.max_b = y.max_b;
  if (y.mx > x.mx || (y.mx == x.mx && y.mx_i < x.mx_i)) {
    x.mx = y.mx, x.mx_i = y.mx_i, x.a_mx = y.a_mx, x.b_mx = y.b_mx;
  }
  if (y.mrel > x.mrel) x.mrel = y.mrel;
}

struct CombineOp {  // for cub::BlockReduce
  WD_HD Partial operator()(const Partial& x, const Partial& y) const {
    Partial r = x;
    combine(r, y);
    return r;
  }
};

}  // namespace weightdiff::backend
