// inspect_model: one model's value statistics, through the engine core the
// diff uses (reduce_pairs) with one-sided pairs: every element is read and
// decoded once, and the a-side fields of the result (nan_a, inf_a, mom_a,
// min_a, max_a, hist_a) are SPEC §2-4 applied to one tensor. Every backend
// serves inspect through the one Backend interface, with the same chunking,
// merge order and bit-for-bit determinism as a diff.
#include <algorithm>
#include <chrono>

#include "engine/reduce_pairs.hpp"
#include "match/match.hpp"
#include "weightdiff/error.hpp"
#include "weightdiff/inspect.hpp"

namespace weightdiff {

const char* inspect_status(const InspectTensor& t) noexcept {
  if (!t.stats) return "unsupported_dtype";
  return t.nonfinite() ? "nonfinite" : "ok";
}

int inspect_exit_code(const InspectResult& result) noexcept {
  return std::any_of(result.tensors.begin(), result.tensors.end(),
                     [](const InspectTensor& t) { return t.nonfinite(); })
             ? 1
             : 0;
}

namespace {

ValueStats a_side(const PairStats& s) {
  const Metrics m = derive_metrics(s);
  ValueStats v;
  v.nan = s.nan_a;
  v.inf = s.inf_a;
  v.n_finite = s.n_finite;
  v.min = m.min_a;
  v.max = m.max_a;
  v.mean = m.mean_a;
  v.std = m.std_a;
  v.hist = s.hist_a;
  return v;
}

void summarize(InspectResult& r) {
  InspectSummary& s = r.summary;
  for (const auto& t : r.tensors) {
    ++s.tensors;
    s.bytes += t.bytes;
    if (!t.stats) {
      ++s.unsupported_dtype;
      continue;
    }
    const ValueStats& v = *t.stats;
    ++s.inspected;
    s.elements += t.numel;
    s.nan += v.nan;
    s.inf += v.inf;
    s.n_finite += v.n_finite;
    s.tensors_with_nan += v.nan > 0;
    s.tensors_with_inf += v.inf > 0;
    if (v.min) s.min = s.min ? std::min(*s.min, *v.min) : *v.min;
    if (v.max) s.max = s.max ? std::max(*s.max, *v.max) : *v.max;
  }
}

}  // namespace

InspectResult inspect_model(const Model& model, const InspectOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  validate(opt);
  InspectResult r;
  r.settings = {opt.include, opt.exclude, opt.hist};
  const auto backend = engine::open_backend(opt, r.notices);
  r.backend = backend->name();
  r.devices = backend->devices();
  r.threads = backend->threads();

  MatchOptions filters;
  filters.include = opt.include;
  filters.exclude = opt.exclude;
  const std::vector<const TensorRef*> selected = match::select_tensors(model, filters);
  std::vector<engine::PlannedPair> pairs;
  for (const TensorRef* t : selected)
    if (t->unsupported_dtype.empty()) pairs.push_back({t, t, 0.0, 0.0, true});
  engine::Reduced reduced = engine::reduce_pairs(pairs, *backend, opt);

  r.tensors.reserve(selected.size());
  size_t pair = 0;
  for (const TensorRef* t : selected) {
    InspectTensor it;
    it.name = t->name;
    it.dtype = t->dtype_label();
    it.shape = t->shape;
    it.numel = t->numel;
    it.bytes = t->nbytes;
    if (t->unsupported_dtype.empty()) it.stats = a_side(reduced.stats[pair++]);
    r.tensors.push_back(std::move(it));
  }
  summarize(r);
  r.summary.bytes_read = reduced.bytes_read;
  r.summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace weightdiff
