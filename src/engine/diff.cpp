// diff_models: match, plan chunks, reduce them on a backend, merge in chunk
// order, derive status and summary.
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>
#include <thread>

#include "backend/backend.hpp"
#include "backend/b_order.hpp"
#include "backend/transpose.hpp"
#include "engine/dequant_catalog.hpp"
#include "engine/reduce_pairs.hpp"
#include "engine/same_bytes.hpp"
#include "match/fingerprint.hpp"
#include "match/match.hpp"
#include "match/preset.hpp"
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

const char* transpose_mode_name(TransposeMode m) noexcept {
  return m == TransposeMode::never ? "never" : "auto";
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

// The dtype whose SPEC §3 tolerance a side takes. A dequantized one's, as
// GGUF's block types take their scales': an fp8 weight times its scale is
// as precise as fp8; GPTQ/AWQ's small integers times scales, as the scales.
DType tolerance_dtype(const TensorRef& t) {
  if (!t.dequant) return t.dtype;
  return dtype_is_float(t.dequant->weight.dtype) ? t.dequant->weight.dtype : t.dequant->scale.dtype;
}

Tolerance pair_tolerance(const TensorRef& a, const TensorRef& b, const DiffOptions& opt) {
  const Tolerance ta = default_tolerance(tolerance_dtype(a)), tb = default_tolerance(tolerance_dtype(b));
  return {opt.atol.value_or(std::max(ta.atol, tb.atol)),
          opt.rtol.value_or(std::max(ta.rtol, tb.rtol))};
}

// --transpose auto: B is compared as Bᵀ when the 2-D shapes are each
// other's transpose and unequal, or square with exactly one side stored
// transposed by its exporter; and when B's elements can be gathered
// (whole bytes: not sub-byte, not block-quantized).
bool compare_transposed(const TensorRef& a, const TensorRef& b, TransposeMode mode) {
  if (mode == TransposeMode::never || a.shape.size() != 2 || b.shape.size() != 2) return false;
  if (a.shape[0] != b.shape[1] || a.shape[1] != b.shape[0]) return false;
  if (a.shape == b.shape && a.stored_transposed == b.stored_transposed) return false;
  return backend::can_gather_transposed(b);
}

// --map-preset llama-gguf: when one side holds llama.cpp's Q/K row
// permutation and the other does not, B is read in A's row order.
backend::BOrder rope_order(const match::Entry& e) {
  backend::BOrder o;
  if ((e.rope_heads_a != 0) == (e.rope_heads_b != 0) || e.a->shape != e.b->shape) return o;
  o.rope_heads = e.rope_heads_b != 0 ? e.rope_heads_b : e.rope_heads_a;
  o.rope_b_is_gguf = e.rope_heads_b != 0;
  return backend::can_reorder(*e.b, o) ? o : backend::BOrder{};
}

// How a matched pair's B is read: transposed, through the Q/K permutation,
// or as it is (also for entries that are not a supported pair).
backend::BOrder b_order_of(const match::Entry& e, TransposeMode transpose) {
  if (!e.a || !e.b || !e.a->unsupported_dtype.empty() || !e.b->unsupported_dtype.empty()) return {};
  if (e.a->dequant || e.b->dequant) return {};  // computed values have no stored order to gather
  if (compare_transposed(*e.a, *e.b, transpose)) return {true};
  return rope_order(e);
}

// `order`: b_order_of(e), which decides a transposed pair's status too.
TensorDiff describe(const match::Entry& e, const backend::BOrder& order) {
  TensorDiff d;
  d.name = e.name;
  d.name_b = e.name_b;
  d.matched_as = e.matched_as;
  // A dequantized side: its stored weight's dtype, and how it is stored.
  const auto side = [](const TensorRef& t, std::string& dtype, std::string& quant) {
    dtype = t.dequant ? t.dequant->weight.dtype_label() : t.dtype_label();
    if (t.dequant) quant = t.dequant->label;
  };
  if (e.a) side(*e.a, d.dtype_a, d.quant_a), d.shape_a = e.a->shape;
  if (e.b) side(*e.b, d.dtype_b, d.quant_b), d.shape_b = e.b->shape;
  d.floating = (e.a && dtype_is_float(e.a->dtype)) || (e.b && dtype_is_float(e.b->dtype));
  if (!e.b) d.status = Status::only_in_a;
  if (!e.a) d.status = Status::only_in_b;
  if (e.a && e.b) {
    const bool supported = e.a->unsupported_dtype.empty() && e.b->unsupported_dtype.empty();
    d.transposed = order.transposed;
    d.rope_heads = order.rope_heads;
    if (!supported)
      d.status = Status::unsupported_dtype;
    else if (e.a->shape != e.b->shape && !d.transposed)
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

// The catalogs diff_models pairs: each model, or its --dequant view
// (engine/dequant_catalog.hpp) when that side is compared dequantized.
class Dequantized {
 public:
  Dequantized(const Model& a, const Model& b, DequantMode mode) : a_(a), b_(b) {
    const engine::DequantSides sides = engine::dequant_sides(a, b, mode);
    if (sides.a) view_a_ = engine::dequantized(a);
    if (sides.b) view_b_ = engine::dequantized(b);
  }
  const Model& a() const { return view_a_ ? *view_a_ : a_; }
  const Model& b() const { return view_b_ ? *view_b_ : b_; }

 private:
  const Model& a_;
  const Model& b_;
  std::optional<Model> view_a_, view_b_;
};

// A --map suggestion when a consistent prefix explains the unmatched names.
void add_prefix_hint(DiffResult& r, const std::vector<match::Entry>& entries, const DiffOptions& opt) {
  std::vector<std::string> a_names, b_names;
  for (const auto& e : entries) {  // the names matching used
    const std::string& key = e.matched_as.empty() ? e.name : e.matched_as;
    if (e.a) a_names.push_back(key);
    if (e.b) b_names.push_back(key);
  }
  if (const auto hint = match::suggest_prefix_map(a_names, b_names))
    r.notices.push_back("hint: " + match::hint_text(*hint, !opt.map.empty()));
}

// A --map suggestion for unmatched tensors whose values are equal (or
// transposed-equal): reads them, so never with --structure-only.
void add_content_hint(DiffResult& r, const std::vector<match::Entry>& entries, const DiffOptions& opt) {
  const auto hint = match::suggest_content_map(entries, opt.cancel);
  if (!hint) return;
  r.suggested_map = hint->rules;
  r.notices.push_back("hint: " + match::content_hint_text(*hint, !opt.map.empty()));
}

// --shard K/N: which entries part K holds (its pairs, and the structural
// entries when K is 1), and the pairs it reduces.
std::vector<bool> keep_part(const Shard& shard, size_t entries, std::vector<engine::PlannedPair>& pairs,
                            std::vector<size_t>& tensor_of_pair) {
  std::vector<bool> keep(entries, shard.k == 1);
  std::vector<uint64_t> bytes;
  bytes.reserve(pairs.size());
  for (const auto& p : pairs) bytes.push_back(p.a->nbytes + p.b->nbytes);
  const std::vector<uint32_t> part = assign_shards(bytes, shard.n);
  size_t kept = 0;
  for (size_t i = 0; i < pairs.size(); ++i) {
    const bool mine = part[i] == shard.k - 1;
    keep[tensor_of_pair[i]] = mine;
    if (!mine) continue;
    pairs[kept] = pairs[i];
    tensor_of_pair[kept++] = tensor_of_pair[i];
  }
  pairs.resize(kept);
  tensor_of_pair.resize(kept);
  return keep;
}

// Drops the entries another part holds, recording where the others sit.
void compact_to_part(DiffResult& r, const Shard& shard, const std::vector<bool>& keep) {
  PartIndex index;
  index.shard = shard;
  index.entries = r.tensors.size();
  std::vector<TensorDiff> mine;
  for (size_t i = 0; i < r.tensors.size(); ++i) {
    if (!keep[i]) continue;
    mine.push_back(std::move(r.tensors[i]));
    index.of_tensor.push_back(i);
  }
  r.tensors = std::move(mine);
  r.part = std::move(index);
}

DiffSettings settings_of(const DiffOptions& opt) {
  DiffSettings s;
  s.atol = opt.atol;
  s.rtol = opt.rtol;
  s.map = opt.map;
  s.include = opt.include;
  s.exclude = opt.exclude;
  s.hist = opt.hist;
  s.structure_only = opt.structure_only;
  s.exact = opt.exact;
  s.transpose = opt.transpose;
  s.dequant = opt.dequant;
  s.map_preset = opt.map_preset;
  s.shard = opt.shard;
  return s;
}

// --structure-only: catalogs and metadata only. No backend is made (no
// device probed) and no tensor byte is read, so it takes the same time on a
// terabyte checkpoint as on a toy one.
DiffResult diff_structure(const Model& a, const Model& b, const DiffOptions& opt,
                          std::chrono::steady_clock::time_point t0) {
  const Dequantized models(a, b, opt.dequant);
  const auto entries = match::match_tensors(models.a(), models.b(), opt);
  DiffResult result;
  result.settings = settings_of(opt);
  result.backend = "none";
  result.metadata_diffs = metadata_diffs(a, b);
  if (a.graph && b.graph) result.graph = diff_graphs(*a.graph, *b.graph);
  add_prefix_hint(result, entries, opt);
  result.tensors.reserve(entries.size());
  for (const auto& e : entries) {
    result.tensors.push_back(describe(e, b_order_of(e, opt.transpose)));
    TensorDiff& d = result.tensors.back();
    if (d.status == Status::identical)  // provisional: a pair of equal shapes
      d.status = d.dtype_a == d.dtype_b ? Status::matched : Status::dtype_mismatch;
  }
  result.summary = summarize(result);
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
  match::check_preset(opt.map_preset);
  if (opt.exact && opt.structure_only)
    throw Error(Errc::usage, "--exact compares tensor bytes: not with --structure-only");
  if (opt.shard && opt.structure_only)
    throw Error(Errc::usage, "--shard splits the value comparison: not with --structure-only");
}

DiffResult diff_models(const Model& a, const Model& b, const DiffOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  validate(opt);
  if (opt.structure_only) return diff_structure(a, b, opt, t0);
  DiffResult result;
  result.settings = settings_of(opt);
  const auto backend = engine::open_backend(opt, result.notices);
  const Dequantized models(a, b, opt.dequant);
  const auto entries = match::match_tensors(models.a(), models.b(), opt);
  result.backend = backend->name();
  result.devices = backend->devices();
  result.threads = backend->threads();
  result.metadata_diffs = metadata_diffs(a, b);
  if (a.graph && b.graph) result.graph = diff_graphs(*a.graph, *b.graph);
  add_prefix_hint(result, entries, opt);
  result.tensors.reserve(entries.size());

  std::vector<backend::BOrder> orders;  // decided once per entry, for describe and the plan
  orders.reserve(entries.size());
  for (const auto& e : entries) {
    orders.push_back(b_order_of(e, opt.transpose));
    result.tensors.push_back(describe(e, orders.back()));
  }
  std::vector<engine::PlannedPair> pairs;
  std::vector<size_t> tensor_of_pair;
  for (size_t i = 0; i < entries.size(); ++i) {
    const match::Entry& e = entries[i];
    TensorDiff& d = result.tensors[i];
    if (d.status != Status::identical) continue;
    const Tolerance tol = pair_tolerance(*e.a, *e.b, opt);
    d.atol = tol.atol;
    d.rtol = tol.rtol;
    pairs.push_back({e.a, e.b, tol.atol, tol.rtol, false, orders[i]});
    tensor_of_pair.push_back(i);
  }
  std::vector<bool> keep;
  if (opt.shard) keep = keep_part(*opt.shard, result.tensors.size(), pairs, tensor_of_pair);

  engine::Reduced reduced = engine::reduce_pairs(pairs, *backend, opt);
  for (size_t i = 0; i < pairs.size(); ++i) {
    TensorDiff& d = result.tensors[tensor_of_pair[i]];
    d.stats = std::move(reduced.stats[i]);
    d.status = status_of(*d.stats);
    // Unequal values or dtypes already settle it; only equal values need
    // their bytes compared.
    if (opt.exact)
      d.bytes_equal = d.status == Status::identical && engine::same_bytes(*pairs[i].a, *pairs[i].b, opt.cancel,
                                                                         pairs[i].b_order);
  }
  // The content hint reads unmatched tensors: part 1 alone, as it holds them.
  if (!opt.shard || opt.shard->k == 1) add_content_hint(result, entries, opt);
  if (opt.shard) compact_to_part(result, *opt.shard, keep);
  result.summary = summarize(result);
  result.summary.bytes_read = reduced.bytes_read;
  result.summary.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return result;
}

}  // namespace weightdiff
