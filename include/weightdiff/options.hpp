// What a caller asks of the library, typed, shared by diff and inspect, and
// validated by the library itself (a library caller gets the same
// Error(usage) as the command line).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "weightdiff/cancel.hpp"
#include "weightdiff/stats.hpp"

namespace weightdiff {

struct MapRule {
  std::string pattern;      // RE2 regex, searched anywhere
  std::string replacement;  // ECMAScript format ($1, $&; src/match/replace.hpp)
};
// Parses 'REGEX=REPL' (split at the first '='). Throws Error(usage).
MapRule parse_map_rule(const std::string& spec);

// Which tensors take part, and how B's names are rewritten before pairing
// (SPEC §2). Filters are searched in A's names and in B's mapped names.
struct MatchOptions {
  std::vector<MapRule> map;
  std::vector<std::string> include, exclude;
  // --map-preset: a built-in name table for a converted side ("llama-gguf":
  // a GGUF file's tensors matched by their Hugging Face names); "" = none.
  std::string map_preset = {};
};

// hybrid: the CPU and CUDA backends pulling chunks from one queue.
enum class BackendKind { automatic, cpu, cuda, hybrid };
// "auto" | "cpu" | "cuda" | "hybrid" and back. parse: Error(usage) for anything else.
BackendKind parse_backend_kind(const std::string& name);
const char* backend_kind_name(BackendKind kind) noexcept;

// "0,1,0" -> {0, 1, 0}; "" -> {} (all visible). Each in [0, 1023]. Error(usage).
std::vector<int> parse_device_list(const std::string& text);

struct Progress {
  uint64_t bytes_done = 0, bytes_total = 0;
  std::string current;  // tensor name
};

// Where and how values are computed: the same for diff and inspect.
struct ComputeOptions {
  HistRange hist;           // SPEC §4; default -40:16
  unsigned threads = 0;     // 0 = CPUs in this process's affinity mask
  BackendKind backend = BackendKind::automatic;
  std::vector<int> devices;  // CUDA devices (may repeat); empty = all visible
  std::function<void(const Progress&)> on_progress;  // may be empty
  // Polled between batches and chunks: once set, the call throws Error(cancelled).
  const CancelFlag* cancel = nullptr;
};

// Error(usage) for a histogram range outside -1021 <= LO < HI <= 1023 or a
// device number outside [0, 1023].
void validate(const ComputeOptions& opt);

}  // namespace weightdiff
