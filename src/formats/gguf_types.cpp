#include "formats/gguf_types.hpp"

#include <array>

namespace weightdiff::formats {
namespace {

constexpr uint32_t kQK = 256;  // QK_K: the super-block of the K, IQ and TQ types

GgmlType plain(uint32_t id, const char* name, uint32_t bytes, DType t) {
  return GgmlType{id, name, 1, bytes, t};
}
GgmlType block(uint32_t id, const char* name, uint32_t elems, uint32_t bytes) {
  return GgmlType{id, name, elems, bytes, std::nullopt};
}
// A block type we decode (backend/quant_blocks.hpp): its geometry is the
// dtype's too (gguf_test checks that they agree).
GgmlType quant(uint32_t id, const char* name, uint32_t elems, uint32_t bytes, DType t) {
  return GgmlType{id, name, elems, bytes, t};
}

// Sorted by id; the gaps are ids ggml removed.
const std::array<GgmlType, 34>& table() {
  using D = DType;
  static const std::array<GgmlType, 34> t = {
      plain(0, "f32", 4, D::f32),        plain(1, "f16", 2, D::f16),
      quant(2, "q4_0", 32, 18, D::q4_0),          quant(3, "q4_1", 32, 20, D::q4_1),
      quant(6, "q5_0", 32, 22, D::q5_0),          quant(7, "q5_1", 32, 24, D::q5_1),
      quant(8, "q8_0", 32, 34, D::q8_0),          block(9, "q8_1", 32, 36),
      quant(10, "q2_K", kQK, 84, D::q2_K),        quant(11, "q3_K", kQK, 110, D::q3_K),
      quant(12, "q4_K", kQK, 144, D::q4_K),       quant(13, "q5_K", kQK, 176, D::q5_K),
      quant(14, "q6_K", kQK, 210, D::q6_K),       block(15, "q8_K", kQK, 292),
      block(16, "iq2_xxs", kQK, 66),     block(17, "iq2_xs", kQK, 74),
      block(18, "iq3_xxs", kQK, 98),     block(19, "iq1_s", kQK, 50),
      block(20, "iq4_nl", 32, 18),       block(21, "iq3_s", kQK, 110),
      block(22, "iq2_s", kQK, 82),       block(23, "iq4_xs", kQK, 136),
      plain(24, "i8", 1, D::i8),         plain(25, "i16", 2, D::i16),
      plain(26, "i32", 4, D::i32),       plain(27, "i64", 8, D::i64),
      plain(28, "f64", 8, D::f64),       block(29, "iq1_m", kQK, 56),
      plain(30, "bf16", 2, D::bf16),     block(34, "tq1_0", kQK, 54),
      block(35, "tq2_0", kQK, 66),       block(39, "mxfp4", 32, 17),
      block(40, "nvfp4", 64, 36),        block(41, "q1_0", 128, 18),
  };
  return t;
}

constexpr std::array<GgufValueInfo, 13> kValueTypes{{
    {GgufValueType::u8, "uint8", 1, 1},      {GgufValueType::i8, "int8", 1, 1},
    {GgufValueType::u16, "uint16", 2, 2},    {GgufValueType::i16, "int16", 2, 2},
    {GgufValueType::u32, "uint32", 4, 4},    {GgufValueType::i32, "int32", 4, 4},
    {GgufValueType::f32, "float32", 4, 4},   {GgufValueType::boolean, "bool", 1, 1},
    {GgufValueType::string, "string", 0, 8},  // u64 length, then the bytes
    {GgufValueType::array, "array", 0, 12},   // u32 item type, u64 count, then the items
    {GgufValueType::u64, "uint64", 8, 8},    {GgufValueType::i64, "int64", 8, 8},
    {GgufValueType::f64, "float64", 8, 8},
}};

}  // namespace

std::optional<GgmlType> ggml_type(uint32_t id) noexcept {
  for (const auto& t : table())
    if (t.id == id) return t;
  return std::nullopt;
}

std::optional<GgufValueInfo> gguf_value_type(uint32_t id) noexcept {
  if (id >= kValueTypes.size()) return std::nullopt;
  return kValueTypes[id];
}

}  // namespace weightdiff::formats
