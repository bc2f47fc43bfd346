// Per-pair statistics (SPEC §2–4) of one tensor pair, and the metrics
// derived from them.
//
// Every field is a sum, a count, an extreme with its index, a (n, mean, M2)
// triple or a histogram bin. The backends produce one partial accumulator
// per chunk (src/backend/partial.hpp) that the engine merges in chunk order;
// a PairStats is built once per tensor from the merged result.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "weightdiff/bins.hpp"

namespace weightdiff {

// Binary-exponent histogram bins: counts[j] for |x| in [2^(lo+j), 2^(lo+j+1)).
struct HistRange {
  int lo = -40;
  int hi = 16;
  int bins() const noexcept { return hi - lo; }
};

struct AbsHistogram {  // |d| over the finite pairs
  uint64_t zero = 0, under = 0, over = 0;
  Bins counts;
};

struct ValueHistogram {  // x over that side's own finite values
  uint64_t zero = 0, under = 0, over = 0;
  Bins pos, neg;
};

struct Moments {  // (n, mean, M2) over the finite pairs
  uint64_t n = 0;
  double mean = 0.0;
  double m2 = 0.0;
};

struct PairStats {
  uint64_t numel = 0;
  uint64_t n_finite = 0;
  uint64_t equal = 0;
  uint64_t mismatched = 0;
  uint64_t nan_a = 0, nan_b = 0, inf_a = 0, inf_b = 0;

  // Sums over the finite pairs F.
  double sum_abs = 0, sum_sq_diff = 0, dot = 0, sum_sq_a = 0, sum_sq_b = 0;
  Moments mom_a, mom_b;
  double min_a = 0, max_a = 0, min_b = 0, max_b = 0;  // valid if n_finite > 0

  // max |d| over F, smallest flat index attaining it; valid if n_finite > 0.
  double max_abs = 0;
  uint64_t max_abs_index = 0;
  double a_at_max_abs = 0, b_at_max_abs = 0;

  // max |d|/|a| over F with a != 0; negative when there is no such element.
  double max_rel = -1.0;

  AbsHistogram hist_abs_diff;
  ValueHistogram hist_a, hist_b;

  explicit PairStats(HistRange r = {});  // histograms of r.bins() zero bins
};

// The derived metrics of SPEC §2, with nullopt for undefined (JSON null).
struct Metrics {
  std::optional<double> max_abs, a_at_max_abs, b_at_max_abs, mean_abs, rmse, max_rel;
  double norm_a = 0, norm_b = 0, norm_diff = 0;
  double cosine = 1, rel_l2 = 0, snr_db = 0;
  std::optional<double> mean_a, mean_b, std_a, std_b, min_a, max_a, min_b, max_b;
  // Elements finite in A and NaN/Inf in B (introduced), and the reverse
  // (removed): exact, from the counts. A pair with either is never `close`
  // (such an element is a mismatch whatever the tolerance) and fails every
  // --fail-if, because the metrics over the finite pairs cannot show it.
  uint64_t nonfinite_introduced = 0, nonfinite_removed = 0;
};

Metrics derive_metrics(const PairStats& s);

// cosine / rel_l2 / snr from the four sums, with SPEC §2's zero rules.
double cosine_of(double dot, double sum_sq_a, double sum_sq_b) noexcept;
double rel_l2_of(double sum_sq_diff, double sum_sq_a) noexcept;
double snr_db_of(double sum_sq_diff, double sum_sq_a) noexcept;

}  // namespace weightdiff
