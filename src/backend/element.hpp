// The value of one stored element, as both backends decode it (SPEC §2):
// exact for every float type, round-to-nearest for 64-bit integers, bool =
// byte != 0, i4/u4 packed two per byte with the even element in the low
// nibble. One definition, host/device: the CPU backend's scalar paths and
// tables, the CUDA kernels and their host emulation all call this. (The
// CPU's vector paths are checked against it code by code: decode_test.)
// ggml's block-quantized types are decoded a block element at a time by
// quant_blocks.hpp, included at the end.
#pragma once

#include "backend/hd.hpp"
#include "weightdiff/dtype.hpp"

namespace weightdiff::backend {


WD_HD double f16_value(uint32_t h) {
  const uint32_t em = h & 0x7FFF;
  const bool neg = (h & 0x8000) != 0;
  if (em >= 0x7C00) return bits_to_f32((em << 13) | 0x7F800000u | (neg ? 0x80000000u : 0u));
  // Normal: rebias 15 -> 127 in float32 (exact); subnormal: em * 2^-24 (exact).
  const double mag = em >= 0x0400 ? static_cast<double>(bits_to_f32((em << 13) + ((127u - 15u) << 23)))
                                  : static_cast<double>(em) * pow2(-24);
  return neg ? -mag : mag;
}

WD_HD double bf16_value(uint32_t h) { return bits_to_f32(h << 16); }

// The four fp8 variants by their bit fields. They differ in exponent width
// and bias, and in what encodes NaN/Inf:
//  e4m3fn:   bias 7, no Inf, NaN = S.1111.111
//  e4m3fnuz: bias 8, no Inf, NaN = 1.0000.000 only (no -0)
//  e5m2:     bias 15, IEEE-like (Inf, NaN with exponent 11111)
//  e5m2fnuz: bias 16, no Inf, NaN = 1.00000.00 only (no -0)
WD_HD double f8_value(DType t, uint32_t v) {
  const bool e5 = t == DType::f8e5m2 || t == DType::f8e5m2fnuz;
  const int mbits = e5 ? 2 : 3;
  const int bias = t == DType::f8e4m3fn ? 7 : t == DType::f8e4m3fnuz ? 8 : t == DType::f8e5m2 ? 15 : 16;
  const bool neg = (v & 0x80) != 0;
  const int exp = static_cast<int>((v & 0x7F) >> mbits);
  const int man = static_cast<int>(v & ((1u << mbits) - 1));
  if (t == DType::f8e4m3fn && (v & 0x7F) == 0x7F) return f64_nan();
  if ((t == DType::f8e4m3fnuz || t == DType::f8e5m2fnuz) && v == 0x80) return f64_nan();
  if (t == DType::f8e5m2 && exp == 31) return man == 0 ? (neg ? -f64_inf() : f64_inf()) : f64_nan();
  const double mag = exp == 0 ? static_cast<double>(man) * pow2(1 - bias - mbits)
                              : static_cast<double>((1 << mbits) + man) * pow2(exp - bias - mbits);
  return neg ? -mag : mag;
}

// The value of one element from its raw (zero-extended) storage bits.
WD_HD double value_of(DType t, uint64_t bits) {
  switch (t) {
    case DType::f64: return bits_to_f64(bits);
    case DType::f32: return bits_to_f32(static_cast<uint32_t>(bits));
    case DType::f16: return f16_value(static_cast<uint32_t>(bits));
    case DType::bf16: return bf16_value(static_cast<uint32_t>(bits));
    case DType::f8e4m3fn:
    case DType::f8e4m3fnuz:
    case DType::f8e5m2:
    case DType::f8e5m2fnuz: return f8_value(t, static_cast<uint32_t>(bits));
    case DType::i64: return static_cast<double>(static_cast<int64_t>(bits));
    case DType::i32: return static_cast<double>(static_cast<int32_t>(static_cast<uint32_t>(bits)));
    case DType::i16: return static_cast<double>(static_cast<int16_t>(static_cast<uint16_t>(bits)));
    case DType::i8: return static_cast<double>(static_cast<int8_t>(static_cast<uint8_t>(bits)));
    case DType::u64: return static_cast<double>(bits);
    case DType::u32:
    case DType::u16:
    case DType::u8:
    case DType::u4: return static_cast<double>(bits);
    case DType::boolean: return bits != 0 ? 1.0 : 0.0;
    case DType::i4: return static_cast<double>(static_cast<int>(bits ^ 8) - 8);
    default: return f64_nan();  // block types have no per-element bits: quant_blocks.hpp
  }
}

WD_HD int storage_bits(DType t) {
  switch (t) {
    case DType::f64: case DType::i64: case DType::u64: return 64;
    case DType::f32: case DType::i32: case DType::u32: return 32;
    case DType::f16: case DType::bf16: case DType::i16: case DType::u16: return 16;
    case DType::i4: case DType::u4: return 4;
    default: return 8;
  }
}

// Raw bits of element e counted from `base` (for i4/u4, e includes the
// nibble phase of base). Byte by byte: any alignment.
WD_HD uint64_t load_elem_bits(DType t, const uint8_t* base, uint64_t e) {
  const int bits = storage_bits(t);
  if (bits == 4) return (base[e / 2] >> (4 * (e % 2))) & 0xFu;
  const int bytes = bits / 8;
  const uint8_t* p = base + e * static_cast<uint64_t>(bytes);
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

}  // namespace weightdiff::backend

// The block types' values (ggml's quantized layouts), same vocabulary.
#include "backend/quant_blocks.hpp"
