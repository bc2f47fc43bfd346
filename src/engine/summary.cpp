// The summary of a result's tensors: diff_models' last step, and merge's.
#include "weightdiff/diff.hpp"
#include "weightdiff/stats.hpp"

namespace weightdiff {
namespace {

// One compared pair's share of the summary.
void add_compared(Summary& s, const TensorDiff& t) {
  const PairStats& p = *t.stats;
  const Metrics m = derive_metrics(p);
  ++s.compared;
  s.elements += p.numel;
  s.mismatched += p.mismatched;
  if (p.n_finite > 0 && (!s.max_abs || p.max_abs > *s.max_abs)) {
    s.max_abs = p.max_abs;
    s.max_abs_tensor = t.name;
  }
  if (t.floating) {
    ++s.float_tensors;
    s.float_elements += p.numel;
    s.dot += p.dot;
    s.sum_sq_a += p.sum_sq_a;
    s.sum_sq_b += p.sum_sq_b;
    s.sum_sq_diff += p.sum_sq_diff;
  } else {
    ++s.int_tensors;
    s.int_elements += p.numel;
    if (t.status != Status::identical) ++s.int_tensors_changed;
  }
  if (t.dtype_a != t.dtype_b) ++s.dtype_changed;
  s.nonfinite_introduced += m.nonfinite_introduced;
  s.nonfinite_removed += m.nonfinite_removed;
  if (m.nonfinite_introduced || m.nonfinite_removed) ++s.nonfinite_tensors;
  if (t.bytes_equal && !*t.bytes_equal) ++s.bytes_differ;
}

}  // namespace

Summary summarize(const DiffResult& r) {
  Summary s;
  s.exact = r.settings.exact;
  s.structure_only = r.settings.structure_only;
  for (const auto& t : r.tensors) {
    switch (t.status) {
      case Status::identical: ++s.identical; break;
      case Status::close: ++s.close; break;
      case Status::different: ++s.different; break;
      case Status::only_in_a: ++s.only_in_a; break;
      case Status::only_in_b: ++s.only_in_b; break;
      case Status::shape_mismatch: ++s.shape_mismatch; break;
      case Status::unsupported_dtype: ++s.unsupported_dtype; break;
      case Status::matched: ++s.matched; break;
      case Status::dtype_mismatch: ++s.dtype_mismatch; break;
    }
    if (is_compared(t.status)) add_compared(s, t);
  }
  if (s.float_tensors > 0) {
    s.cosine = cosine_of(s.dot, s.sum_sq_a, s.sum_sq_b);
    s.rel_l2 = rel_l2_of(s.sum_sq_diff, s.sum_sq_a);
  }
  return s;
}

}  // namespace weightdiff
