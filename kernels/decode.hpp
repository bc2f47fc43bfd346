// Decoding stored elements to float64 on the device (and, for the host
// emulation tests, on the CPU): one routine per dtype, dispatched at run time
// on a warp-uniform dtype, so there is one kernel for all N² dtype pairs.
//
// Same values as src/backend/cpu/decode.cpp (SPEC §2): exact for every float
// type, round-to-nearest for 64-bit integers, bool = byte != 0, i4/u4 packed
// two per byte with the even element in the low nibble.
#pragma once

#include "hd.hpp"
#include "weightdiff/dtype.hpp"

namespace weightdiff::cuda {

inline constexpr int kGroup = 8;  // elements a thread decodes at a time

WD_HD double f64_nan() { return bits_to_f64(0x7FF8000000000000ull); }
WD_HD double f64_inf() { return bits_to_f64(0x7FF0000000000000ull); }

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

// The four fp8 variants by their bit fields (see cpu/decode.cpp).
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
  }
  return f64_nan();
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

// One full group of kGroup elements starting at p (aligned to the group's
// byte size, capped at 16) into little-endian words: 16-byte vector loads
// on the device.
WD_HD void load_group_words(int group_bytes, const uint8_t* p, uint32_t* w) {
#if defined(__CUDA_ARCH__)
  if (group_bytes >= 16) {
    const uint4* q = reinterpret_cast<const uint4*>(p);
WD_UNROLL
    for (int i = 0; i < 4; ++i)
      if (i * 16 < group_bytes) {
        const uint4 v = q[i];
        w[4 * i] = v.x, w[4 * i + 1] = v.y, w[4 * i + 2] = v.z, w[4 * i + 3] = v.w;
      }
  } else if (group_bytes == 8) {
    const uint2 v = *reinterpret_cast<const uint2*>(p);
    w[0] = v.x, w[1] = v.y;
  } else {
    w[0] = *reinterpret_cast<const uint32_t*>(p);
  }
#else
  std::memcpy(w, p, static_cast<size_t>(group_bytes));
#endif
}

template <int kBits>
WD_HD uint64_t word_elem(const uint32_t* w, int i) {
  if (kBits == 64) return w[2 * i] | (static_cast<uint64_t>(w[2 * i + 1]) << 32);
  if (kBits == 32) return w[i];
  if (kBits == 16) return (w[i / 2] >> (16 * (i % 2))) & 0xFFFFu;
  if (kBits == 8) return (w[i / 4] >> (8 * (i % 4))) & 0xFFu;
  return (w[0] >> (4 * i)) & 0xFu;
}

// Decodes the kGroup elements held in w: the dtype switch is outside the
// (unrolled) element loops.
WD_HD void decode_group_words(DType t, const uint32_t* w, double* out) {
#define WD_DECODE_GROUP(kBits, expr)                                 \
  {                                                                  \
    WD_UNROLL for (int i = 0; i < kGroup; ++i) {             \
      const uint64_t v = word_elem<kBits>(w, i);                     \
      out[i] = (expr);                                               \
    }                                                                \
    return;                                                          \
  }
  switch (t) {
    case DType::f64: WD_DECODE_GROUP(64, bits_to_f64(v))
    case DType::f32: WD_DECODE_GROUP(32, bits_to_f32(static_cast<uint32_t>(v)))
    case DType::f16: WD_DECODE_GROUP(16, f16_value(static_cast<uint32_t>(v)))
    case DType::bf16: WD_DECODE_GROUP(16, bf16_value(static_cast<uint32_t>(v)))
    case DType::i64: case DType::u64: WD_DECODE_GROUP(64, value_of(t, v))
    case DType::i32: case DType::u32: WD_DECODE_GROUP(32, value_of(t, v))
    case DType::i16: case DType::u16: WD_DECODE_GROUP(16, value_of(t, v))
    case DType::i4: case DType::u4: WD_DECODE_GROUP(4, value_of(t, v))
    default: WD_DECODE_GROUP(8, value_of(t, v))  // fp8, i8, u8, bool
  }
#undef WD_DECODE_GROUP
}

// Elements [e0, e0 + n) (n <= kGroup) of the run stored at base (nibble
// phase `phase` for i4/u4) into out[0..n); out[n..kGroup) = 0.
WD_HD void load_group(DType t, const uint8_t* base, uint64_t e0, uint32_t phase, int n, double* out) {
  const int bits = storage_bits(t);
  const int group_bytes = bits * kGroup / 8;
  const uint8_t* p = base + e0 * static_cast<uint64_t>(bits) / 8;
  const uintptr_t align = static_cast<uintptr_t>(group_bytes < 16 ? group_bytes : 16);
  if (n == kGroup && phase == 0 && (reinterpret_cast<uintptr_t>(p) & (align - 1)) == 0) {
    uint32_t w[16];
    load_group_words(group_bytes, p, w);
    decode_group_words(t, w, out);
    return;
  }
WD_UNROLL
  for (int i = 0; i < kGroup; ++i)
    out[i] = i < n ? value_of(t, load_elem_bits(t, base, phase + e0 + static_cast<uint64_t>(i))) : 0.0;
}

}  // namespace weightdiff::cuda
