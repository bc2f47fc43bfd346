// The terminal table: the worst tensors first, then the structural
// differences, the metadata differences, the graph differences (two ONNX
// models), the error by quant type (when a side is quantized) and a summary line.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/excerpt.hpp"
#include "report/number_text.hpp"
#include "weightdiff/error.hpp"
#include "weightdiff/quant_groups.hpp"
#include "weightdiff/report.hpp"

namespace weightdiff {
namespace {

// Metrics where a smaller value is worse.
bool lower_is_worse(const std::string& m) { return m == "cosine" || m == "snr_db"; }

std::string fmt(double v, const char* f = "%.3g") {
  if (const auto word = report::non_finite_name(v)) return std::string(*word);
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string fmt(const std::optional<double>& v) { return v ? fmt(*v) : "-"; }

const char* color_of(Status s) {
  switch (s) {
    case Status::identical: return "\033[32m";
    case Status::close: return "\033[36m";
    case Status::different: return "\033[31m";
    case Status::matched: return "\033[32m";
    default: return "\033[33m";
  }
}

struct Row {
  const TensorDiff* t;
  double key;  // NaN: undefined, sorted first (worst)
  Metrics m;
  bool nonfinite_changed() const { return m.nonfinite_introduced || m.nonfinite_removed; }
};

std::string dtypes(const TensorDiff& t) {
  return t.dtype_a == t.dtype_b ? t.dtype_a : t.dtype_a + "→" + t.dtype_b;
}

// Columns are as wide as the characters shown, not their UTF-8 bytes.
size_t width(const std::string& s) {
  size_t n = 0;
  for (const char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

std::string pad(const std::string& s, size_t w) {
  const size_t n = width(s);
  return n >= w ? s : s + std::string(w - n, ' ');
}
std::string lpad(const std::string& s, size_t w) {
  return s.size() >= w ? s : std::string(w - s.size(), ' ') + s;
}

// A metadata value as the terminal shows it: quoted, made printable, and cut
// (at a UTF-8 boundary) when long: some files keep a whole config there.
std::string metadata_value(const std::optional<std::string>& v) {
  constexpr size_t kMax = 60;
  if (!v) return "(absent)";
  std::string text = printable(*v);
  if (text.size() > kMax) {
    size_t cut = kMax;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    text = text.substr(0, cut) + "… (" + std::to_string(v->size()) + " bytes)";
  }
  return "'" + text + "'";
}

// Why a comparison compared nothing: it must not read like a perfect match.
std::string nothing_compared_reason(const DiffResult& r) {
  const Summary& s = r.summary;
  const bool hint = std::any_of(r.notices.begin(), r.notices.end(),
                                [](const std::string& n) { return n.starts_with("hint:"); });
  std::string why;
  if (r.tensors.empty()) return "neither model holds a tensor";
  if (s.shape_mismatch + s.unsupported_dtype == 0) {
    why = "no tensor name in common (only in A " + std::to_string(s.only_in_a) + ", only in B " +
          std::to_string(s.only_in_b) + ")";
    why += hint ? "; see the hint above" : "; --map 'REGEX=REPL' renames B's tensors";
    return why;
  }
  why = "no matched pair has equal shapes and a supported dtype";
  if (s.only_in_a + s.only_in_b) why += "; only in A " + std::to_string(s.only_in_a) + ", only in B " + std::to_string(s.only_in_b);
  return why;
}

// Two ONNX graphs: one line of counts, then (at most `top`) the nodes added
// (+), removed (-) and changed (~), and the inputs and outputs that differ.
void print_graph(std::ostream& out, const GraphDiff& g, size_t top) {
  out << "graph  ";
  if (g.too_large) {
    out << "too large to compare node by node";
  } else {
    out << "A " << g.nodes_a << " nodes, B " << g.nodes_b << " nodes: ";
    if (!g.differs()) out << "no difference";
    else out << g.added << " added, " << g.removed << " removed, " << g.changed << " changed";
    std::string ops;
    for (const auto& c : g.op_counts) {
      if (c.a == c.b) continue;
      ops += ops.empty() ? "; op counts " : ", ";
      ops += printable(c.op);
      ops += ' ';
      ops += std::to_string(c.a);
      ops += "→";
      ops += std::to_string(c.b);
    }
    out << ops;
  }
  out << '\n';
  std::vector<std::string> lines;
  if (g.ir_version_a != g.ir_version_b)
    lines.push_back("ir_version " + std::to_string(g.ir_version_a) + " → " + std::to_string(g.ir_version_b));
  for (const auto& o : g.opsets) {
    if (o.a == o.b) continue;
    const auto v = [](int64_t x) { return x ? std::to_string(x) : std::string("(absent)"); };
    lines.push_back("opset " + printable(o.domain) + " " + v(o.a) + " → " + v(o.b));
  }
  for (const auto& n : g.nodes_added) lines.push_back("+ " + printable(n));
  for (const auto& n : g.nodes_removed) lines.push_back("- " + printable(n));
  for (const auto& n : g.nodes_changed) {
    std::string line = "~ " + printable(n.node) + ":";
    for (size_t i = 0; i < n.changes.size(); ++i) line += (i ? ", " : " ") + printable(n.changes[i]);
    lines.push_back(std::move(line));
  }
  for (const auto* side : {&g.inputs, &g.outputs})
    for (const auto& v : *side)
      lines.push_back(std::string(side == &g.inputs ? "input " : "output ") + printable(v.name) + ": " +
                      printable(v.a) + " → " + printable(v.b));
  const size_t shown = top == 0 ? lines.size() : std::min(top, lines.size());
  for (size_t i = 0; i < shown; ++i) out << "graph  " << lines[i] << '\n';
  const uint64_t listed = g.nodes_added.size() + g.nodes_removed.size() + g.nodes_changed.size();
  const uint64_t counted = g.added + g.removed + g.changed;
  const uint64_t hidden = (lines.size() - shown) + (counted > listed ? counted - listed : 0);
  if (hidden) out << "… " << hidden << " more graph differences" << (top ? " (--top 0 shows all)" : "") << '\n';
}

// The quantization error by quant type, worst SNR first: pooled rel_l2 and
// SNR, then the spread over the group's tensors and its worst tensor.
void print_quant_groups(std::ostream& out, const DiffResult& r) {
  const std::vector<QuantGroup> groups = quant_groups(r);
  if (groups.empty()) return;
  std::vector<std::string> keys;
  size_t wkey = 13;
  for (const auto& g : groups) {
    keys.push_back(printable(g.quant_a == g.quant_b ? g.quant_a : g.quant_a + "→" + g.quant_b));
    wkey = std::max(wkey, width(keys.back()));
  }
  out << pad("by quant type", wkey) << "  " << lpad("tensors", 7) << "  " << lpad("rel_l2", 9) << "  "
      << lpad("SNR dB", 7) << "  " << lpad("SNR med", 7) << "  " << lpad("SNR min", 7) << "  "
      << lpad("max_abs med", 11) << "  " << lpad("max_abs max", 11) << "  worst\n";
  for (size_t i = 0; i < groups.size(); ++i) {
    const QuantGroup& g = groups[i];
    out << pad(keys[i], wkey) << "  " << lpad(std::to_string(g.tensors), 7) << "  " << lpad(fmt(g.rel_l2), 9)
        << "  " << lpad(fmt(g.snr_db, "%.1f"), 7) << "  " << lpad(fmt(g.snr_db_median, "%.1f"), 7) << "  "
        << lpad(fmt(g.snr_db_min, "%.1f"), 7) << "  " << lpad(fmt(g.max_abs_median), 11) << "  "
        << lpad(fmt(g.max_abs_max), 11) << "  " << printable(g.worst) << '\n';
  }
}

}  // namespace

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const size_t len = core::printable_char_length(text, i);
    if (len == 0) {
      out += '?';
      // One '?' per character: a C1 control is two bytes.
      i += std::max<size_t>(1, core::utf8_sequence_length(text, i));
    } else {
      out.append(text.substr(i, len));
      i += len;
    }
  }
  return out;
}

void check_sort_metric(const std::string& metric) {
  const auto& names = numeric_tensor_metrics();
  if (metric != "name" && std::find(names.begin(), names.end(), metric) == names.end())
    throw Error(Errc::usage, "--sort '" + metric + "': not a numeric per-tensor metric");
}

void print_table(std::ostream& out, const ReportContext& ctx, const TableOptions& opt) {
  check_sort_metric(opt.sort);
  const DiffResult& r = *ctx.result;
  std::vector<Row> rows;
  for (const auto& t : r.tensors) {
    if (!is_compared(t.status)) continue;
    const double key = opt.sort == "name" ? 0.0 : numeric_field(tensor_fields(t), opt.sort).value_or(NAN);
    rows.push_back({&t, key, derive_metrics(*t.stats)});
  }
  const bool asc = lower_is_worse(opt.sort);
  // NaN/Inf that appeared or vanished first, whatever the order asked for:
  // the metrics over the finite pairs can rank such a tensor as nearly equal.
  std::stable_sort(rows.begin(), rows.end(), [&](const Row& x, const Row& y) {
    if (x.nonfinite_changed() != y.nonfinite_changed()) return x.nonfinite_changed();
    if (opt.sort == "name") return false;  // already by name
    const bool xn = std::isnan(x.key), yn = std::isnan(y.key);
    if (xn || yn) return xn && !yn;
    return asc ? x.key < y.key : x.key > y.key;
  });
  const size_t shown = opt.top == 0 ? rows.size() : std::min(opt.top, rows.size());

  size_t wname = 6, wdtype = 9;
  for (size_t i = 0; i < shown; ++i) {
    wname = std::max(wname, rows[i].t->name.size());
    wdtype = std::max(wdtype, width(dtypes(*rows[i].t)));
  }
  wname = std::min<size_t>(wname, 60);
  const char* reset = opt.color ? "\033[0m" : "";
  if (shown > 0) {
    out << pad("tensor", wname) << "  " << pad("dtype", wdtype) << "  " << pad("shape", 14) << "  "
        << lpad("max_abs", 9) << "  " << lpad("mean_abs", 9) << "  " << lpad("1-cos", 9) << "  "
        << lpad("rel_l2", 9) << "  status\n";
  }
  for (size_t i = 0; i < shown; ++i) {
    const TensorDiff& t = *rows[i].t;
    const Metrics& m = rows[i].m;
    const std::string full = printable(t.name);
    std::string name = full.size() > wname ? "…" + full.substr(full.size() - wname + 1) : full;
    out << pad(name, wname) << "  " << pad(printable(dtypes(t)), wdtype) << "  " << pad(shape_string(t.shape_a), 14)
        << "  " << lpad(fmt(m.max_abs), 9) << "  " << lpad(fmt(m.mean_abs), 9) << "  "
        << lpad(fmt(1.0 - m.cosine), 9) << "  " << lpad(fmt(m.rel_l2), 9) << "  "
        << (opt.color ? color_of(t.status) : "") << status_name(t.status) << reset;
    if (rows[i].nonfinite_changed())
      out << "  NaN/Inf +" << m.nonfinite_introduced << " -" << m.nonfinite_removed;
    if (t.transposed) out << "  B transposed";
    if (t.rope_heads != 0) out << "  Q/K rows unpermuted (" << t.rope_heads << " heads)";
    if (!t.quant_a.empty()) out << "  A dequantized: " << printable(t.quant_a);
    if (!t.quant_b.empty()) out << "  B dequantized: " << printable(t.quant_b);
    if (t.bytes_equal && !*t.bytes_equal && t.status == Status::identical) out << "  bytes differ";
    if (!t.failed.empty()) {
      out << "  fails:";
      for (const auto& f : t.failed) out << ' ' << f;
    }
    out << '\n';
  }
  if (shown < rows.size()) out << "… " << rows.size() - shown << " more (--top 0 shows all)\n";

  // Structural differences: at most --top of them too (a checkpoint with a
  // renamed prefix has hundreds), then how many more.
  size_t structural = 0, structural_shown = 0;
  for (const auto& t : r.tensors) {
    if (is_compared(t.status) || t.status == Status::matched) continue;
    if (opt.top != 0 && structural++ >= opt.top) continue;
    ++structural_shown;
    out << (opt.color ? color_of(t.status) : "") << status_name(t.status) << reset << "  "
        << printable(t.name);
    if (t.status == Status::only_in_b && t.name_b != t.name) out << " (B: " << printable(t.name_b) << ")";
    if (!t.matched_as.empty() && t.matched_as != t.name) out << " (as " << printable(t.matched_as) << ")";
    if (t.status == Status::shape_mismatch)
      out << "  [" << shape_string(t.shape_a) << "] vs [" << shape_string(t.shape_b) << "]";
    if (t.status == Status::unsupported_dtype || t.status == Status::dtype_mismatch)
      out << "  " << printable(t.dtype_a) << " / " << printable(t.dtype_b);
    out << '\n';
  }
  if (opt.top != 0 && structural > structural_shown)
    out << "… " << structural - structural_shown << " more structural differences (--top 0 shows all)\n";
  for (const auto& m : r.metadata_diffs)
    out << "metadata  " << printable(m.key) << "  A " << metadata_value(m.a) << "  B "
        << metadata_value(m.b) << '\n';

  if (r.graph) print_graph(out, *r.graph, opt.top);
  print_quant_groups(out, r);

  const Summary& s = r.summary;
  if (s.structure_only) {
    out << "structure only: " << s.matched << " matched, " << s.dtype_mismatch << " dtype mismatch";
    if (s.only_in_a) out << "; only in A " << s.only_in_a;
    if (s.only_in_b) out << "; only in B " << s.only_in_b;
    if (s.shape_mismatch) out << "; shape mismatch " << s.shape_mismatch;
    if (s.unsupported_dtype) out << "; unsupported " << s.unsupported_dtype;
    out << " | no tensor data read\n";
    return;
  }
  if (s.compared == 0) {
    out << "nothing compared: " << nothing_compared_reason(r);
  } else {
    out << "compared " << s.compared << ": " << s.identical << " identical, " << s.close
        << " close, " << s.different << " different";
    if (s.only_in_a) out << "; only in A " << s.only_in_a;
    if (s.only_in_b) out << "; only in B " << s.only_in_b;
    if (s.shape_mismatch) out << "; shape mismatch " << s.shape_mismatch;
    if (s.unsupported_dtype) out << "; unsupported " << s.unsupported_dtype;
    out << " | max_abs " << fmt(s.max_abs);
    if (s.max_abs) out << " (" << printable(s.max_abs_tensor) << ")";
    if (s.float_tensors > 0) {
      out << ", 1-cos " << fmt(1.0 - *s.cosine) << ", rel_l2 " << fmt(*s.rel_l2);
      if (s.int_tensors > 0) out << " over " << s.float_tensors << (s.float_tensors == 1 ? " float tensor" : " float tensors");
    } else {
      out << ", 1-cos -, rel_l2 - (no float tensor)";
    }
    if (s.int_tensors > 0)
      out << "; int/bool " << s.int_tensors_changed << " of " << s.int_tensors << " changed";
    if (s.dtype_changed) out << " | dtype changed " << s.dtype_changed;
    if (s.nonfinite_tensors)
      out << " | NaN/Inf +" << s.nonfinite_introduced << " -" << s.nonfinite_removed << " in "
          << s.nonfinite_tensors << (s.nonfinite_tensors == 1 ? " tensor" : " tensors");
    if (s.exact) out << " | exact: " << s.bytes_differ << " differ in bytes or dtype";
  }
  out << " | " << fmt(static_cast<double>(s.bytes_read) / 1e9, "%.2f") << " GB in "
      << fmt(s.seconds, "%.2f") << " s on " << r.backend << '\n';
  if (!s.failed.empty()) {
    out << "--fail-if triggered by " << s.failed.size() << " ("
        << s.failed.front() << (s.failed.size() > 1 ? ", …" : "") << ")\n";
  }
}

}  // namespace weightdiff
