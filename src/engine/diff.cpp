// diff_models: match, plan chunks, reduce them on a backend, merge in chunk
// order, derive status and summary.
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <set>
#include <thread>

#include "backend/backend.hpp"
#include "engine/chunk_plan.hpp"
#include "io/mapped_file.hpp"
#include "io/mapping_budget.hpp"
#include "match/match.hpp"
#include "match/prefix_hint.hpp"
#include "weightdiff/diff.hpp"
#include "weightdiff/error.hpp"

namespace weightdiff {

const char* status_name(Status s) noexcept {
  switch (s) {
    case Status::identical: return "identical";
    case Status::close: return "close";
    case Status::different: return "different";
    case Status::only_in_a: return "only_in_a";
    case Status::only_in_b: return "only_in_b";
    case Status::shape_mismatch: return "shape_mismatch";
    case Status::unsupported_dtype: return "unsupported_dtype";
    case Status::matched: return "matched";
    case Status::dtype_mismatch: return "dtype_mismatch";
  }
  return "?";
}

bool is_compared(Status s) noexcept {
  return s == Status::identical || s == Status::close || s == Status::different;
}

unsigned default_thread_count() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return static_cast<unsigned>(n);
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

namespace {

// What the per-pair histograms may hold in all (see check_histogram_budget):
// the default range fits 1.9M pairs (more than the 1M tensors a model may
// hold), -1021:1023 about 52k.
constexpr uint64_t kHistogramBudgetBytes = uint64_t{4} << 30;

std::string dtype_label(const TensorRef& t) {
  return t.unsupported_dtype.empty() ? std::string(dtype_name(t.dtype)) : t.unsupported_dtype;
}

Tolerance pair_tolerance(const TensorRef& a, const TensorRef& b, const DiffOptions& opt) {
  const Tolerance ta = default_tolerance(a.dtype), tb = default_tolerance(b.dtype);
  return {opt.atol.value_or(std::max(ta.atol, tb.atol)),
          opt.rtol.value_or(std::max(ta.rtol, tb.rtol))};
}

TensorDiff describe(const match::Entry& e) {
  TensorDiff d;
  d.name = e.name;
  d.name_b = e.name_b;
  if (e.a) d.dtype_a = dtype_label(*e.a), d.shape_a = e.a->shape;
  if (e.b) d.dtype_b = dtype_label(*e.b), d.shape_b = e.b->shape;
  if (!e.b) d.status = Status::only_in_a;
  if (!e.a) d.status = Status::only_in_b;
  if (e.a && e.b) {
    if (!e.a->unsupported_dtype.empty() || !e.b->unsupported_dtype.empty())
      d.status = Status::unsupported_dtype;
    else if (e.a->shape != e.b->shape)
      d.status = Status::shape_mismatch;
    else
      d.status = Status::identical;  // provisional: decided by the stats
  }
  return d;
}

Status status_of(const PairStats& s) {
  if (s.equal == s.numel) return Status::identical;
  return s.mismatched == 0 ? Status::close : Status::different;
}

// Metadata is informational: every differing key, never an exit code.
std::vector<MetadataDiff> metadata_diffs(const Model& a, const Model& b) {
  std::vector<MetadataDiff> out;
  auto ia = a.metadata.begin(), ib = b.metadata.begin();  // both sorted by key
  while (ia != a.metadata.end() || ib != b.metadata.end()) {
    if (ib == b.metadata.end() || (ia != a.metadata.end() && ia->first < ib->first)) {
      out.push_back({ia->first, ia->second, std::nullopt});
      ++ia;
    } else if (ia == a.metadata.end() || ib->first < ia->first) {
      out.push_back({ib->first, std::nullopt, ib->second});
      ++ib;
    } else {
      if (ia->second != ib->second) out.push_back({ia->first, ia->second, ib->second});
      ++ia, ++ib;
    }
  }
  return out;
}

// A --map suggestion when a consistent prefix explains the unmatched names.
void add_prefix_hint(DiffResult& r, const std::vector<match::Entry>& entries, const DiffOptions& opt) {
  std::vector<std::string> a_names, b_names;
  for (const auto& e : entries) {
    if (e.a) a_names.push_back(e.name);
    if (e.b) b_names.push_back(e.name);
  }
  if (const auto hint = match::suggest_prefix_map(a_names, b_names))
    r.notices.push_back("hint: " + match::hint_text(*hint, !opt.map.empty()));
}

void summarize(DiffResult& r) {
  Summary& s = r.summary;
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
    if (!is_compared(t.status)) continue;
    const PairStats& p = *t.stats;
    ++s.compared;
    s.elements += p.numel;
    s.mismatched += p.mismatched;
    s.dot += p.dot;
    s.sum_sq_a += p.sum_sq_a;
    s.sum_sq_b += p.sum_sq_b;
    s.sum_sq_diff += p.sum_sq_diff;
    if (p.n_finite > 0 && (!s.max_abs || p.max_abs > *s.max_abs)) {
      s.max_abs = p.max_abs;
      s.max_abs_tensor = t.name;
    }
  }
  s.cosine = cosine_of(s.dot, s.sum_sq_a, s.sum_sq_b);
  s.rel_l2 = rel_l2_of(s.sum_sq_diff, s.sum_sq_a);
}

// Maps what a batch reads (again, where the mapping budget unmapped it) for
// the backend's threads, and keeps it mapped until the batch is done.
class BatchMappings {
 public:
  explicit BatchMappings(const engine::Batch& batch) {
    std::vector<const Storage*> files;
    for (const auto& t : batch.tasks)
      for (const TensorRef* side : {t.a, t.b})
        if (side->storage && side->storage->is_file()) files.push_back(side->storage.get());
    std::sort(files.begin(), files.end());
    files.erase(std::unique(files.begin(), files.end()), files.end());
    pins_.reserve(files.size());
    for (const Storage* f : files) pins_.emplace_back(f);
  }

 private:
  std::vector<StoragePin> pins_;
};

// Between batches nothing reads the files: drop every page the batch
// touched, shared edge pages included, which the backends must keep while
// neighbouring chunks are in flight. (Without this a model of many small
// tensors would stay resident: no tensor covers a whole page.)
void release_batch(const engine::Batch& batch) {
  std::map<const Storage*, std::pair<uint64_t, uint64_t>> hull;  // [begin, end)
  for (const auto& t : batch.tasks)
    for (const TensorRef* side : {t.a, t.b}) {
      if (!side->storage) continue;
      const backend::ByteRange r = backend::chunk_bytes(*side, t.first, t.count);
      auto [it, fresh] = hull.emplace(side->storage.get(), std::pair{r.begin, r.end});
      if (!fresh)
        it->second = {std::min(it->second.first, r.begin), std::max(it->second.second, r.end)};
    }
  for (const auto& [file, range] : hull) file->release_touched(range.first, range.second - range.first);
}

// Every compared pair keeps its histograms (5 arrays of --hist-range bins)
// until the reports are written. A model of many small tensors with a wide
// range would need gigabytes for them: refuse it up front with the numbers,
// not with std::bad_alloc halfway through.
void check_histogram_budget(const std::vector<TensorDiff>& tensors, const HistRange& hist) {
  const uint64_t pairs = static_cast<uint64_t>(std::count_if(
      tensors.begin(), tensors.end(), [](const TensorDiff& d) { return d.status == Status::identical; }));
  const uint64_t bytes = pairs * static_cast<uint64_t>(hist.bins()) * 5 * sizeof(uint64_t);
  if (bytes <= kHistogramBudgetBytes) return;
  throw Error(Errc::usage,
              "--hist-range " + std::to_string(hist.lo) + ":" + std::to_string(hist.hi) + ": " +
                  std::to_string(pairs) + " tensor pairs x " + std::to_string(hist.bins()) +
                  " bins need " + std::to_string(bytes >> 20) + " MiB of histograms (limit " +
                  std::to_string(kHistogramBudgetBytes >> 20) +
                  " MiB): narrow the range (default -40:16)");
}

// --structure-only: catalogs and metadata only. No backend is made (no
// device probed) and no tensor byte is read, so it takes the same time on a
// terabyte checkpoint as on a toy one.
DiffResult diff_structure(const Model& a, const Model& b, const DiffOptions& opt,
                          std::chrono::steady_clock::time_point t0) {
  const auto entries = match::match_tensors(a, b, opt);
  DiffResult result;
  result.backend = "none";
  result.metadata_diffs = metadata_diffs(a, b);
  add_prefix_hint(result, entries, opt);
  result.tensors.reserve(entries.size());
  for (const auto& e : entries) {
    result.tensors.push_back(describe(e));
    TensorDiff& d = result.tensors.back();
    if (d.status == Status::identical)  // provisional: a pair of equal shapes
      d.status = d.dtype_a == d.dtype_b ? Status::matched : Status::dtype_mismatch;
  }
  result.summary.structure_only = true;
  summarize(result);
  result.summary.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

}  // namespace

void validate(const DiffOptions& opt) {
  validate(static_cast<const ComputeOptions&>(opt));
  const auto check = [](const std::optional<double>& v, const char* option) {
    if (v && !(std::isfinite(*v) && *v >= 0))
      throw Error(Errc::usage, std::string(option) + " must be a finite number >= 0");
  };
  check(opt.atol, "--atol");
  check(opt.rtol, "--rtol");
}

DiffResult diff_models(const Model& a, const Model& b, const DiffOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  validate(opt);
  if (opt.structure_only) return diff_structure(a, b, opt, t0);
  const unsigned threads = opt.threads ? opt.threads : default_thread_count();
  std::string notice;
  auto backend = backend::make_backend(opt.backend, threads, opt.devices, &notice);
  backend->set_cancel(opt.cancel);

  const auto entries = match::match_tensors(a, b, opt);
  DiffResult result;
  result.backend = backend->name();
  result.devices = backend->devices();
  result.threads = backend->threads();
  if (!notice.empty()) result.notices.push_back(notice);
  result.metadata_diffs = metadata_diffs(a, b);
  add_prefix_hint(result, entries, opt);
  result.tensors.reserve(entries.size());

  for (const auto& e : entries) result.tensors.push_back(describe(e));
  check_histogram_budget(result.tensors, opt.hist);
  std::vector<engine::PlannedPair> pairs;
  std::vector<size_t> tensor_of_pair;
  for (size_t i = 0; i < entries.size(); ++i) {
    const match::Entry& e = entries[i];
    TensorDiff& d = result.tensors[i];
    if (d.status != Status::identical) continue;
    const Tolerance tol = pair_tolerance(*e.a, *e.b, opt);
    d.atol = tol.atol;
    d.rtol = tol.rtol;
    d.stats.emplace(opt.hist);
    pairs.push_back({e.a, e.b, tol.atol, tol.rtol});
    tensor_of_pair.push_back(i);
  }

  Progress progress;
  for (const auto& p : pairs) progress.bytes_total += p.a->nbytes + p.b->nbytes;
  // Partial results hold every histogram bin: fewer tasks per batch when a
  // wide --hist-range makes each one large (same bits: batches only group).
  const size_t batch_tasks =
      std::clamp<size_t>(4096 * 56 / static_cast<size_t>(opt.hist.bins()), 16, 4096);
  engine::ChunkPlanner planner(pairs, engine::kChunkElements, uint64_t{64} << 20, batch_tasks,
                               io::mapping_limit());
  engine::Batch batch;
  std::vector<PairStats> partial;
  while (planner.next(batch)) {
    const BatchMappings mapped(batch);
    partial.assign(batch.tasks.size(), PairStats(opt.hist));
    backend->reduce(batch.tasks, opt.hist, partial);
    throw_if_cancelled(opt.cancel);  // before merging: `partial` may be incomplete
    for (size_t i = 0; i < batch.tasks.size(); ++i) {  // chunk order: deterministic
      TensorDiff& d = result.tensors[tensor_of_pair[batch.pair_of_task[i]]];
      d.stats->merge(partial[i]);
    }
    release_batch(batch);
    if (opt.on_progress) {
      for (const auto& t : batch.tasks)
        progress.bytes_done += t.count * (dtype_bits(t.a->dtype) + dtype_bits(t.b->dtype)) / 8;
      progress.current = batch.tasks.back().a->name;
      opt.on_progress(progress);
    }
  }
  if (opt.on_progress) {
    progress.bytes_done = progress.bytes_total;
    progress.current.clear();
    opt.on_progress(progress);
  }

  // Same bytes start to end: a file replaced or rewritten during the pass
  // (caught by SIGBUS only when it shrank) makes the results meaningless.
  std::set<const Storage*> files;
  for (const auto& p : pairs)
    for (const TensorRef* t : {p.a, p.b})
      if (t->storage) files.insert(t->storage.get());
  for (const Storage* f : files) f->check_unchanged();

  for (const size_t ti : tensor_of_pair) {
    TensorDiff& d = result.tensors[ti];
    d.stats->numel = entries[ti].a->numel;  // also right for empty tensors (no chunk)
    // +0 and -0 compare equal, so which one a min or max keeps depends on
    // the combine order (SIMD lanes, GPU reduction trees): report +0 always,
    // so every backend prints the same bits (SPEC §2: min/max identical).
    for (double* v : {&d.stats->min_a, &d.stats->max_a, &d.stats->min_b, &d.stats->max_b})
      if (*v == 0) *v = 0.0;
    d.status = status_of(*d.stats);
  }
  result.summary.bytes_read = progress.bytes_total;
  summarize(result);
  result.summary.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

}  // namespace weightdiff
