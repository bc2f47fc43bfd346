// JSON values shared by the reports that write JSON (the diff report, the
// inspect report, the data the HTML report embeds): SPEC §5's number rule,
// report fields, models and value histograms, and a dump that never fails.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "weightdiff/graph_diff.hpp"
#include "weightdiff/model.hpp"
#include "weightdiff/quant_groups.hpp"
#include "weightdiff/report.hpp"
#include "weightdiff/stats.hpp"

namespace weightdiff::report {

using Json = nlohmann::ordered_json;  // field order as the spec writes it

// A finite number as itself (nlohmann writes the shortest text that parses
// back to it); non-finite as "nan", "inf", "-inf".
Json json_number(double v);
Json json_number(const std::optional<double>& v);  // nullopt: null
// A report field's value: null, integer, number, string or array.
Json json_value(const FieldValue& v);

// SPEC §5's `a`/`b` object: path, format, tensors, bytes, metadata.
Json model_json(const Model& m);

// The top of every report: schema_version, tool, version, then `command`
// when given (inspect), `a`, `b` when given, backend. Field order as SPEC §5.
Json report_head(const char* command, const Model& a, const Model* b, const std::string& backend,
                 const std::vector<std::string>& devices, unsigned threads);
// SPEC §4's value histogram: lo, hi, zero, under, over, pos, neg.
Json value_hist_json(const ValueHistogram& h, const HistRange& r);

// The report's "quant_types" array: one object per group, worst SNR first
// (field order as QuantGroup; non-finite numbers as strings, none as null).
Json quant_groups_json(const std::vector<QuantGroup>& groups);

// The report's "graph" object (two ONNX models): ir_version {a, b}, opsets
// [{domain, a, b}] (null where a side lacks it), nodes_a, nodes_b,
// too_large, differs, op_counts [{op, a, b}], added, removed, changed (exact
// counts), nodes_added, nodes_removed (keys), nodes_changed [{node,
// changes}] (at most kMaxListed each), inputs, outputs [{name, a, b}].
Json graph_json(const GraphDiff& g);

// Compact text; paths and names need not be UTF-8: what is not is replaced
// rather than failing the report.
std::string json_dump(const Json& j);

}  // namespace weightdiff::report
