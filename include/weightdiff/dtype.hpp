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
  // ggml's block-quantized types (GGUF), named as ggml names them: blocks of
  // 32 (q4_0 .. q8_0) or 256 (the K types) elements with f16 scales.
  q4_0, q4_1, q5_0, q5_1, q8_0,
  q2_K, q3_K, q4_K, q5_K, q6_K,
};

inline constexpr int kDTypeCount = 29;

// SPEC §5 name, e.g. "bf16".
std::string_view dtype_name(DType t) noexcept;
std::optional<DType> dtype_from_name(std::string_view name) noexcept;

// Storage size in bits of one element (4 for i4/u4); 0 for the block
// types, whose elements have no size of their own (see dtype_block_*).
unsigned dtype_bits(DType t) noexcept;

// Block geometry: elements per block and bytes per block. A plain type is a
// block of one element of dtype_bits / 8 bytes (i4/u4: 1 element, 0 bytes:
// they are sub-byte, not blocked; use dtype_bits).
unsigned dtype_block_elems(DType t) noexcept;
unsigned dtype_block_bytes(DType t) noexcept;
bool dtype_is_block(DType t) noexcept;  // block_elems > 1

bool dtype_is_float(DType t) noexcept;  // block types count as float

// Bytes needed for numel elements, or nullopt on 64-bit overflow. Block
// types: the whole blocks that hold them (a partial last block counts whole).
std::optional<uint64_t> dtype_storage_bytes(DType t, uint64_t numel) noexcept;

// Default tolerances of SPEC §3 (torch.testing.assert_close).
struct Tolerance {
  double atol;
  double rtol;
};
Tolerance default_tolerance(DType t) noexcept;

}  // namespace weightdiff
