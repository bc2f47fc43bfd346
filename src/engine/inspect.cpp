// inspect_model: one model's value statistics, computed by diffing the model
// against itself.
//
// Why a self-diff: the a-side fields of a pair's PairStats (nan_a, inf_a,
// mom_a, min_a, max_a, hist_a) are exactly SPEC §2–4 applied to one tensor,
// and with b == a the finite pairs F are a's finite values. So every backend
// (CPU now, CUDA later) serves `inspect` through the one Backend interface,
// with the same chunking, merge order and bit-for-bit determinism as a diff.
// The price: each element is decoded twice and the difference metrics are
// computed for nothing (the pages are read once: both sides share a mapping).
#include <algorithm>
#include <chrono>

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

const TensorRef& find_tensor(const Model& m, const std::string& name) {
  const auto it = std::lower_bound(
      m.tensors.begin(), m.tensors.end(), name,
      [](const TensorRef& t, const std::string& n) { return t.name < n; });
  if (it == m.tensors.end() || it->name != name)  // cannot happen: the engine lists the catalog
    throw Error(Errc::malformed, "tensor missing from the model's catalog", m.path, name);
  return *it;
}

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
  DiffOptions d;
  static_cast<ComputeOptions&>(d) = opt;
  d.include = opt.include;
  d.exclude = opt.exclude;
  if (opt.on_progress) {
    // The engine counts both sides' bytes; the user reads this model once.
    d.on_progress = [&opt](const Progress& p) {
      Progress one = p;
      one.bytes_done /= 2;
      one.bytes_total /= 2;
      opt.on_progress(one);
    };
  }
  const DiffResult diff = diff_models(model, model, d);

  InspectResult r;
  r.backend = diff.backend;
  r.devices = diff.devices;
  r.threads = diff.threads;
  r.notices = diff.notices;
  r.tensors.reserve(diff.tensors.size());
  for (const auto& t : diff.tensors) {
    const TensorRef& ref = find_tensor(model, t.name);
    InspectTensor it;
    it.name = t.name;
    it.dtype = t.dtype_a;
    it.shape = t.shape_a;
    it.numel = ref.numel;
    it.bytes = ref.nbytes;
    if (t.stats) it.stats = a_side(*t.stats);
    r.tensors.push_back(std::move(it));
  }
  summarize(r);
  r.summary.bytes_read = diff.summary.bytes_read / 2;  // both sides were counted
  r.summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace weightdiff
