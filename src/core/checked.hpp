// Checked 64-bit arithmetic for every size or offset read from a file.
#pragma once

#include <cstdint>
#include <optional>

namespace weightdiff::core {

inline std::optional<uint64_t> checked_add(uint64_t a, uint64_t b) noexcept {
  uint64_t r;
  if (__builtin_add_overflow(a, b, &r)) return std::nullopt;
  return r;
}

inline std::optional<uint64_t> checked_mul(uint64_t a, uint64_t b) noexcept {
  uint64_t r;
  if (__builtin_mul_overflow(a, b, &r)) return std::nullopt;
  return r;
}

// Bytes of numel elements of `bits` bits each, packed (sub-byte elements
// share bytes; the last byte may be partial), or nullopt on overflow.
inline std::optional<uint64_t> storage_bytes(uint64_t numel, unsigned bits) noexcept {
  if (bits % 8 == 0) return checked_mul(numel, bits / 8);
  const auto whole = checked_mul(numel / 8, bits);  // 8 elements fill `bits` bytes
  if (!whole) return std::nullopt;
  return checked_add(*whole, (numel % 8 * bits + 7) / 8);
}

// True when [offset, offset + length) lies within [0, size).
inline bool extent_within(uint64_t offset, uint64_t length, uint64_t size) noexcept {
  return offset <= size && length <= size - offset;
}

}  // namespace weightdiff::core
