// Element types of tensors, across formats. Names follow SPEC §5.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace weightdiff {

enum class DType : uint8_t {
  f64, f32, f16, bf16,
  f8e4m3fn, f8e4m3fnuz, f8e5m2, f8e5m2fnuz,
  i64, i32, i16, i8,
  u64, u32, u16, u8,
  boolean,
  i4, u4,  // packed two per byte, low nibble first (ONNX)
};

inline constexpr int kDTypeCount = 19;

// SPEC §5 name, e.g. "bf16".
std::string_view dtype_name(DType t) noexcept;
std::optional<DType> dtype_from_name(std::string_view name) noexcept;

// Storage size in bits of one element (4 for i4/u4).
unsigned dtype_bits(DType t) noexcept;

bool dtype_is_float(DType t) noexcept;

// Bytes needed for numel elements, or nullopt on 64-bit overflow.
std::optional<uint64_t> dtype_storage_bytes(DType t, uint64_t numel) noexcept;

// Default tolerances of SPEC §3 (torch.testing.assert_close).
struct Tolerance {
  double atol;
  double rtol;
};
Tolerance default_tolerance(DType t) noexcept;

}  // namespace weightdiff
