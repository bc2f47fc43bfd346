// GGUF metadata key/values: read and validated in full, kept as text.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "formats/gguf_reader.hpp"

namespace weightdiff::formats {

// Where ggml stores the data alignment, and its default.
inline constexpr const char* kGgufAlignmentKey = "general.alignment";
inline constexpr uint32_t kGgufDefaultAlignment = 32;

struct GgufMetadata {
  // "gguf.<key>" -> the value as text: strings as they are, numbers in
  // decimal (floats shortest round-trip), bools true/false, arrays
  // summarised as "[array of N <type>]".
  std::map<std::string, std::string> entries;
  uint32_t alignment = kGgufDefaultAlignment;  // a power of two
};

// Reads n_kv key/value pairs at the reader's position. Throws
// Error(malformed) for a value type GGUF does not define, a length past the
// end of the file, a bool other than 0 or 1, arrays nested too deep, or a
// bad general.alignment; Error(conflict) for a key defined twice.
GgufMetadata read_gguf_metadata(GgufReader& r, uint64_t n_kv);

}  // namespace weightdiff::formats
