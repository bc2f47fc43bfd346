#include "weightdiff/quant_groups.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>

#include "weightdiff/dtype.hpp"
#include "weightdiff/stats.hpp"

namespace weightdiff {
namespace {

bool quantized_dtype(const std::string& name) {
  const auto t = dtype_from_name(name);
  return t && (dtype_is_block(*t) || (dtype_is_float(*t) && dtype_bits(*t) == 8));
}

bool counted(const TensorDiff& t) { return t.stats && is_compared(t.status) && t.floating; }

// NaN first, then ascending: a strict weak order even with NaN (a pair
// whose sums overflowed to inf gives inf/inf), so sorting is well defined.
bool nan_first_less(double x, double y) {
  if (std::isnan(x)) return !std::isnan(y);
  return !std::isnan(y) && x < y;
}

// The lower median: the ⌈n/2⌉-th smallest of v (non-empty).
double lower_median(std::vector<double> v) {
  const auto mid = v.begin() + static_cast<std::ptrdiff_t>((v.size() - 1) / 2);
  std::nth_element(v.begin(), mid, v.end(), nan_first_less);
  return *mid;
}

double largest(const std::vector<double>& v) { return *std::max_element(v.begin(), v.end(), nan_first_less); }

struct Members {
  QuantGroup g;
  std::vector<double> rel_l2, snr_db, max_abs;
};

}  // namespace

bool has_quantized_side(const TensorDiff& t) {
  return !t.quant_a.empty() || !t.quant_b.empty() || quantized_dtype(t.dtype_a) ||
         quantized_dtype(t.dtype_b);
}

std::vector<QuantGroup> quant_groups(const DiffResult& r) {
  if (std::none_of(r.tensors.begin(), r.tensors.end(),
                   [](const TensorDiff& t) { return counted(t) && has_quantized_side(t); }))
    return {};
  std::map<std::pair<std::string, std::string>, Members> by_key;
  for (const TensorDiff& t : r.tensors) {
    if (!counted(t)) continue;
    const PairStats& s = *t.stats;
    Members& m = by_key[{quant_type(t, true), quant_type(t, false)}];
    const double snr = snr_db_of(s.sum_sq_diff, s.sum_sq_a);
    // A NaN SNR (overflowed sums) is the worst: it tells nothing.
    if (m.g.tensors == 0 || nan_first_less(snr, m.g.snr_db_min)) {
      m.g.snr_db_min = snr;
      m.g.worst = t.name;
    }
    ++m.g.tensors;
    m.g.elements += s.n_finite;
    m.g.sum_sq_a += s.sum_sq_a;
    m.g.sum_sq_diff += s.sum_sq_diff;
    m.rel_l2.push_back(rel_l2_of(s.sum_sq_diff, s.sum_sq_a));
    m.snr_db.push_back(snr);
    if (s.n_finite > 0) m.max_abs.push_back(s.max_abs);
  }
  std::vector<QuantGroup> groups;
  groups.reserve(by_key.size());
  for (auto& [key, m] : by_key) {
    QuantGroup g = std::move(m.g);
    g.quant_a = key.first;
    g.quant_b = key.second;
    g.rel_l2 = rel_l2_of(g.sum_sq_diff, g.sum_sq_a);
    g.snr_db = snr_db_of(g.sum_sq_diff, g.sum_sq_a);
    g.rel_l2_median = lower_median(m.rel_l2);
    g.rel_l2_max = largest(m.rel_l2);
    g.snr_db_median = lower_median(m.snr_db);
    if (!m.max_abs.empty()) {
      g.max_abs_median = lower_median(m.max_abs);
      g.max_abs_max = largest(m.max_abs);
    }
    groups.push_back(std::move(g));
  }
  // std::map gave them in key order: a stable sort keeps it for equal SNRs.
  std::stable_sort(groups.begin(), groups.end(),
                   [](const QuantGroup& x, const QuantGroup& y) { return nan_first_less(x.snr_db, y.snr_db); });
  return groups;
}

}  // namespace weightdiff
