// ggml's block-quantized layouts (GGUF tensor data): the value of element j
// of one block from the block's bytes, exactly in float64.
//
// Layouts as ggml-quants.c's dequantize_row_* (and gguf-py's quants.py)
// define them. Every scale is an f16, or an f16 times a small integer, and
// every quant a small integer, so each value is an integer multiple of 2^-24
// (the f16 quantum) below 2^47 in magnitude: every product and the one
// difference of the K types are exact in float64. ggml computes in float32,
// where the K types' `d*sc*q - dmin*m` (and Q6_K's `d*sc*q`, up to 25 bits,
// and Q4_1's and Q5_1's `d*q + m`) round once: its value is ours rounded to
// float32 (tests/python/test_gguf_quant.py checks it against gguf-py).
//
// The operations keep ggml's order, (d * sc) * q - dmin * m, so NaN and Inf
// scales propagate as ggml's do (Inf * 0 = NaN, Inf - Inf = NaN).
#pragma once

// Included at the end of backend/element.hpp (the per-element vocabulary
// both backends share); it needs element.hpp's f16_value.
#include "backend/element.hpp"

namespace weightdiff::backend {

// Bytes b[i], b[i + 1] as a little-endian f16.
WD_HD double quant_f16(const uint8_t* b, int i) {
  return f16_value(static_cast<uint32_t>(b[i]) | (static_cast<uint32_t>(b[i + 1]) << 8));
}

// The 6-bit scale (and min) of sub-block s (0..7) of Q4_K/Q5_K's 12 packed
// bytes (ggml's get_scale_min_k4).
WD_HD int k4_scale(const uint8_t* q, int s) {
  return s < 4 ? (q[s] & 63) : ((q[s + 4] & 0xF) | ((q[s - 4] >> 6) << 4));
}
WD_HD int k4_min(const uint8_t* q, int s) {
  return s < 4 ? (q[s + 4] & 63) : ((q[s + 4] >> 4) | ((q[s] >> 6) << 4));
}

// Q3_K's 6-bit scale of sub-block s (0..15), unbiased (-32 .. 31): the low
// four bits in bytes 0..7 (low nibbles for s < 8, high for s >= 8), the high
// two in bytes 8..11 (byte 8 + s % 4, bits 2 * (s / 4)).
WD_HD int q3k_scale(const uint8_t* sc, int s) {
  const int lo = s < 8 ? (sc[s] & 0xF) : (sc[s - 8] >> 4);
  const int hi = (sc[8 + s % 4] >> (2 * (s / 4))) & 3;
  return (lo | (hi << 4)) - 32;
}

// d * q with q a small integer (Q4_0, Q5_0, Q8_0).
WD_HD double quant_dq(double d, int q) { return mul_rn(d, static_cast<double>(q)); }
// d * q + m (Q4_1, Q5_1).
WD_HD double quant_dqm(double d, int q, double m) { return add_rn(mul_rn(d, static_cast<double>(q)), m); }
// (d * sc) * q - dmin * m (Q2_K, Q4_K, Q5_K).
WD_HD double quant_k(double d, int sc, int q, double dmin, int m) {
  return add_rn(mul_rn(mul_rn(d, static_cast<double>(sc)), static_cast<double>(q)),
                -mul_rn(dmin, static_cast<double>(m)));
}

// Element j (0 .. block elements - 1) of the block at b.
template <DType T>
WD_HD double quant_value_t(const uint8_t* b, int j) {
  if constexpr (T == DType::q4_0) {  // d, qs[16]: element j < 16 low nibble of qs[j], else high of qs[j-16]
    const int q = (b[2 + j % 16] >> (4 * (j / 16))) & 0xF;
    return quant_dq(quant_f16(b, 0), q - 8);
  } else if constexpr (T == DType::q4_1) {  // d, m, qs[16]
    const int q = (b[4 + j % 16] >> (4 * (j / 16))) & 0xF;
    return quant_dqm(quant_f16(b, 0), q, quant_f16(b, 2));
  } else if constexpr (T == DType::q5_0) {  // d, qh (u32: bit j = 5th bit of element j), qs[16]
    const int lo = (b[6 + j % 16] >> (4 * (j / 16))) & 0xF;
    const int hi = (b[2 + j / 8] >> (j % 8)) & 1;
    return quant_dq(quant_f16(b, 0), (lo | (hi << 4)) - 16);
  } else if constexpr (T == DType::q5_1) {  // d, m, qh, qs[16]
    const int lo = (b[8 + j % 16] >> (4 * (j / 16))) & 0xF;
    const int hi = (b[4 + j / 8] >> (j % 8)) & 1;
    return quant_dqm(quant_f16(b, 0), lo | (hi << 4), quant_f16(b, 2));
  } else if constexpr (T == DType::q8_0) {  // d, int8 qs[32]
    return quant_dq(quant_f16(b, 0), static_cast<int8_t>(b[2 + j]));
  } else if constexpr (T == DType::q2_K) {
    // scales[16] (low nibble scale, high nibble min, per 16 elements),
    // qs[64] (2 bits: byte (j/128)*32 + j%32, shift 2*((j%128)/32)), d, dmin.
    const int sc = b[j / 16];
    const int q = (b[16 + (j / 128) * 32 + j % 32] >> (2 * ((j % 128) / 32))) & 3;
    return quant_k(quant_f16(b, 80), sc & 0xF, q, quant_f16(b, 82), sc >> 4);
  } else if constexpr (T == DType::q3_K) {
    // hmask[32] (bit (j/128)*4 + (j%128)/32 of byte j%32: set = no -4),
    // qs[64] (low 2 bits as q2_K), scales[12] (6-bit, per 16), d.
    const int lo = (b[32 + (j / 128) * 32 + j % 32] >> (2 * ((j % 128) / 32))) & 3;
    const int h = (b[j % 32] >> ((j / 128) * 4 + (j % 128) / 32)) & 1;
    const int q = lo - (h ? 0 : 4);
    return mul_rn(mul_rn(quant_f16(b, 108), static_cast<double>(q3k_scale(b + 96, j / 16))),
                  static_cast<double>(q));
  } else if constexpr (T == DType::q4_K) {
    // d, dmin, scales[12] (6-bit scale and min per 32), qs[128]
    // (byte (j/64)*32 + j%32, low nibble for even sub-blocks).
    const int s = j / 32;
    const int q = (b[16 + (j / 64) * 32 + j % 32] >> (4 * (s % 2))) & 0xF;
    return quant_k(quant_f16(b, 0), k4_scale(b + 4, s), q, quant_f16(b, 2), k4_min(b + 4, s));
  } else if constexpr (T == DType::q5_K) {
    // d, dmin, scales[12], qh[32] (bit j/32 of byte j%32), qs[128] as q4_K.
    const int s = j / 32;
    const int lo = (b[48 + (j / 64) * 32 + j % 32] >> (4 * (s % 2))) & 0xF;
    const int hi = (b[16 + j % 32] >> s) & 1;
    return quant_k(quant_f16(b, 0), k4_scale(b + 4, s), lo | (hi << 4), quant_f16(b, 2), k4_min(b + 4, s));
  } else {  // q6_K
    // ql[128], qh[64], int8 scales[16] (per 16), d. In each half h = j/128,
    // quarter k = (j%128)/32, l = j%32: low 4 bits from ql[h*64 + l + 32*(k%2)]
    // (high nibble for k >= 2), high 2 bits from qh[h*32 + l] >> 2k.
    const int h = j / 128, k = (j % 128) / 32, l = j % 32;
    const int lo = (b[h * 64 + l + 32 * (k % 2)] >> (4 * (k / 2))) & 0xF;
    const int hi = (b[128 + h * 32 + l] >> (2 * k)) & 3;
    const int sc = static_cast<int8_t>(b[192 + j / 16]);
    return mul_rn(mul_rn(quant_f16(b, 208), static_cast<double>(sc)), static_cast<double>((lo | (hi << 4)) - 32));
  }
}

// All elements of the block at b into out[0 .. block elements): the same
// operations as quant_value_t in the same order (so the same bits), with
// the scales decoded once per block or sub-block instead of per element —
// the CPU decoder's whole-block loop (a Q4_K block is 256 values from 2 f16
// and 8 packed scale/min pairs). Types without a loop of their own go
// element by element.
template <DType T>
WD_HD void quant_block_t(const uint8_t* b, double* out) {
  if constexpr (T == DType::q8_0) {
    const double d = quant_f16(b, 0);
    for (int j = 0; j < 32; ++j) out[j] = quant_dq(d, static_cast<int8_t>(b[2 + j]));
  } else if constexpr (T == DType::q4_K || T == DType::q5_K) {
    const double d = quant_f16(b, 0), dmin = quant_f16(b, 2);
    const uint8_t* qs = b + (T == DType::q4_K ? 16 : 48);
    for (int s = 0; s < 8; ++s) {
      const double ds = mul_rn(d, static_cast<double>(k4_scale(b + 4, s)));
      const double dm = mul_rn(dmin, static_cast<double>(k4_min(b + 4, s)));
      const uint8_t* q = qs + (s / 2) * 32;
      const int shift = 4 * (s % 2);
      for (int l = 0; l < 32; ++l) {
        int v = (q[l] >> shift) & 0xF;
        if constexpr (T == DType::q5_K) v |= ((b[16 + l] >> s) & 1) << 4;
        out[s * 32 + l] = add_rn(mul_rn(ds, static_cast<double>(v)), -dm);
      }
    }
  } else if constexpr (T == DType::q6_K) {
    const double d = quant_f16(b, 208);
    for (int g = 0; g < 16; ++g) {  // 16 elements per scale
      const double ds = mul_rn(d, static_cast<double>(static_cast<int8_t>(b[192 + g])));
      for (int j = g * 16; j < g * 16 + 16; ++j) {
        const int h = j / 128, k = (j % 128) / 32, l = j % 32;
        const int lo = (b[h * 64 + l + 32 * (k % 2)] >> (4 * (k / 2))) & 0xF;
        const int hi = (b[128 + h * 32 + l] >> (2 * k)) & 3;
        out[j] = mul_rn(ds, static_cast<double>((lo | (hi << 4)) - 32));
      }
    }
  } else {
    constexpr int n = T >= DType::q2_K ? 256 : 32;
    for (int j = 0; j < n; ++j) out[j] = quant_value_t<T>(b, j);
  }
}

WD_HD bool is_block_type(DType t) {
  return t >= DType::q4_0 && t <= DType::q6_K;
}
WD_HD int block_elems(DType t) {
  return t >= DType::q2_K ? 256 : t >= DType::q4_0 ? 32 : 1;
}
WD_HD int block_bytes(DType t) {
  switch (t) {
    case DType::q4_0: return 18;
    case DType::q4_1: return 20;
    case DType::q5_0: return 22;
    case DType::q5_1: return 24;
    case DType::q8_0: return 34;
    case DType::q2_K: return 84;
    case DType::q3_K: return 110;
    case DType::q4_K: return 144;
    case DType::q5_K: return 176;
    case DType::q6_K: return 210;
    default: return 0;
  }
}

// Calls f.template run<T>() with T the block type t (one switch for every
// caller that wants the type's loops compiled per type; t must be one).
template <class F>
WD_HD void with_block_type(DType t, F& f) {
  switch (t) {
    case DType::q4_0: return f.template run<DType::q4_0>();
    case DType::q4_1: return f.template run<DType::q4_1>();
    case DType::q5_0: return f.template run<DType::q5_0>();
    case DType::q5_1: return f.template run<DType::q5_1>();
    case DType::q8_0: return f.template run<DType::q8_0>();
    case DType::q2_K: return f.template run<DType::q2_K>();
    case DType::q3_K: return f.template run<DType::q3_K>();
    case DType::q4_K: return f.template run<DType::q4_K>();
    case DType::q5_K: return f.template run<DType::q5_K>();
    default: return f.template run<DType::q6_K>();
  }
}

struct QuantValueOp {
  const uint8_t* blk;
  int j;
  double v;
  template <DType T>
  WD_HD void run() { v = quant_value_t<T>(blk, j); }
};

// Element j of the block at blk, for a block type chosen at run time.
WD_HD double quant_value(DType t, const uint8_t* blk, int j) {
  if (!is_block_type(t)) return f64_nan();
  QuantValueOp op{blk, j, 0.0};
  with_block_type(t, op);
  return op.v;
}

// Element e counted from the block at base (base is the first byte of a
// block; e may run into later blocks).
WD_HD double block_elem_value(DType t, const uint8_t* base, uint64_t e) {
  const uint64_t be = static_cast<uint64_t>(block_elems(t));
  return quant_value(t, base + e / be * static_cast<uint64_t>(block_bytes(t)), static_cast<int>(e % be));
}

}  // namespace weightdiff::backend
