#include "backend/cpu/decode.hpp"

#include "backend/cpu/decode_simd.hpp"

#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

namespace weightdiff::cpu {
namespace {

// fp8 by its bit fields. The four variants differ in exponent width and bias,
// and in what encodes NaN/Inf:
//  e4m3fn:   bias 7, no Inf, NaN = S.1111.111
//  e4m3fnuz: bias 8, no Inf, NaN = 1.0000.000 only (no -0)
//  e5m2:     bias 15, IEEE-like (Inf, NaN with exponent 11111)
//  e5m2fnuz: bias 16, no Inf, NaN = 1.00000.00 only (no -0)
double f8_decode_exact(DType type, uint8_t v) {
  const bool e5 = type == DType::f8e5m2 || type == DType::f8e5m2fnuz;
  const int mbits = e5 ? 2 : 3;
  const int bias = type == DType::f8e4m3fn ? 7 : type == DType::f8e4m3fnuz ? 8
                   : type == DType::f8e5m2 ? 15 : 16;
  const bool neg = v & 0x80;
  const int exp = (v & 0x7F) >> mbits;
  const int man = v & ((1 << mbits) - 1);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  switch (type) {
    case DType::f8e4m3fn:
      if ((v & 0x7F) == 0x7F) return nan;
      break;
    case DType::f8e4m3fnuz:
    case DType::f8e5m2fnuz:
      if (v == 0x80) return nan;
      break;
    case DType::f8e5m2:
      if (exp == 31) return man == 0 ? (neg ? -INFINITY : INFINITY) : nan;
      break;
    default:
      break;
  }
  const double mag = exp == 0 ? std::ldexp(man, 1 - bias - mbits)
                              : std::ldexp((1 << mbits) + man, exp - bias - mbits);
  return neg ? -mag : mag;
}

using F8Table = std::array<double, 256>;

F8Table make_f8_table(DType type) {
  F8Table t{};
  for (int i = 0; i < 256; ++i) t[i] = f8_decode_exact(type, static_cast<uint8_t>(i));
  return t;
}

const F8Table& f8_table(DType type) {
  static const F8Table e4m3fn = make_f8_table(DType::f8e4m3fn);
  static const F8Table e4m3fnuz = make_f8_table(DType::f8e4m3fnuz);
  static const F8Table e5m2 = make_f8_table(DType::f8e5m2);
  static const F8Table e5m2fnuz = make_f8_table(DType::f8e5m2fnuz);
  switch (type) {
    case DType::f8e4m3fnuz: return e4m3fnuz;
    case DType::f8e5m2: return e5m2;
    case DType::f8e5m2fnuz: return e5m2fnuz;
    default: return e4m3fn;
  }
}

// Branch-free half -> float (exact), written so the loop below vectorizes.
inline float half_bits_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  const uint32_t em = h & 0x7FFF;
  // Normal numbers: rebias the exponent (15 -> 127).
  const uint32_t normal = (em << 13) + ((127 - 15) << 23);
  // Inf/NaN: exponent all ones; keep the mantissa (NaN payload stays NaN).
  const uint32_t infnan = (em << 13) | 0x7F800000u;
  // Subnormals: value = mantissa * 2^-24, exact in float.
  const float sub = static_cast<float>(em) * 0x1p-24f;
  const uint32_t sub_bits = std::bit_cast<uint32_t>(sub);
  const uint32_t mag = em >= 0x7C00 ? infnan : em >= 0x0400 ? normal : sub_bits;
  return std::bit_cast<float>(mag | sign);
}

// Elements [first, first + count) as stored (unaligned-safe), mapped to double.
template <typename T, typename Map>
void load_map(const std::byte* base, uint64_t first, size_t count, double* out, Map map) {
  const std::byte* p = base + first * sizeof(T);
  for (size_t i = 0; i < count; ++i) {
    T v;
    std::memcpy(&v, p + i * sizeof(T), sizeof(T));
    out[i] = map(v);
  }
}

template <typename T>
void load_convert(const std::byte* base, uint64_t first, size_t count, double* out) {
  load_map<T>(base, first, count, out, [](T v) { return static_cast<double>(v); });
}

}  // namespace

double f16_to_f64(uint16_t bits) noexcept { return half_bits_to_float(bits); }

double bf16_to_f64(uint16_t bits) noexcept {
  return std::bit_cast<float>(static_cast<uint32_t>(bits) << 16);
}

double f8_to_f64(DType type, uint8_t bits) noexcept { return f8_table(type)[bits]; }

void decode_to_f64(DType type, const std::byte* base, uint64_t first, size_t count, double* out) {
  if (dtype_bits(type) >= 8) {
    const size_t done = decode_simd(type, base + first * (dtype_bits(type) / 8), count, out);
    first += done, count -= done, out += done;
  }
  switch (type) {
    case DType::f64: std::memcpy(out, base + first * 8, count * 8); return;
    case DType::f32: return load_convert<float>(base, first, count, out);
    case DType::f16: return load_map<uint16_t>(base, first, count, out, f16_to_f64);
    case DType::bf16: return load_map<uint16_t>(base, first, count, out, bf16_to_f64);
    case DType::f8e4m3fn:
    case DType::f8e4m3fnuz:
    case DType::f8e5m2:
    case DType::f8e5m2fnuz: {
      const F8Table& t = f8_table(type);
      const auto* p = reinterpret_cast<const uint8_t*>(base) + first;
      for (size_t i = 0; i < count; ++i) out[i] = t[p[i]];
      return;
    }
    case DType::i64: return load_convert<int64_t>(base, first, count, out);
    case DType::i32: return load_convert<int32_t>(base, first, count, out);
    case DType::i16: return load_convert<int16_t>(base, first, count, out);
    case DType::i8: return load_convert<int8_t>(base, first, count, out);
    case DType::u64: return load_convert<uint64_t>(base, first, count, out);
    case DType::u32: return load_convert<uint32_t>(base, first, count, out);
    case DType::u16: return load_convert<uint16_t>(base, first, count, out);
    case DType::u8: return load_convert<uint8_t>(base, first, count, out);
    case DType::boolean: {
      const auto* p = reinterpret_cast<const uint8_t*>(base) + first;
      for (size_t i = 0; i < count; ++i) out[i] = p[i] != 0 ? 1.0 : 0.0;
      return;
    }
    case DType::i4:
    case DType::u4: {
      // Two per byte, element 2k in the low nibble (ONNX packing).
      const auto* p = reinterpret_cast<const uint8_t*>(base);
      for (size_t i = 0; i < count; ++i) {
        const uint64_t e = first + i;
        const unsigned nib = (p[e / 2] >> (4 * (e % 2))) & 0xF;
        out[i] = type == DType::i4 ? static_cast<double>(static_cast<int>(nib ^ 8) - 8) : nib;
      }
      return;
    }
  }
}

}  // namespace weightdiff::cpu
