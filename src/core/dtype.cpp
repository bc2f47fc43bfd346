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
  unsigned block_elems = 1, block_bytes = 0;  // block types only
};

constexpr Tolerance kExact{0.0, 0.0};
constexpr Tolerance kF16{1e-5, 1e-3};
constexpr std::array<DTypeInfo, kDTypeCount> kInfo{{
    {DType::f64, "f64", 64, true, {1e-7, 1e-7}},
    {DType::f32, "f32", 32, true, {1e-5, 1.3e-6}},
    {DType::f16, "f16", 16, true, kF16},
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
    // SPEC §3 is silent on quantized types: their values are f16 scales
    // times small integers, so they take the tolerance of f16, the type of
    // the scales (an f16 tensor quantized to q8_0 is then 'close' only where
    // the quantization error stays within f16's; usually it does not, and
    // that is the answer the user asked for).
    {DType::q4_0, "q4_0", 0, true, kF16, 32, 18},
    {DType::q4_1, "q4_1", 0, true, kF16, 32, 20},
    {DType::q5_0, "q5_0", 0, true, kF16, 32, 22},
    {DType::q5_1, "q5_1", 0, true, kF16, 32, 24},
    {DType::q8_0, "q8_0", 0, true, kF16, 32, 34},
    {DType::q2_K, "q2_K", 0, true, kF16, 256, 84},
    {DType::q3_K, "q3_K", 0, true, kF16, 256, 110},
    {DType::q4_K, "q4_K", 0, true, kF16, 256, 144},
    {DType::q5_K, "q5_K", 0, true, kF16, 256, 176},
    {DType::q6_K, "q6_K", 0, true, kF16, 256, 210},
}};

const DTypeInfo& info(DType t) noexcept { return kInfo[static_cast<size_t>(t)]; }

// The table is indexed by the enum: every row in its place.
constexpr bool table_in_order() {
  for (size_t i = 0; i < kInfo.size(); ++i)
    if (static_cast<size_t>(kInfo[i].type) != i) return false;
  return true;
}
static_assert(table_in_order());

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

unsigned dtype_block_elems(DType t) noexcept { return info(t).block_elems; }
unsigned dtype_block_bytes(DType t) noexcept {
  return info(t).block_elems > 1 ? info(t).block_bytes : info(t).bits / 8;
}
bool dtype_is_block(DType t) noexcept { return info(t).block_elems > 1; }

std::optional<uint64_t> dtype_storage_bytes(DType t, uint64_t numel) noexcept {
  if (!dtype_is_block(t)) return core::storage_bytes(numel, dtype_bits(t));
  const uint64_t be = dtype_block_elems(t);
  return core::checked_mul(numel / be + (numel % be != 0 ? 1 : 0), dtype_block_bytes(t));
}

}  // namespace weightdiff
