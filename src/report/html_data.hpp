// The data the HTML report embeds, and how text from model files is made
// safe inside the page. Tensor names, paths and metadata come from files
// that may be hostile: nothing in them may end a <script> or add markup.
#pragma once

#include <ostream>
#include <string>
#include <string_view>

#include "weightdiff/report.hpp"

namespace weightdiff::html {

// JSON text made safe as the content of <script type="application/json">:
// '<', '>' and '&' (which JSON only holds inside strings) become \u003c,
// \u003e and \u0026, so no "</script" or "<!--" can ever appear.
std::string escape_script_json(std::string_view json);

// Text made safe as HTML element content or a quoted attribute value.
std::string escape_html(std::string_view text);

// Writes the report's data as one JSON document, already escaped with
// escape_script_json:
//   {"header": <the JSON report's top level: a, b, backend, options, summary>,
//    "columns": [field names], "rows": [[one value per column], ...]}
// Rows follow the JSON report's tensor order and fields (SPEC §5), then
// "failed" and the three histograms, each trimmed to its nonzero bins:
//   hist_abs_diff: {"z": zero, "u": under, "o": over, "s": first bin, "c": counts[s..]}
//   hist_a/hist_b: {"z", "u", "o", "s", "p": pos[s..], "n": neg[s..]}
// Columns instead of objects, and trimmed histograms, keep a report with
// 10k+ tensors a few MB and quick to parse.
void write_report_data(std::ostream& out, const ReportContext& ctx);

}  // namespace weightdiff::html
