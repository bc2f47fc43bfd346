// Inspecting one model: per-tensor dtype, shape, bytes and value statistics
// (SPEC §1 `weightdiff inspect`), a health check for a single checkpoint.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "weightdiff/diff.hpp"
#include "weightdiff/model.hpp"
#include "weightdiff/stats.hpp"

namespace weightdiff {

struct InspectOptions : ComputeOptions {
  std::vector<std::string> include, exclude;  // SPEC §2 filters
  // on_progress counts this model's bytes.
};

// The values of one tensor, with SPEC §2's definitions applied to one side:
// min/max/mean/std (population) over its finite values, null (nullopt) when
// there are none; the histogram is SPEC §4's value histogram.
struct ValueStats {
  uint64_t nan = 0, inf = 0, n_finite = 0;
  std::optional<double> min, max, mean, std;
  ValueHistogram hist;
};

struct InspectTensor {
  std::string name;
  std::string dtype;  // SPEC §5 name, or the format's name when unsupported
  std::vector<uint64_t> shape;
  uint64_t numel = 0, bytes = 0;
  std::optional<ValueStats> stats;  // nullopt: unsupported dtype, never read

  bool nonfinite() const noexcept { return stats && (stats->nan > 0 || stats->inf > 0); }
};

// "ok", "nonfinite" (holds NaN or Inf) or "unsupported_dtype".
const char* inspect_status(const InspectTensor& t) noexcept;

struct InspectSummary {
  uint64_t tensors = 0;            // listed (after the filters)
  uint64_t inspected = 0;          // with stats
  uint64_t unsupported_dtype = 0;  // listed without stats
  uint64_t elements = 0;           // Σ numel over the inspected tensors
  uint64_t bytes = 0;              // Σ bytes over the listed tensors
  uint64_t nan = 0, inf = 0, n_finite = 0;
  uint64_t tensors_with_nan = 0, tensors_with_inf = 0;
  std::optional<double> min, max;  // over every finite value; null when none
  double seconds = 0;
  uint64_t bytes_read = 0;
};

// What a result was computed with (the report's "options").
struct InspectSettings {
  std::vector<std::string> include, exclude;
  HistRange hist;
};

struct InspectResult {
  InspectSettings settings;
  std::vector<InspectTensor> tensors;  // sorted by name, byte-wise
  InspectSummary summary;
  std::string backend;
  std::vector<std::string> devices;  // as DiffResult::devices
  unsigned threads = 0;
  std::vector<std::string> notices;  // one-line notes for stderr (backend fallback, ...)
};

// Filters, computes and summarizes. Throws weightdiff::Error.
InspectResult inspect_model(const Model& model, const InspectOptions& opt);

// 0 when healthy, 1 when an inspected tensor holds NaN or Inf (unsupported
// dtypes never decide, as in SPEC §6). Errors never reach here.
int inspect_exit_code(const InspectResult& result) noexcept;

}  // namespace weightdiff
