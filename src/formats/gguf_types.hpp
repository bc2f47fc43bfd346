// GGUF's two numbered vocabularies: the ggml tensor types (with their block
// geometry, which fixes every tensor's byte size) and the metadata value
// types. By number, as ggml's ggml.c type_traits and the gguf Python
// package (constants.py) define them.
#pragma once

#include <cstdint>
#include <optional>

#include "weightdiff/dtype.hpp"

namespace weightdiff::formats {

struct GgmlType {
  uint32_t id = 0;
  const char* name = "";     // ggml's type_name, reported as the dtype: "q8_0", "q4_K"
  uint32_t block_elems = 1;  // elements per block; 1 for the plain types
  uint32_t block_bytes = 0;  // bytes per block
  std::optional<DType> dtype;  // empty: defined by ggml, not decodable here
};

// nullopt for an id ggml does not define (or defined once and removed: the
// Q4_2/Q4_3 and the interleaved Q4_0_4_4.. repacks, which files never hold).
std::optional<GgmlType> ggml_type(uint32_t id) noexcept;

enum class GgufValueType : uint32_t {
  u8 = 0, i8 = 1, u16 = 2, i16 = 3, u32 = 4, i32 = 5, f32 = 6, boolean = 7,
  string = 8, array = 9, u64 = 10, i64 = 11, f64 = 12,
};

struct GgufValueInfo {
  GgufValueType type;
  const char* name;   // as the GGUF spec spells it, lower case: "uint32", "string"
  unsigned bytes;     // of one value; 0 for string and array (length-prefixed)
  unsigned min_bytes;  // the fewest bytes one value can take in a file
};

// nullopt for a type number GGUF does not define.
std::optional<GgufValueInfo> gguf_value_type(uint32_t id) noexcept;

}  // namespace weightdiff::formats
