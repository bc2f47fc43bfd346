// One thread's share of the fused pass (SPEC §2–4): the shared Partial
// (src/backend/partial.hpp) updated a group of elements at a time. The
// device kernels and the host emulation run exactly this code.
//
// Exact parts (counts, extremes with their smallest index, max |d|/|a| by
// a correctly rounded division, histogram bins) do not depend on the order
// in which partials are combined. Sums and moments do, within SPEC §2's
// bound; the kernels combine them in one fixed order, so a task's bits do
// not depend on the launch it travels in, nor on the device.
#pragma once

#include "backend/partial.hpp"
#include "decode.hpp"

namespace weightdiff::cuda {

// Slightly below 1: see the max |d|/|a| candidate test in add_group.
inline constexpr double kRelGuard = 1.0 - 0x1p-50;

// Adds elements idx0 .. idx0+n-1 (values a[0..n), b[0..n), n <= kGroup) to p;
// histogram slots go to sink.add(slot).
template <class Sink>
WD_HD void add_group(Partial& p, const double* a, const double* b, int n, uint64_t idx0,
                     double atol, double rtol, const HistLayout& h, Sink& sink) {
  double sa = 0, sb = 0;
  uint32_t gn = 0, finmask = 0;
  WD_UNROLL
  for (int i = 0; i < kGroup; ++i) {
    if (i >= n) break;
    const double x = a[i], y = b[i];
    const bool nx = is_nan(x), ny = is_nan(y);
    const bool fx = is_finite(x), fy = is_finite(y);
    const bool eq = x == y || (nx && ny);
    p.n_eq += eq;
    p.nan_a += nx, p.nan_b += ny;
    p.inf_a += !fx && !nx, p.inf_b += !fy && !ny;
    if (fx) sink.add(h.a_base() + h.value_slot(x));
    if (fy) sink.add(h.b_base() + h.value_slot(y));
    if (!(fx && fy)) {
      p.n_mis += !eq;  // outside F: passes only when equal or both NaN
      continue;
    }
    const double ad = abs_f64(y - x);
    const double ax = abs_f64(x);
    p.n_mis += !(ad <= add_rn(atol, mul_rn(rtol, ax)));
    sink.add(h.abs_slot(ad));
    p.s_abs += ad;
    p.s_sq_d += ad * ad;
    p.s_dot += x * y;
    p.s_sq_a += x * x;
    p.s_sq_b += y * y;
    sa += x, sb += y;
    ++gn;
    finmask |= 1u << i;
    if (x < p.min_a) p.min_a = x;
    if (x > p.max_a) p.max_a = x;
    if (y < p.min_b) p.min_b = y;
    if (y > p.max_b) p.max_b = y;
    if (ad > p.mx) {  // strictly: elements come in increasing index
      p.mx = ad, p.mx_i = idx0 + static_cast<uint64_t>(i), p.a_mx = x, p.b_mx = y;
    }
    // fl(ad/ax) > mrel implies ad > mrel*ax (exactly), so this threshold
    // never misses a new maximum; only candidates pay for the division.
    if (ax != 0 && ad >= mul_rn(mul_rn(p.mrel, ax), kRelGuard)) {
      const double r = ad / ax;
      if (r > p.mrel) p.mrel = r;
    }
  }
  if (gn == 0) return;
  // Two passes over the register-resident group, then Chan's merge: a
  // stable M2 without a division per element.
  const double ma = sa / gn, mb = sb / gn;
  double m2a = 0, m2b = 0;
  WD_UNROLL
  for (int i = 0; i < kGroup; ++i) {
    if (!((finmask >> i) & 1u)) continue;
    const double ca = a[i] - ma, cb = b[i] - mb;
    m2a += ca * ca;
    m2b += cb * cb;
  }
  merge_moments(p.n_fin, p.mean_a, p.m2_a, gn, ma, m2a);
  merge_moments(p.n_fin, p.mean_b, p.m2_b, gn, mb, m2b);
  p.n_fin += gn;
}

}  // namespace weightdiff::cuda
