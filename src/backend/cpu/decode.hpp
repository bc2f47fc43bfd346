// Decoding stored elements to float64: one routine per dtype (N, not N²),
// exact for every float type, round-to-nearest for wide integers (SPEC §2).
#pragma once

#include <cstddef>
#include <cstdint>

#include "weightdiff/dtype.hpp"

namespace weightdiff::cpu {

// Writes elements [first, first + count) of the tensor stored at `base` to out.
void decode_to_f64(DType type, const std::byte* base, uint64_t first, size_t count, double* out);

// Scalar decoders, shared by tests and the vector loops.
double f16_to_f64(uint16_t bits) noexcept;
double bf16_to_f64(uint16_t bits) noexcept;
double f8_to_f64(DType type, uint8_t bits) noexcept;  // any of the four fp8 variants

}  // namespace weightdiff::cpu
