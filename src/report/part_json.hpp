// What a --shard run's JSON report carries besides SPEC §5's fields, so that
// `weightdiff merge` can rebuild the single run's result (README, "Shards
// and merge"): a top-level "part" object, and per tensor its "index" among
// all entries and, for a compared pair, "raw": the pair's sums and extremes
// exactly (doubles as nlohmann writes them: shortest round-trip text).
// merge_parts.cpp reads what this writes; kPartVersion names the layout.
#pragma once

#include "report/json_text.hpp"
#include "report/json_values.hpp"
#include "weightdiff/report.hpp"

namespace weightdiff::report {

inline constexpr int kPartVersion = 1;

// {"version", "k", "n", "entries", "inputs": {"a": [stamp...], "b": [...]},
//  "notices": [...]}; a stamp is {"path", "size", "mtime_ns"}.
Json part_header(const ReportContext& ctx);

// The "raw" object of a compared pair: floating, numel, n_finite, equal,
// mismatched, nan_a, nan_b, inf_a, inf_b, sum_abs, sum_sq_diff, dot,
// sum_sq_a, sum_sq_b, mom_a and mom_b as [n, mean, m2], min_a, max_a,
// min_b, max_b, max_abs, max_abs_index, a_at_max_abs, b_at_max_abs, max_rel.
// (The histograms are the row's own hist_* fields, which are exact.)
void raw_stats(JsonText& w, const TensorDiff& t);

}  // namespace weightdiff::report
