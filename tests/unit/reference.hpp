// A float64 reference of the SPEC §2–4 metrics: plain scalar loops over the
// decoded values, sums in long double (64-bit mantissa), written
// independently of src/. expect_matches_reference checks a TensorDiff against
// it with the SPEC's accuracy contract.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "weightdiff/diff.hpp"

namespace wdtest {

// A long double sum, and the same sum over the absolute values of its terms
// (the scale of SPEC §2's accuracy bound).
struct RefSum {
  long double sum = 0, abs = 0;
  void add(long double x);
  long double value() const { return sum; }
};

struct RefAbsHist {
  uint64_t zero = 0, under = 0, over = 0;
  std::vector<uint64_t> counts;
};
struct RefValueHist {
  uint64_t zero = 0, under = 0, over = 0;
  std::vector<uint64_t> pos, neg;
};

struct RefStats {
  uint64_t numel = 0, n_finite = 0, equal = 0, mismatched = 0;
  uint64_t nan_a = 0, nan_b = 0, inf_a = 0, inf_b = 0;
  // Over the finite pairs F; meaningful when n_finite > 0.
  double max_abs = 0;
  uint64_t max_abs_index = 0;
  double a_at_max_abs = 0, b_at_max_abs = 0;
  std::optional<double> max_rel;
  double min_a = 0, max_a = 0, min_b = 0, max_b = 0;
  RefSum sum_abs, sum_sq_diff, dot, sum_sq_a, sum_sq_b, sum_a, sum_b;
  long double var_a = 0, var_b = 0;  // population variance (two-pass)
  RefAbsHist hist_abs_diff;
  RefValueHist hist_a, hist_b;

  long double cosine() const;
  long double rel_l2() const;
  long double snr_db() const;
};

RefStats reference_stats(const std::vector<double>& a, const std::vector<double>& b, double atol,
                         double rtol, int hist_lo = -40, int hist_hi = 16);

// Every metric of t against r: counts, extremes, index and histograms exact;
// sums within 1e-9 x the sum of |terms|; 1 - cosine within 1e-12.
void expect_matches_reference(const weightdiff::TensorDiff& t, const RefStats& r);

// Every field of x and y holds the same bits (doubles compared as uint64).
void expect_same_bits(const weightdiff::PairStats& x, const weightdiff::PairStats& y);

// Flat row-major index -> coordinates, written here independently.
std::vector<uint64_t> ref_unravel(uint64_t flat, const std::vector<uint64_t>& shape);

}  // namespace wdtest
