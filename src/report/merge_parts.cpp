// weightdiff merge: the parts' JSON (json_report.cpp + part_json.hpp) read
// back into one DiffResult. Everything a report shows is rebuilt from the
// parts' exact values (raw sums, full histograms), and the summary is
// recomputed by the engine's own summarize over the tensors in the single
// run's order, so the merged reports are the single run's, bit for bit.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <sstream>

#include "report/part_json.hpp"
#include "weightdiff/error.hpp"
#include "weightdiff/merge.hpp"

namespace weightdiff {
namespace {

using Json = nlohmann::json;

// A model of more tensors than this is not described by a part (its
// description is rebuilt with that many empty tensor entries).
// A part is at most a few levels deep (the graph's nodes_changed: 4).
constexpr int kMaxDepth = 16;
constexpr uint64_t kMaxModelTensors = uint64_t{1} << 20;

std::string read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(Errc::io, std::string("cannot open: ") + std::strerror(errno), path);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw Error(Errc::io, "cannot read", path);
  return text.str();
}

// Typed access to one part's JSON: a missing field or one of the wrong kind
// is Error(malformed) naming the file and the field.
class Fields {
 public:
  explicit Fields(const std::string& file) : file_(file) {}

  [[noreturn]] void fail(const std::string& what) const { throw Error(Errc::malformed, what, file_); }

  const Json& at(const Json& o, const char* key) const {
    if (!o.is_object()) fail(std::string("expected an object holding '") + key + "'");
    const auto it = o.find(key);
    if (it == o.end()) fail(std::string("no field '") + key + "'");
    return *it;
  }
  // An array field (iterating anything else would take its values).
  const Json& array(const Json& o, const char* key) const {
    const Json& v = at(o, key);
    if (!v.is_array()) fail(std::string("'") + key + "' is not an array");
    return v;
  }
  const Json* find(const Json& o, const char* key) const {
    const auto it = o.find(key);
    return it == o.end() ? nullptr : &*it;
  }
  uint64_t u64(const Json& v, const char* what) const {
    if (!v.is_number_unsigned()) fail(std::string("'") + what + "' is not an unsigned integer");
    return v.get<uint64_t>();
  }
  int64_t i64(const Json& v, const char* what) const {
    if (!v.is_number_integer() ||
        (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())))
      fail(std::string("'") + what + "' is not an integer of 64 bits");
    return v.get<int64_t>();
  }
  // SPEC §5: finite numbers as numbers, non-finite as "nan", "inf", "-inf".
  double f64(const Json& v, const char* what) const {
    if (v.is_number()) return v.get<double>();
    if (v.is_string()) {
      const auto& s = v.get_ref<const std::string&>();
      if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
      if (s == "inf") return std::numeric_limits<double>::infinity();
      if (s == "-inf") return -std::numeric_limits<double>::infinity();
    }
    fail(std::string("'") + what + "' is not a number");
  }
  bool boolean(const Json& v, const char* what) const {
    if (!v.is_boolean()) fail(std::string("'") + what + "' is not true or false");
    return v.get<bool>();
  }
  const std::string& str(const Json& v, const char* what) const {
    if (!v.is_string()) fail(std::string("'") + what + "' is not a string");
    return v.get_ref<const std::string&>();
  }
  std::string str_or_empty(const Json& v, const char* what) const { return v.is_null() ? "" : str(v, what); }
  std::vector<uint64_t> u64s(const Json& v, const char* what) const {
    if (!v.is_array()) fail(std::string("'") + what + "' is not an array");
    std::vector<uint64_t> out;
    out.reserve(v.size());
    for (const auto& x : v) out.push_back(u64(x, what));
    return out;
  }
  std::vector<std::string> strs(const Json& v, const char* what) const {
    if (!v.is_array()) fail(std::string("'") + what + "' is not an array");
    std::vector<std::string> out;
    for (const auto& x : v) out.push_back(str(x, what));
    return out;
  }
  const std::string& file() const { return file_; }

 private:
  const std::string& file_;
};

struct Part {
  std::string path;
  Json json;  // the report without its "tensors", which are in `rows`
  uint32_t k = 0, n = 0;
  uint64_t entries = 0;
  std::vector<std::pair<uint64_t, TensorDiff>> rows;  // (index, tensor)
};

Part read_part(const PartText& text) {
  Part p;
  p.path = text.name;
  const Fields f(p.path);
  // Nesting bounded while parsing: comparing and copying a DOM recurse.
  const Json::parser_callback_t bounded = [&](int depth, Json::parse_event_t, Json&) {
    if (depth > kMaxDepth) f.fail("JSON nested more than " + std::to_string(kMaxDepth) + " deep");
    return true;
  };
  p.json = Json::parse(text.json, bounded, /*allow_exceptions=*/false);
  if (p.json.is_discarded()) f.fail("not JSON");
  if (!p.json.is_object() || !p.json.contains("part"))
    f.fail("not the JSON report of a --shard run (no \"part\" field)");
  const Json& head = f.at(p.json, "part");
  const uint64_t version = f.u64(f.at(head, "version"), "part.version");
  if (version != static_cast<uint64_t>(report::kPartVersion))
    f.fail("part layout version " + std::to_string(version) + "; this weightdiff reads " +
           std::to_string(report::kPartVersion));
  const uint64_t k = f.u64(f.at(head, "k"), "part.k"), n = f.u64(f.at(head, "n"), "part.n");
  if (n < 1 || n > 65536 || k < 1 || k > n) f.fail("part.k/part.n out of range");
  p.k = static_cast<uint32_t>(k);
  p.n = static_cast<uint32_t>(n);
  p.entries = f.u64(f.at(head, "entries"), "part.entries");
  if (!f.at(p.json, "tensors").is_array()) f.fail("'tensors' is not an array");
  if (!f.at(p.json, "options").is_object()) f.fail("'options' is not an object");
  return p;
}

std::string part_name(const Part& p) { return std::to_string(p.k) + "/" + std::to_string(p.n); }

// The parts belong to one run: the same inputs, models, options and N.
void check_together(const Part& ref, const Part& p) {
  const auto conflict = [&](const std::string& what) {
    std::string msg = "part ";
    msg += part_name(p);
    msg += " does not belong with part ";
    msg += part_name(ref);
    msg += " (";
    msg += ref.path;
    msg += "): ";
    msg += what;
    throw Error(Errc::conflict, msg, p.path);
  };
  if (p.n != ref.n) conflict("another number of parts");
  if (p.entries != ref.entries) conflict("another number of entries");
  // Compared in place: a missing field on both sides is equal.
  const auto same = [](const Json& x, const Json& y, const char* key) {
    const auto ix = x.find(key), iy = y.find(key);
    if (ix == x.end() || iy == y.end()) return (ix == x.end()) == (iy == y.end());
    return *ix == *iy;
  };
  if (!same(p.json.at("part"), ref.json.at("part"), "inputs"))
    conflict("other input files (path, size or modification time)");
  for (const char* key : {"schema_version", "a", "b", "metadata_diffs", "graph"})
    if (!same(p.json, ref.json, key)) conflict(std::string("another '") + key + "'");
  const Json& op = p.json.at("options");  // objects (read_part)
  const Json& orf = ref.json.at("options");
  bool options_equal = true;
  for (const auto& [key, v] : op.items())
    if (key != "shard" && !same(op, orf, key.c_str())) options_equal = false;
  for (const auto& [key, v] : orf.items())
    if (key != "shard" && !op.contains(key)) options_equal = false;
  if (!options_equal) conflict("other options");
}

Model model_of(const Fields& f, const Json& m) {
  Model out;
  out.path = f.str(f.at(m, "path"), "path");
  out.format = f.str(f.at(m, "format"), "format");
  const uint64_t tensors = f.u64(f.at(m, "tensors"), "tensors");
  if (tensors > kMaxModelTensors) f.fail("a model of more than 2^20 tensors");
  out.tensors.resize(tensors);
  out.bytes = f.u64(f.at(m, "bytes"), "bytes");
  const Json& meta = f.at(m, "metadata");
  if (!meta.is_object()) f.fail("'metadata' is not an object");
  for (const auto& [k, v] : meta.items()) out.metadata[k] = f.str(v, "metadata");
  return out;
}

DiffSettings settings_of(const Fields& f, const Json& o, std::vector<std::string>& fail_if) {
  DiffSettings s;
  const auto tolerance = [&](const char* key) -> std::optional<double> {
    const Json& v = f.at(o, key);
    if (v.is_null()) return std::nullopt;
    return f.f64(v, key);
  };
  s.atol = tolerance("atol");
  s.rtol = tolerance("rtol");
  for (const auto& rule : f.strs(f.at(o, "map"), "map")) {
    try {
      s.map.push_back(parse_map_rule(rule));
    } catch (const Error& e) {
      f.fail("options.map: " + e.detail());
    }
  }
  s.include = f.strs(f.at(o, "include"), "include");
  s.exclude = f.strs(f.at(o, "exclude"), "exclude");
  fail_if = f.strs(f.at(o, "fail_if"), "fail_if");
  const Json& hist = f.at(o, "hist_range");
  if (!hist.is_array() || hist.size() != 2) f.fail("'hist_range' is not [lo, hi]");
  const int64_t lo = f.i64(hist[0], "hist_range"), hi = f.i64(hist[1], "hist_range");
  if (lo < -1021 || hi > 1023 || lo >= hi) f.fail("'hist_range' out of range");
  s.hist = {static_cast<int>(lo), static_cast<int>(hi)};
  if (f.boolean(f.at(o, "structure_only"), "structure_only")) f.fail("a --structure-only report is no part");
  s.exact = f.boolean(f.at(o, "exact"), "exact");
  const std::string& transpose = f.str(f.at(o, "transpose"), "transpose");
  if (transpose != "auto" && transpose != "never") f.fail("'transpose' is not auto or never");
  s.transpose = transpose == "never" ? TransposeMode::never : TransposeMode::automatic;
  const std::string& dequant = f.str(f.at(o, "dequant"), "dequant");
  if (dequant == "auto") s.dequant = DequantMode::automatic;
  else if (dequant == "always") s.dequant = DequantMode::always;
  else if (dequant == "never") s.dequant = DequantMode::never;
  else f.fail("'dequant' is not auto, always or never");
  s.map_preset = f.str_or_empty(f.at(o, "map_preset"), "map_preset");
  return s;
}

std::optional<Status> status_from_name(const std::string& name) {
  for (const Status s : {Status::identical, Status::close, Status::different, Status::only_in_a,
                         Status::only_in_b, Status::shape_mismatch, Status::unsupported_dtype,
                         Status::matched, Status::dtype_mismatch})
    if (name == status_name(s)) return s;
  return std::nullopt;
}

Bins bins_of(const Fields& f, const Json& v, const char* what, const HistRange& r) {
  const std::vector<uint64_t> counts = f.u64s(v, what);
  if (counts.size() != static_cast<size_t>(r.bins())) f.fail(std::string("'") + what + "' has the wrong number of bins");
  return Bins(counts);
}

void check_range(const Fields& f, const Json& h, const HistRange& r) {
  if (f.i64(f.at(h, "lo"), "lo") != r.lo || f.i64(f.at(h, "hi"), "hi") != r.hi)
    f.fail("a histogram's range is not options.hist_range");
}

PairStats stats_of(const Fields& f, const Json& row, const HistRange& r) {
  const Json& raw = f.at(row, "raw");
  PairStats s(r);
  const auto u = [&](const char* key) { return f.u64(f.at(raw, key), key); };
  const auto d = [&](const char* key) { return f.f64(f.at(raw, key), key); };
  s.numel = u("numel");
  s.n_finite = u("n_finite");
  s.equal = u("equal");
  s.mismatched = u("mismatched");
  s.nan_a = u("nan_a"), s.nan_b = u("nan_b"), s.inf_a = u("inf_a"), s.inf_b = u("inf_b");
  s.sum_abs = d("sum_abs"), s.sum_sq_diff = d("sum_sq_diff"), s.dot = d("dot");
  s.sum_sq_a = d("sum_sq_a"), s.sum_sq_b = d("sum_sq_b");
  for (auto [key, m] : {std::pair{"mom_a", &s.mom_a}, std::pair{"mom_b", &s.mom_b}}) {
    const Json& v = f.at(raw, key);
    if (!v.is_array() || v.size() != 3) f.fail(std::string("'") + key + "' is not [n, mean, m2]");
    m->n = f.u64(v[0], key);
    m->mean = f.f64(v[1], key);
    m->m2 = f.f64(v[2], key);
  }
  s.min_a = d("min_a"), s.max_a = d("max_a"), s.min_b = d("min_b"), s.max_b = d("max_b");
  s.max_abs = d("max_abs");
  s.max_abs_index = u("max_abs_index");
  s.a_at_max_abs = d("a_at_max_abs"), s.b_at_max_abs = d("b_at_max_abs");
  s.max_rel = d("max_rel");

  const Json& ha = f.at(row, "hist_abs_diff");
  check_range(f, ha, r);
  s.hist_abs_diff.zero = f.u64(f.at(ha, "zero"), "zero");
  s.hist_abs_diff.under = f.u64(f.at(ha, "under"), "under");
  s.hist_abs_diff.over = f.u64(f.at(ha, "over"), "over");
  s.hist_abs_diff.counts = bins_of(f, f.at(ha, "counts"), "counts", r);
  for (auto [key, h] : {std::pair{"hist_a", &s.hist_a}, std::pair{"hist_b", &s.hist_b}}) {
    const Json& v = f.at(row, key);
    check_range(f, v, r);
    h->zero = f.u64(f.at(v, "zero"), "zero");
    h->under = f.u64(f.at(v, "under"), "under");
    h->over = f.u64(f.at(v, "over"), "over");
    h->pos = bins_of(f, f.at(v, "pos"), "pos", r);
    h->neg = bins_of(f, f.at(v, "neg"), "neg", r);
  }
  return s;
}

TensorDiff tensor_of(const Fields& f, const Json& row, const HistRange& r) {
  TensorDiff t;
  t.name = f.str(f.at(row, "name"), "name");
  t.name_b = f.str_or_empty(f.at(row, "name_b"), "name_b");
  if (const Json* v = f.find(row, "matched_as")) t.matched_as = f.str(*v, "matched_as");
  const auto status = status_from_name(f.str(f.at(row, "status"), "status"));
  if (!status) f.fail("tensor '" + t.name + "': unknown status");
  t.status = *status;
  t.dtype_a = f.str_or_empty(f.at(row, "dtype_a"), "dtype_a");
  t.dtype_b = f.str_or_empty(f.at(row, "dtype_b"), "dtype_b");
  if (!t.dtype_a.empty()) t.shape_a = f.u64s(f.at(row, "shape_a"), "shape_a");
  if (!t.dtype_b.empty()) t.shape_b = f.u64s(f.at(row, "shape_b"), "shape_b");
  if (const Json* v = f.find(row, "transposed")) t.transposed = f.boolean(*v, "transposed");
  if (const Json* v = f.find(row, "rope_heads")) {
    const uint64_t heads = f.u64(*v, "rope_heads");
    if (heads > std::numeric_limits<uint32_t>::max()) f.fail("'rope_heads' out of range");
    t.rope_heads = static_cast<uint32_t>(heads);
  }
  if (const Json* v = f.find(row, "quant_a")) t.quant_a = f.str(*v, "quant_a");
  if (const Json* v = f.find(row, "quant_b")) t.quant_b = f.str(*v, "quant_b");
  if (const Json* v = f.find(row, "bytes_equal")) t.bytes_equal = f.boolean(*v, "bytes_equal");
  if (is_compared(t.status) != row.contains("raw"))
    f.fail("tensor '" + t.name + "': raw sums present exactly when it was compared");
  if (!row.contains("raw")) return t;
  t.atol = f.f64(f.at(row, "atol"), "atol");
  t.rtol = f.f64(f.at(row, "rtol"), "rtol");
  t.floating = f.boolean(f.at(f.at(row, "raw"), "floating"), "floating");
  t.stats = stats_of(f, row, r);
  return t;
}

GraphDiff graph_of(const Fields& f, const Json& g) {
  GraphDiff d;
  const Json& ir = f.at(g, "ir_version");
  d.ir_version_a = f.i64(f.at(ir, "a"), "graph.ir_version");
  d.ir_version_b = f.i64(f.at(ir, "b"), "graph.ir_version");
  for (const auto& o : f.array(g, "opsets")) {
    const auto version = [&](const char* side) {
      const Json& v = f.at(o, side);
      return v.is_null() ? int64_t{0} : f.i64(v, "opsets");
    };
    d.opsets.push_back({f.str(f.at(o, "domain"), "domain"), version("a"), version("b")});
  }
  d.nodes_a = f.u64(f.at(g, "nodes_a"), "graph.nodes_a");
  d.nodes_b = f.u64(f.at(g, "nodes_b"), "graph.nodes_b");
  d.too_large = f.boolean(f.at(g, "too_large"), "graph.too_large");
  for (const auto& c : f.array(g, "op_counts"))
    d.op_counts.push_back({f.str(f.at(c, "op"), "op"), f.u64(f.at(c, "a"), "a"), f.u64(f.at(c, "b"), "b")});
  d.added = f.u64(f.at(g, "added"), "graph.added");
  d.removed = f.u64(f.at(g, "removed"), "graph.removed");
  d.changed = f.u64(f.at(g, "changed"), "graph.changed");
  d.nodes_added = f.strs(f.at(g, "nodes_added"), "graph.nodes_added");
  d.nodes_removed = f.strs(f.at(g, "nodes_removed"), "graph.nodes_removed");
  for (const auto& c : f.array(g, "nodes_changed"))
    d.nodes_changed.push_back({f.str(f.at(c, "node"), "node"), f.strs(f.at(c, "changes"), "changes")});
  if (d.nodes_added.size() > std::min<uint64_t>(d.added, kMaxListed) ||
      d.nodes_removed.size() > std::min<uint64_t>(d.removed, kMaxListed) ||
      d.nodes_changed.size() > std::min<uint64_t>(d.changed, kMaxListed))
    f.fail("graph: more nodes listed than counted");
  d.set_differs(f.boolean(f.at(g, "differs"), "graph.differs"));
  for (auto [key, out] : {std::pair{"inputs", &d.inputs}, std::pair{"outputs", &d.outputs}})
    for (const auto& v : f.array(g, key))
      out->push_back({f.str(f.at(v, "name"), "name"), f.str(f.at(v, "a"), "a"), f.str(f.at(v, "b"), "b")});
  return d;
}

// A part's rows, converted as soon as it is read so that only one part's
// JSON is held as a DOM at a time (its histograms are most of its size).
void take_rows(Part& p) {
  const Fields f(p.path);
  std::vector<std::string> gates;
  const HistRange hist = settings_of(f, f.at(p.json, "options"), gates).hist;
  Json& tensors = p.json.at("tensors");
  p.rows.reserve(tensors.size());
  for (const auto& row : tensors) {
    const uint64_t index = f.u64(f.at(row, "index"), "index");
    if (index >= p.entries) f.fail("tensor index " + std::to_string(index) + " outside the run's entries");
    p.rows.emplace_back(index, tensor_of(f, row, hist));
  }
  p.json.erase("tensors");
}

}  // namespace

MergedRun merge_parts(const std::vector<std::string>& paths) {
  std::vector<PartText> texts;
  for (const auto& p : paths) texts.push_back({p, read_whole(p)});
  return merge_part_texts(std::move(texts));
}

MergedRun merge_part_texts(std::vector<PartText> texts) {
  if (texts.empty()) throw Error(Errc::usage, "merge: no part given");
  std::vector<Part> parts;
  for (auto& t : texts) {
    parts.push_back(read_part(t));
    t.json = std::string();  // the DOM holds it now
    take_rows(parts.back());
  }
  std::stable_sort(parts.begin(), parts.end(), [](const Part& x, const Part& y) { return x.k < y.k; });
  const Part& ref = parts.front();
  for (size_t i = 1; i < parts.size(); ++i) {
    check_together(ref, parts[i]);
    if (parts[i].k == parts[i - 1].k)
      throw Error(Errc::conflict, "part " + part_name(parts[i]) + " given twice (also " + parts[i - 1].path + ")",
                  parts[i].path);
  }
  for (uint32_t k = 1, i = 0; k <= ref.n; ++k) {
    if (i < parts.size() && parts[i].k == k) {
      ++i;
      continue;
    }
    throw Error(Errc::usage, "merge: part " + std::to_string(k) + "/" + std::to_string(ref.n) +
                                 " is missing (the parts given: " + std::to_string(parts.size()) + ")");
  }

  MergedRun out;
  const Fields f(ref.path);  // part 1: the reference for what all parts share
  out.a = model_of(f, f.at(ref.json, "a"));
  out.b = model_of(f, f.at(ref.json, "b"));
  DiffResult& r = out.result;
  r.settings = settings_of(f, f.at(ref.json, "options"), out.fail_if);
  const Json& backend = f.at(ref.json, "backend");
  r.backend = f.str(f.at(backend, "name"), "backend.name");
  r.devices = f.strs(f.at(backend, "devices"), "backend.devices");
  const uint64_t threads = f.u64(f.at(backend, "threads"), "backend.threads");
  r.threads = static_cast<unsigned>(std::min<uint64_t>(threads, std::numeric_limits<unsigned>::max()));
  for (const auto& m : f.array(ref.json, "metadata_diffs")) {
    MetadataDiff d;
    d.key = f.str(f.at(m, "key"), "metadata_diffs.key");
    if (!f.at(m, "a").is_null()) d.a = f.str(m.at("a"), "metadata_diffs.a");
    if (!f.at(m, "b").is_null()) d.b = f.str(m.at("b"), "metadata_diffs.b");
    r.metadata_diffs.push_back(std::move(d));
  }
  if (const Json* g = f.find(ref.json, "graph")) r.graph = graph_of(f, *g);
  if (const Json* rules = f.find(ref.json, "suggested_map"))
    for (const auto& rule : f.strs(*rules, "suggested_map")) {
      try {
        r.suggested_map.push_back(parse_map_rule(rule));
      } catch (const Error& e) {
        f.fail("suggested_map: " + e.detail());
      }
    }
  r.notices = f.strs(f.at(f.at(ref.json, "part"), "notices"), "part.notices");

  uint64_t rows = 0;
  for (const auto& p : parts) rows += p.rows.size();
  if (rows != ref.entries)
    throw Error(Errc::conflict, "the parts hold " + std::to_string(rows) + " tensors of the run's " +
                                    std::to_string(ref.entries), ref.path);
  std::vector<std::optional<TensorDiff>> slots(ref.entries);
  uint64_t bytes_read = 0;
  double seconds = 0;
  for (auto& p : parts) {
    const Fields pf(p.path);
    const Json& summary = pf.at(p.json, "summary");
    bytes_read += pf.u64(pf.at(summary, "bytes_read"), "summary.bytes_read");
    seconds = std::max(seconds, pf.f64(pf.at(summary, "seconds"), "summary.seconds"));
    for (auto& [index, t] : p.rows) {  // index < entries: take_rows, and every part has the same entries
      if (slots[index]) throw Error(Errc::conflict, "entry " + std::to_string(index) + " is in two parts", p.path);
      slots[index] = std::move(t);
    }
    std::vector<std::pair<uint64_t, TensorDiff>>().swap(p.rows);
  }
  r.tensors.reserve(slots.size());
  for (auto& t : slots) r.tensors.push_back(std::move(*t));  // all present: rows == entries, none twice
  r.summary = summarize(r);
  r.summary.bytes_read = bytes_read;
  r.summary.seconds = seconds;
  return out;
}

}  // namespace weightdiff
