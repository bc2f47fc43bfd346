// A tensor's Partial and histogram slots as the public PairStats.
#include "backend/partial_stats.hpp"

namespace weightdiff::backend {

HistLayout hist_layout(const HistRange& r) { return {r.lo, r.bins()}; }

PairStats pair_stats_of(const Partial& p, const uint64_t* hist, const HistRange& r,
                        uint64_t numel) {
  PairStats s(r);
  s.numel = numel;
  s.n_finite = p.n_fin;
  s.equal = p.n_eq;
  s.mismatched = p.n_mis;
  s.nan_a = p.nan_a, s.nan_b = p.nan_b, s.inf_a = p.inf_a, s.inf_b = p.inf_b;
  s.sum_abs = p.s_abs;
  s.sum_sq_diff = p.s_sq_d;
  s.dot = p.s_dot;
  s.sum_sq_a = p.s_sq_a;
  s.sum_sq_b = p.s_sq_b;
  if (p.n_fin > 0) {  // else the PairStats defaults (0; reports print null)
    s.mom_a = {p.n_fin, p.mean_a, p.m2_a};
    s.mom_b = {p.n_fin, p.mean_b, p.m2_b};
    s.min_a = p.min_a, s.max_a = p.max_a, s.min_b = p.min_b, s.max_b = p.max_b;
    s.max_abs = p.mx;
    s.max_abs_index = p.mx_i;
    s.a_at_max_abs = p.a_mx, s.b_at_max_abs = p.b_mx;
  }
  s.max_rel = p.mrel;
  const HistLayout h = hist_layout(r);
  const size_t nb = static_cast<size_t>(h.nb);
  // Built once from the merged slots, not bin by bin (Bins: compact).
  s.hist_abs_diff.zero = hist[0];
  s.hist_abs_diff.under = hist[1];
  s.hist_abs_diff.over = hist[nb + 2];
  s.hist_abs_diff.counts = Bins(hist + 2, nb);
  for (auto [v, base] : {std::pair{&s.hist_a, h.a_base()}, std::pair{&s.hist_b, h.b_base()}}) {
    v->zero = hist[base];
    v->under = hist[base + 1];
    v->over = hist[base + 2];
    v->pos = Bins(hist + base + 3, nb);
    v->neg = Bins(hist + base + 3 + nb, nb);
  }
  return s;
}

}  // namespace weightdiff::backend
