#include "encode.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

namespace wdtest {
namespace {

using weightdiff::DType;

struct Format {
  int ebits, mbits, bias;
  bool ieee_special;  // exponent all ones = Inf/NaN (f16, bf16, e5m2)
  bool fnuz;          // 0x80 = the only NaN, no -0, no Inf
};

Format format_of(DType t) {
  switch (t) {
    case DType::f16: return {5, 10, 15, true, false};
    case DType::bf16: return {8, 7, 127, true, false};
    case DType::f8e4m3fn: return {4, 3, 7, false, false};
    case DType::f8e4m3fnuz: return {4, 3, 8, false, true};
    case DType::f8e5m2: return {5, 2, 15, true, false};
    case DType::f8e5m2fnuz: return {5, 2, 16, false, true};
    default: throw std::invalid_argument("not a small float format");
  }
}

uint32_t sign_bit(const Format& f) { return uint32_t{1} << (f.ebits + f.mbits); }

uint32_t nan_code(DType t, const Format& f) {
  if (f.fnuz) return 0x80;
  if (t == DType::f8e4m3fn) return 0x7F;
  // quiet NaN: exponent all ones, top mantissa bit
  return (((uint32_t{1} << f.ebits) - 1) << f.mbits) | (uint32_t{1} << (f.mbits - 1));
}

template <typename T>
void put(std::vector<uint8_t>& out, T v) {
  uint8_t b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out.insert(out.end(), b, b + sizeof(T));
}

template <typename T>
T get(const std::vector<uint8_t>& in, uint64_t i) {
  T v;
  std::memcpy(&v, in.data() + i * sizeof(T), sizeof(T));
  return v;
}

// Round to nearest (ties even) and saturate to T's range.
template <typename T>
T to_int(double x) {
  const double r = std::nearbyint(x);
  if (std::isnan(r)) return 0;
  const auto lo = static_cast<double>(std::numeric_limits<T>::min());
  const auto hi = static_cast<double>(std::numeric_limits<T>::max());
  if (r <= lo) return std::numeric_limits<T>::min();
  if (r >= hi) return std::numeric_limits<T>::max();
  return static_cast<T>(r);
}

}  // namespace

double max_finite(DType t) {
  switch (t) {
    case DType::f16: return 65504.0;
    case DType::bf16: return std::ldexp(255.0, 120);  // (2 - 2^-7) * 2^127
    case DType::f8e4m3fn: return 448.0;
    case DType::f8e4m3fnuz: return 240.0;
    case DType::f8e5m2: return 57344.0;
    case DType::f8e5m2fnuz: return 57344.0;
    default: throw std::invalid_argument("not a small float format");
  }
}

double decode_small_float(DType t, uint32_t bits) {
  const Format f = format_of(t);
  const uint32_t man_mask = (uint32_t{1} << f.mbits) - 1;
  const uint32_t exp_all = (uint32_t{1} << f.ebits) - 1;
  const bool neg = bits & sign_bit(f);
  const uint32_t exp = (bits >> f.mbits) & exp_all;
  const uint32_t man = bits & man_mask;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (f.fnuz && bits == 0x80) return nan;
  if (t == DType::f8e4m3fn && exp == exp_all && man == man_mask) return nan;
  if (f.ieee_special && exp == exp_all) {
    if (man != 0) return nan;
    return neg ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
  }
  // value = significand * 2^(exponent - bias - mbits); subnormals use exponent 1.
  const double significand = exp == 0 ? static_cast<double>(man)
                                      : static_cast<double>(man | (man_mask + 1));
  const int e = (exp == 0 ? 1 : static_cast<int>(exp)) - f.bias - f.mbits;
  const double mag = std::ldexp(significand, e);
  return neg ? -mag : mag;
}

uint32_t encode_small_float(DType t, double x) {
  const Format f = format_of(t);
  if (std::isnan(x)) return nan_code(t, f);
  const bool neg = std::signbit(x);
  const uint32_t sign = neg ? sign_bit(f) : 0;
  const double ax = std::fabs(x);
  const int emin = 1 - f.bias;  // smallest normal exponent
  uint32_t code;
  if (ax == 0) {
    code = 0;
  } else {
    // Round with an unbounded exponent range, then check overflow (IEEE).
    const int e = std::max(std::isinf(ax) ? emin : std::ilogb(ax), emin);
    const double quantum = std::ldexp(1.0, e - f.mbits);
    const double q = std::nearbyint(ax / quantum);  // power-of-2 division: exact
    const double v = q * quantum;
    if (std::isinf(ax) || v > max_finite(t)) {
      if (f.ieee_special) return sign | (((uint32_t{1} << f.ebits) - 1) << f.mbits);
      return f.fnuz ? 0x80 : (sign | nan_code(t, f));
    }
    if (v == 0) {
      code = 0;
    } else if (v < std::ldexp(1.0, emin)) {
      code = static_cast<uint32_t>(v / std::ldexp(1.0, emin - f.mbits));  // subnormal
    } else {
      const int ev = std::ilogb(v);
      const auto man = static_cast<uint32_t>(std::ldexp(v, f.mbits - ev)) - (uint32_t{1} << f.mbits);
      code = (static_cast<uint32_t>(ev + f.bias) << f.mbits) | man;
    }
  }
  if (code == 0 && f.fnuz) return 0;  // fnuz has no -0
  return sign | code;
}

std::vector<uint8_t> encode_values(DType t, const std::vector<double>& values) {
  std::vector<uint8_t> out;
  if (t == DType::i4 || t == DType::u4) {
    out.assign((values.size() + 1) / 2, 0);
    for (size_t i = 0; i < values.size(); ++i) {
      double r = std::nearbyint(values[i]);
      if (std::isnan(r)) r = 0;  // as to_int: an integer type has no NaN (and the cast would be UB)
      const int v = t == DType::i4 ? static_cast<int>(std::clamp(r, -8.0, 7.0))
                                   : static_cast<int>(std::clamp(r, 0.0, 15.0));
      out[i / 2] |= static_cast<uint8_t>((v & 0xF) << (4 * (i % 2)));
    }
    return out;
  }
  out.reserve(values.size() * weightdiff::dtype_bits(t) / 8);
  for (const double x : values) {
    switch (t) {
      case DType::f64: put(out, x); break;
      case DType::f32: put(out, static_cast<float>(x)); break;
      case DType::f16:
      case DType::bf16: put(out, static_cast<uint16_t>(encode_small_float(t, x))); break;
      case DType::f8e4m3fn:
      case DType::f8e4m3fnuz:
      case DType::f8e5m2:
      case DType::f8e5m2fnuz: out.push_back(static_cast<uint8_t>(encode_small_float(t, x))); break;
      case DType::i64: put(out, to_int<int64_t>(x)); break;
      case DType::i32: put(out, to_int<int32_t>(x)); break;
      case DType::i16: put(out, to_int<int16_t>(x)); break;
      case DType::i8: put(out, to_int<int8_t>(x)); break;
      case DType::u64: put(out, to_int<uint64_t>(x)); break;
      case DType::u32: put(out, to_int<uint32_t>(x)); break;
      case DType::u16: put(out, to_int<uint16_t>(x)); break;
      case DType::u8: put(out, to_int<uint8_t>(x)); break;
      case DType::boolean: out.push_back(x != 0 ? 1 : 0); break;
      default: throw std::invalid_argument("unhandled dtype");
    }
  }
  return out;
}

namespace {

// decode_small_float over every code, built once per format.
const std::vector<double>& code_table(DType t) {
  static std::vector<double> tables[weightdiff::kDTypeCount];
  std::vector<double>& table = tables[static_cast<int>(t)];
  if (table.empty()) {
    const uint32_t codes = weightdiff::dtype_bits(t) == 16 ? 65536 : 256;
    table.resize(codes);
    for (uint32_t c = 0; c < codes; ++c) table[c] = decode_small_float(t, c);
  }
  return table;
}

}  // namespace

std::vector<double> decode_values(DType t, const std::vector<uint8_t>& bytes, uint64_t numel) {
  std::vector<double> out(numel);
  const bool small_float = t == DType::f16 || t == DType::bf16 || (weightdiff::dtype_is_float(t) &&
                                                                   weightdiff::dtype_bits(t) == 8);
  const std::vector<double>* table = small_float ? &code_table(t) : nullptr;
  for (uint64_t i = 0; i < numel; ++i) {
    double v = 0;
    switch (t) {
      case DType::f64: v = get<double>(bytes, i); break;
      case DType::f32: v = get<float>(bytes, i); break;
      case DType::f16:
      case DType::bf16: v = (*table)[get<uint16_t>(bytes, i)]; break;
      case DType::f8e4m3fn:
      case DType::f8e4m3fnuz:
      case DType::f8e5m2:
      case DType::f8e5m2fnuz: v = (*table)[bytes[i]]; break;
      case DType::i64: v = static_cast<double>(get<int64_t>(bytes, i)); break;
      case DType::i32: v = get<int32_t>(bytes, i); break;
      case DType::i16: v = get<int16_t>(bytes, i); break;
      case DType::i8: v = get<int8_t>(bytes, i); break;
      case DType::u64: v = static_cast<double>(get<uint64_t>(bytes, i)); break;
      case DType::u32: v = get<uint32_t>(bytes, i); break;
      case DType::u16: v = get<uint16_t>(bytes, i); break;
      case DType::u8: v = bytes[i]; break;
      case DType::boolean: v = bytes[i] != 0 ? 1.0 : 0.0; break;
      case DType::i4:
      case DType::u4: {
        const int nib = (bytes[i / 2] >> (4 * (i % 2))) & 0xF;
        v = (t == DType::i4 && nib >= 8) ? nib - 16 : nib;
        break;
      }
      default: throw std::invalid_argument("decode_values: block types are reference_quant's");
    }
    out[i] = v;
  }
  return out;
}

}  // namespace wdtest
