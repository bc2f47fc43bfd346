// Diffing two models: options in, per-tensor results and a summary out.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "weightdiff/dequant.hpp"
#include "weightdiff/graph_diff.hpp"
#include "weightdiff/shard.hpp"
#include "weightdiff/dtype.hpp"
#include "weightdiff/model.hpp"
#include "weightdiff/options.hpp"
#include "weightdiff/stats.hpp"

namespace weightdiff {

enum class Status {
  identical, close, different,
  only_in_a, only_in_b, shape_mismatch, unsupported_dtype,
  // --structure-only: a same-shape pair whose values were not read.
  matched, dtype_mismatch,
};
const char* status_name(Status s) noexcept;
bool is_compared(Status s) noexcept;  // identical, close or different

// --transpose: whether a pair whose 2-D shapes are each other's transpose
// is compared as A against Bᵀ (auto) or reported as a shape mismatch (never).
enum class TransposeMode { automatic, never };
const char* transpose_mode_name(TransposeMode m) noexcept;  // "auto", "never"

// diff_models' options: which tensors (MatchOptions), where and how
// (ComputeOptions), and the tolerances of SPEC §3.
struct DiffOptions : MatchOptions, ComputeOptions {
  std::optional<double> atol, rtol;  // override the per-dtype defaults; finite, >= 0
  // Names, dtypes, shapes and metadata only: no backend, no tensor byte read.
  bool structure_only = false;
  // --exact: also compare the bytes of every equal-valued pair of one dtype;
  // a dtype change or a byte difference then decides the exit code.
  bool exact = false;
  // auto: A [r, c] against B [c, r] is compared element by element as A
  // against Bᵀ; so is a square pair where exactly one side is stored
  // transposed by its exporter (TensorRef::stored_transposed).
  TransposeMode transpose = TransposeMode::automatic;
  // auto: a side holding quantized weights with their scale tensors (FP8
  // block/channel/tensor scales, GPTQ/AWQ) is compared by its dequantized
  // values when the other side holds none (weightdiff/dequant.hpp).
  DequantMode dequant = DequantMode::automatic;
  // Set: compute only this part of the compared pairs (weightdiff/shard.hpp);
  // the result holds that part's tensors and DiffResult::part.
  std::optional<Shard> shard;
};

// validate(ComputeOptions) and the tolerances. Throws Error(usage).
void validate(const DiffOptions& opt);

struct TensorDiff {
  std::string name;    // A's name (B's mapped name for only_in_b)
  std::string name_b;  // B's original name ("" for only_in_a)
  // The name it was paired by when a derived name was used (an ONNX
  // export's parameter name, TensorRef::matched_as); "" otherwise.
  std::string matched_as;
  Status status = Status::identical;
  std::string dtype_a, dtype_b;  // SPEC §5 names (the format's for unsupported); "" if absent
  std::vector<uint64_t> shape_a, shape_b;
  // Compared as A against Bᵀ (--transpose auto): values, indices and
  // histograms are in A's order and shape.
  bool transposed = false;
  // Nonzero: one side holds llama.cpp's Q/K row permutation for this many
  // heads (--map-preset llama-gguf); the other side's rows are read in its
  // order, so values, indices and histograms are in A's order.
  uint32_t rope_heads = 0;
  // Non-empty: that side was compared dequantized (--dequant), and this
  // names how it is stored, e.g. "f8e4m3fn*scale[128x128]" (an FP8 weight
  // with its block scales) or "gptq_int4[g128]"; dtype_a/_b stay the stored
  // weight's dtype. "" = compared as stored.
  std::string quant_a, quant_b;
  // Either side a floating-point type (block-quantized included): such a
  // pair enters the global cosine and rel_l2; integer and bool pairs are
  // counted as exact matches instead.
  bool floating = false;
  double atol = 0, rtol = 0;
  std::optional<PairStats> stats;  // set for compared pairs
  // --exact only, for compared pairs: dtypes equal and bytes identical.
  std::optional<bool> bytes_equal;
  std::vector<std::string> failed;  // --fail-if conditions triggered
};

// A side's quant type as reports group the quantization error by it: its
// dequantization scheme when it was dequantized, else its dtype ("q4_k",
// "bf16"); "" when the side is absent.
inline const std::string& quant_type(const TensorDiff& t, bool a_side) noexcept {
  const std::string& q = a_side ? t.quant_a : t.quant_b;
  return q.empty() ? (a_side ? t.dtype_a : t.dtype_b) : q;
}

struct Summary {
  uint64_t compared = 0, identical = 0, close = 0, different = 0;
  uint64_t only_in_a = 0, only_in_b = 0, shape_mismatch = 0, unsupported_dtype = 0;
  bool structure_only = false;  // then matched/dtype_mismatch are reported, nothing compared
  uint64_t matched = 0, dtype_mismatch = 0;
  uint64_t elements = 0, mismatched = 0;
  std::optional<double> max_abs;  // over every compared pair; null if none has a finite pair
  std::string max_abs_tensor;
  // The global vector: the floating-point pairs' finite elements only (an
  // integer buffer such as position_ids would otherwise dominate it). Null
  // when no floating-point pair was compared: an empty comparison is not a
  // perfect one.
  uint64_t float_tensors = 0, float_elements = 0;
  double dot = 0, sum_sq_a = 0, sum_sq_b = 0, sum_sq_diff = 0;
  std::optional<double> cosine, rel_l2;
  // Integer and bool pairs: how many, and how many are not identical.
  uint64_t int_tensors = 0, int_elements = 0, int_tensors_changed = 0;
  uint64_t dtype_changed = 0;  // compared pairs whose dtypes differ
  // Elements finite in A and NaN/Inf in B, the reverse, and the pairs with either.
  uint64_t nonfinite_introduced = 0, nonfinite_removed = 0, nonfinite_tensors = 0;
  bool exact = false;        // --exact: bytes_differ is reported and decides
  uint64_t bytes_differ = 0;  // compared pairs whose dtypes or bytes differ
  std::vector<std::string> failed;
  double seconds = 0;
  uint64_t bytes_read = 0;
};

// A metadata key whose value differs between the models (informational:
// never part of the exit code).
struct MetadataDiff {
  std::string key;
  std::optional<std::string> a, b;  // nullopt: the key is absent on that side
};

// What a result was computed with, as the reports print it ("options"): a
// result explains itself, reporting it needs no DiffOptions.
struct DiffSettings {
  std::optional<double> atol, rtol;  // the overrides asked for (nullopt: per dtype)
  std::vector<MapRule> map;
  std::vector<std::string> include, exclude;
  HistRange hist;
  bool structure_only = false;
  bool exact = false;
  TransposeMode transpose = TransposeMode::automatic;
  DequantMode dequant = DequantMode::automatic;
  std::string map_preset;  // "" = none
  std::vector<std::string> fail_if;  // the gates applied (apply_gates), as given
  std::optional<Shard> shard;        // --shard K/N
};

struct DiffResult {
  DiffSettings settings;
  std::vector<TensorDiff> tensors;  // sorted by name, byte-wise
  Summary summary;
  std::vector<MetadataDiff> metadata_diffs;  // sorted by key, byte-wise
  std::string backend;
  std::vector<std::string> devices;  // what the backend computed on ("cuda:0", ...); empty for the CPU
  unsigned threads = 0;
  std::vector<std::string> notices;  // one-line notes for stderr (backend fallback, hints, ...)
  // --map rules that would pair tensors left unmatched whose values are
  // equal (or transposed-equal): the content hint's, for the JSON report.
  std::vector<MapRule> suggested_map;
  // --shard only: where this part's tensors sit in the whole comparison.
  std::optional<PartIndex> part;
  // Two ONNX models: their graphs compared (weightdiff/graph_diff.hpp).
  std::optional<GraphDiff> graph;
};

// Matches, computes and summarizes. Throws weightdiff::Error.
DiffResult diff_models(const Model& a, const Model& b, const DiffOptions& opt);

// The summary of r.tensors under r.settings (status counts, global sums,
// max_abs, ... as diff_models computes them, in tensor order): every field
// but bytes_read, seconds and failed, which stay zero / empty.
Summary summarize(const DiffResult& r);

// Number of CPUs in this process's affinity mask (at least 1).
unsigned default_thread_count();

}  // namespace weightdiff
