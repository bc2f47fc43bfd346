#include <cmath>
#include <optional>

#include "weightdiff/fields.hpp"

namespace weightdiff {
namespace {

FieldValue opt(const std::optional<double>& v) {
  return v ? FieldValue(*v) : FieldValue(std::monostate{});
}

}  // namespace

std::vector<Field> tensor_fields(const TensorDiff& t) {
  std::vector<Field> f{
      {"name", t.name},
      {"name_b", t.status == Status::only_in_a ? FieldValue() : FieldValue(t.name_b)},
  };
  // Only when a derived name was used: reports of models without any stay
  // as they were (the CSV adds it as its last column only then).
  if (!t.matched_as.empty()) f.push_back({"matched_as", t.matched_as});
  std::vector<Field> rest{
      {"status", std::string(status_name(t.status))},
      {"dtype_a", t.dtype_a.empty() ? FieldValue() : FieldValue(t.dtype_a)},
      {"dtype_b", t.dtype_b.empty() ? FieldValue() : FieldValue(t.dtype_b)},
      {"shape_a", t.dtype_a.empty() ? FieldValue() : FieldValue(t.shape_a)},
      {"shape_b", t.dtype_b.empty() ? FieldValue() : FieldValue(t.shape_b)},
  };
  f.insert(f.end(), std::make_move_iterator(rest.begin()), std::make_move_iterator(rest.end()));
  // Only on a transposed pair (SPEC §8), as matched_as: other reports stay as they were.
  if (t.transposed) f.push_back({"transposed", true});
  // Only on a pair read through llama.cpp's Q/K permutation (--map-preset).
  if (t.rope_heads != 0) f.push_back({"rope_heads", uint64_t{t.rope_heads}});
  // Only on a side compared dequantized (--dequant): how it is stored.
  if (!t.quant_a.empty()) f.push_back({"quant_a", t.quant_a});
  if (!t.quant_b.empty()) f.push_back({"quant_b", t.quant_b});
  if (!t.stats) return f;
  const PairStats& s = *t.stats;
  const Metrics m = derive_metrics(s);
  FieldValue index = std::monostate{};
  if (s.n_finite > 0) index = unravel_index(s.max_abs_index, t.shape_a);
  std::vector<Field> more{
      {"numel", s.numel},
      {"n_finite", s.n_finite},
      {"equal", s.equal},
      {"mismatched", s.mismatched},
      {"atol", t.atol},
      {"rtol", t.rtol},
      {"nan_a", s.nan_a},
      {"nan_b", s.nan_b},
      {"inf_a", s.inf_a},
      {"inf_b", s.inf_b},
      {"max_abs", opt(m.max_abs)},
      {"max_abs_index", index},
      {"a_at_max_abs", opt(m.a_at_max_abs)},
      {"b_at_max_abs", opt(m.b_at_max_abs)},
      {"mean_abs", opt(m.mean_abs)},
      {"rmse", opt(m.rmse)},
      {"max_rel", opt(m.max_rel)},
      {"dot", s.dot},
      {"sum_sq_a", s.sum_sq_a},
      {"sum_sq_b", s.sum_sq_b},
      {"sum_sq_diff", s.sum_sq_diff},
      {"norm_a", m.norm_a},
      {"norm_b", m.norm_b},
      {"norm_diff", m.norm_diff},
      {"cosine", m.cosine},
      {"rel_l2", m.rel_l2},
      {"snr_db", m.snr_db},
      {"mean_a", opt(m.mean_a)},
      {"mean_b", opt(m.mean_b)},
      {"std_a", opt(m.std_a)},
      {"std_b", opt(m.std_b)},
      {"min_a", opt(m.min_a)},
      {"max_a", opt(m.max_a)},
      {"min_b", opt(m.min_b)},
      {"max_b", opt(m.max_b)},
      {"nonfinite_introduced", m.nonfinite_introduced},
      {"nonfinite_removed", m.nonfinite_removed},
  };
  f.insert(f.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
  if (t.bytes_equal) f.push_back({"bytes_equal", *t.bytes_equal});
  return f;
}

std::vector<Field> summary_numeric_fields(const Summary& s) {
  std::vector<Field> f{
      {"compared", s.compared},
      {"identical", s.identical},
      {"close", s.close},
      {"different", s.different},
      {"only_in_a", s.only_in_a},
      {"only_in_b", s.only_in_b},
      {"shape_mismatch", s.shape_mismatch},
      {"unsupported_dtype", s.unsupported_dtype},
  };
  // Only where they mean something: "matched": 0 next to 243 compared pairs
  // would read as a contradiction.
  if (s.structure_only) {
    std::vector<Field> counts{{"matched", s.matched}, {"dtype_mismatch", s.dtype_mismatch}};
    f.insert(f.end(), std::make_move_iterator(counts.begin()), std::make_move_iterator(counts.end()));
  }
  std::vector<Field> more{
      {"elements", s.elements},
      {"mismatched", s.mismatched},
      {"max_abs", opt(s.max_abs)},
      {"cosine", opt(s.cosine)},
      {"rel_l2", opt(s.rel_l2)},
      {"float_tensors", s.float_tensors},
      {"float_elements", s.float_elements},
      {"int_tensors", s.int_tensors},
      {"int_elements", s.int_elements},
      {"int_tensors_changed", s.int_tensors_changed},
      {"dtype_changed", s.dtype_changed},
      {"nonfinite_introduced", s.nonfinite_introduced},
      {"nonfinite_removed", s.nonfinite_removed},
      {"nonfinite_tensors", s.nonfinite_tensors},
  };
  if (s.exact) more.push_back({"bytes_differ", s.bytes_differ});
  std::vector<Field> tail{
      {"seconds", s.seconds},
      {"bytes_read", s.bytes_read},
  };
  f.insert(f.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
  f.insert(f.end(), std::make_move_iterator(tail.begin()), std::make_move_iterator(tail.end()));
  return f;
}

std::vector<std::string> numeric_field_names(const std::vector<Field>& fields) {
  std::vector<std::string> names;
  for (const auto& f : fields)
    if (!std::holds_alternative<std::string>(f.value) &&
        !std::holds_alternative<std::vector<uint64_t>>(f.value) &&
        !std::holds_alternative<bool>(f.value))
      names.emplace_back(f.name);
  return names;
}

const std::vector<std::string>& numeric_tensor_metrics() {
  static const std::vector<std::string> names = [] {
    TensorDiff t;  // a compared tensor with a finite pair: every field present and set
    t.dtype_a = t.dtype_b = "f32";
    t.stats.emplace();
    t.stats->n_finite = 1;
    return numeric_field_names(tensor_fields(t));
  }();
  return names;
}

std::optional<double> numeric_field(const std::vector<Field>& fields, const std::string& name) {
  for (const auto& f : fields) {
    if (name != f.name) continue;
    if (const auto* u = std::get_if<uint64_t>(&f.value)) return static_cast<double>(*u);
    if (const auto* d = std::get_if<double>(&f.value)) return *d;
    if (std::holds_alternative<std::monostate>(f.value)) return NAN;
    return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace weightdiff
