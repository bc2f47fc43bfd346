#include "formats/onnx_types.hpp"

#include <array>
#include <limits>

namespace weightdiff::formats {
namespace {

constexpr int64_t kI32Min = std::numeric_limits<int32_t>::min();
constexpr int64_t kI32Max = std::numeric_limits<int32_t>::max();
constexpr int64_t kU32Max = std::numeric_limits<uint32_t>::max();
constexpr int64_t kAny = 0;  // lo == hi == 0: every 64-bit value

OnnxType make(int64_t code, const char* name, std::optional<DType> t, uint32_t field,
              int64_t lo, int64_t hi, unsigned bytes) {
  return OnnxType{code, name, t, field, lo, hi, bytes};
}

const std::array<OnnxType, 29>& table() {
  using D = DType;
  static const std::array<OnnxType, 29> t = {
      make(0, "UNDEFINED", std::nullopt, 0, 0, 0, 0),
      make(1, "FLOAT", D::f32, kFloatData, 0, 0, 4),
      make(2, "UINT8", D::u8, kInt32Data, 0, 255, 1),
      make(3, "INT8", D::i8, kInt32Data, -128, 127, 1),
      make(4, "UINT16", D::u16, kInt32Data, 0, 65535, 2),
      make(5, "INT16", D::i16, kInt32Data, -32768, 32767, 2),
      make(6, "INT32", D::i32, kInt32Data, kI32Min, kI32Max, 4),
      make(7, "INT64", D::i64, kInt64Data, kAny, kAny, 8),
      make(8, "STRING", std::nullopt, kStringData, 0, 0, 0),
      make(9, "BOOL", D::boolean, kInt32Data, 0, 255, 1),
      // 16-bit and 8-bit floats: their bit patterns, as unsigned integers.
      make(10, "FLOAT16", D::f16, kInt32Data, 0, 65535, 2),
      make(11, "DOUBLE", D::f64, kDoubleData, 0, 0, 8),
      make(12, "UINT32", D::u32, kUint64Data, 0, kU32Max, 4),
      make(13, "UINT64", D::u64, kUint64Data, kAny, kAny, 8),
      make(14, "COMPLEX64", std::nullopt, kFloatData, 0, 0, 0),
      make(15, "COMPLEX128", std::nullopt, kDoubleData, 0, 0, 0),
      make(16, "BFLOAT16", D::bf16, kInt32Data, 0, 65535, 2),
      make(17, "FLOAT8E4M3FN", D::f8e4m3fn, kInt32Data, 0, 255, 1),
      make(18, "FLOAT8E4M3FNUZ", D::f8e4m3fnuz, kInt32Data, 0, 255, 1),
      make(19, "FLOAT8E5M2", D::f8e5m2, kInt32Data, 0, 255, 1),
      make(20, "FLOAT8E5M2FNUZ", D::f8e5m2fnuz, kInt32Data, 0, 255, 1),
      // 4-bit: one int32 per packed byte (low nibble first); writers differ
      // on whether that byte is signed, so both readings are accepted.
      make(21, "UINT4", D::u4, kInt32Data, -128, 255, 1),
      make(22, "INT4", D::i4, kInt32Data, -128, 255, 1),
      make(23, "FLOAT4E2M1", std::nullopt, kInt32Data, 0, 0, 0),
      make(24, "FLOAT8E8M0", std::nullopt, kInt32Data, 0, 0, 0),
      make(25, "UINT2", std::nullopt, kInt32Data, 0, 0, 0),
      make(26, "INT2", std::nullopt, kInt32Data, 0, 0, 0),
      make(27, "FLOAT6E2M3", std::nullopt, kInt32Data, 0, 0, 0),
      make(28, "FLOAT6E3M2", std::nullopt, kInt32Data, 0, 0, 0),
  };
  return t;
}

}  // namespace

std::optional<OnnxType> onnx_type(int64_t code) noexcept {
  if (code <= 0 || code >= static_cast<int64_t>(table().size())) return std::nullopt;
  return table()[static_cast<size_t>(code)];
}

}  // namespace weightdiff::formats
