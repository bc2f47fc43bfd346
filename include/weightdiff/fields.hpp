// The field schema of SPEC §5: every per-tensor and summary field by name,
// in the spec's order. Gates (engine) and every report read values through
// it, so a field is defined once for --fail-if, --sort, JSON, CSV and HTML.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "weightdiff/diff.hpp"

namespace weightdiff {

// One named field of a report row, in SPEC §5 order. monostate = null;
// bool is a flag (JSON true/false), never a metric.
using FieldValue =
    std::variant<std::monostate, uint64_t, double, std::string, std::vector<uint64_t>, bool>;
struct Field {
  const char* name;
  FieldValue value;
};

// The per-tensor fields of SPEC §5 except histograms and `failed`, plus
// `matched_as` (SPEC §8) after `name_b` when the tensor has one,
// `transposed: true` after `shape_b` on a pair compared as A against Bᵀ, and after
// SPEC's fields `nonfinite_introduced`, `nonfinite_removed` and, with
// --exact, `bytes_equal`. Unmatched and incomparable tensors carry name,
// status, dtypes and shapes only.
std::vector<Field> tensor_fields(const TensorDiff& t);
// The numeric summary fields of SPEC §5 (what `global.` gates can name),
// and after `rel_l2` what the global line pools and counts besides.
std::vector<Field> summary_numeric_fields(const Summary& s);

// Names of the numeric fields among `fields`, and of every numeric field a
// compared tensor has (what --sort and --fail-if can name).
std::vector<std::string> numeric_field_names(const std::vector<Field>& fields);
const std::vector<std::string>& numeric_tensor_metrics();
// A numeric field's value: nullopt if absent or not numeric, NaN if null.
std::optional<double> numeric_field(const std::vector<Field>& fields, const std::string& name);

}  // namespace weightdiff
