#include "weightdiff/dtype.hpp"

#include <algorithm>
#include <array>

#include "core/checked.hpp"

namespace weightdiff {
namespace {

struct DTypeInfo {
  DType type;
  std::string_view name;
  unsigned bits;
  bool is_float;
  Tolerance tol;
};

constexpr Tolerance kExact{0.0, 0.0};
constexpr std::array<DTypeInfo, kDTypeCount> kInfo{{
    {DType::f64, "f64", 64, true, {1e-7, 1e-7}},
    {DType::f32, "f32", 32, true, {1e-5, 1.3e-6}},
    {DType::f16, "f16", 16, true, {1e-5, 1e-3}},
    {DType::bf16, "bf16", 16, true, {1e-5, 1.6e-2}},
    {DType::f8e4m3fn, "f8e4m3fn", 8, true, {1e-5, 0.125}},
    {DType::f8e4m3fnuz, "f8e4m3fnuz", 8, true, {1e-5, 0.125}},
    {DType::f8e5m2, "f8e5m2", 8, true, {1e-5, 0.25}},
    {DType::f8e5m2fnuz, "f8e5m2fnuz", 8, true, {1e-5, 0.25}},
    {DType::i64, "i64", 64, false, kExact},
    {DType::i32, "i32", 32, false, kExact},
    {DType::i16, "i16", 16, false, kExact},
    {DType::i8, "i8", 8, false, kExact},
    {DType::u64, "u64", 64, false, kExact},
    {DType::u32, "u32", 32, false, kExact},
    {DType::u16, "u16", 16, false, kExact},
    {DType::u8, "u8", 8, false, kExact},
    {DType::boolean, "bool", 8, false, kExact},
    {DType::i4, "i4", 4, false, kExact},
    {DType::u4, "u4", 4, false, kExact},
}};

const DTypeInfo& info(DType t) noexcept { return kInfo[static_cast<size_t>(t)]; }

}  // namespace

std::string_view dtype_name(DType t) noexcept { return info(t).name; }

std::optional<DType> dtype_from_name(std::string_view name) noexcept {
  auto it = std::find_if(kInfo.begin(), kInfo.end(),
                         [&](const DTypeInfo& i) { return i.name == name; });
  if (it == kInfo.end()) return std::nullopt;
  return it->type;
}

unsigned dtype_bits(DType t) noexcept { return info(t).bits; }
bool dtype_is_float(DType t) noexcept { return info(t).is_float; }
Tolerance default_tolerance(DType t) noexcept { return info(t).tol; }

std::optional<uint64_t> dtype_storage_bytes(DType t, uint64_t numel) noexcept {
  return core::storage_bytes(numel, dtype_bits(t));
}

}  // namespace weightdiff
