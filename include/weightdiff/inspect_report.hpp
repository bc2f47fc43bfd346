// Reports of `weightdiff inspect`: JSON, CSV and the terminal table. Like the
// diff reports they read only the merged results.
#pragma once

#include <cstddef>
#include <ostream>
#include <vector>

#include "weightdiff/inspect.hpp"
#include "weightdiff/model.hpp"
#include "weightdiff/report.hpp"

namespace weightdiff {

struct InspectReportContext {
  const Model* model = nullptr;
  const InspectResult* result = nullptr;  // carries what it was computed with
};

// The scalar per-tensor fields of SPEC §5's `inspect` JSON, in order (name,
// status, dtype, shape, numel, bytes, nan, inf, n_finite, min, max, mean,
// std); an unsupported tensor carries name, status, dtype, shape, numel and
// bytes only.
std::vector<Field> inspect_tensor_fields(const InspectTensor& t);

// SPEC §5 `inspect` JSON: the diff report's top level with only `a`.
void write_inspect_json(std::ostream& out, const InspectReportContext& ctx);
// A header row, then one row per tensor in the JSON's order, with SPEC §5's
// CSV conventions.
void write_inspect_csv(std::ostream& out, const InspectReportContext& ctx);

struct InspectTableOptions {
  size_t top = 20;  // 0 = all
  bool color = false;
};
// Tensors holding NaN/Inf first, then by largest |value|; unsupported
// tensors; a summary line.
void print_inspect_table(std::ostream& out, const InspectReportContext& ctx,
                         const InspectTableOptions& opt);

}  // namespace weightdiff
