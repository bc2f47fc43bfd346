#pragma once

#include <cstddef>

#include "weightdiff/dtype.hpp"

namespace weightdiff::cpu {

// Decodes a prefix of n elements at src (element-aligned) to float64 with
// SIMD; returns how many it decoded (0 for dtypes it does not handle). The
// caller decodes the rest with the scalar routines.
size_t decode_simd(DType type, const std::byte* src, size_t n, double* out);

// The same to float32, for bf16, f16 (exact: both are subsets of float32)
// and f32 (copied); 0 for any other dtype.
size_t decode_simd_f32(DType type, const std::byte* src, size_t n, float* out);

}  // namespace weightdiff::cpu
