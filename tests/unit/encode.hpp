// Test-side element codecs, written independently of src/backend/cpu/decode:
// round-to-nearest-even encoders for the small float formats (to generate
// data) and reference decoders (what every stored element must mean).
#pragma once

#include <cstdint>
#include <vector>

#include "weightdiff/dtype.hpp"

namespace wdtest {

// Largest finite value of a small float format (f16, bf16, any fp8).
double max_finite(weightdiff::DType t);

// x rounded to nearest, ties to even, into a 16- or 8-bit float format
// (f16, bf16, any fp8). Overflow gives inf where the format has one, else its
// NaN; NaN gives the format's canonical NaN; -0 stays -0 where it exists.
uint32_t encode_small_float(weightdiff::DType t, double x);
inline uint16_t f32_to_bf16(float x) {
  return static_cast<uint16_t>(encode_small_float(weightdiff::DType::bf16, x));
}
inline uint16_t f32_to_f16(float x) {
  return static_cast<uint16_t>(encode_small_float(weightdiff::DType::f16, x));
}
inline uint8_t f32_to_f8(weightdiff::DType t, float x) {
  return static_cast<uint8_t>(encode_small_float(t, x));
}

// The value of one code of a small float format, from its bit fields.
double decode_small_float(weightdiff::DType t, uint32_t bits);

// Stored bytes of `values` as dtype t: floats round to nearest even,
// integers round to nearest and saturate, bool is x != 0, i4/u4 pack two per
// byte with element 2k in the low nibble.
std::vector<uint8_t> encode_values(weightdiff::DType t, const std::vector<double>& values);

// The float64 value of every stored element (SPEC §2), independently of src/.
std::vector<double> decode_values(weightdiff::DType t, const std::vector<uint8_t>& bytes,
                                  uint64_t numel);

}  // namespace wdtest
