#include "reference_quant.hpp"

#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

namespace wdtest {
namespace {

using weightdiff::DType;

// IEEE binary16 by its fields, with std::ldexp (not src/'s bit tricks).
double half(const uint8_t* p) {
  const unsigned h = p[0] | (p[1] << 8);
  const int e = (h >> 10) & 31, m = h & 1023;
  const double sign = (h & 0x8000) ? -1.0 : 1.0;
  if (e == 31) return m ? std::numeric_limits<double>::quiet_NaN() : sign * INFINITY;
  if (e == 0) return sign * std::ldexp(m, -24);
  return sign * std::ldexp(1024 + m, e - 25);
}

// ggml's get_scale_min_k4.
void scale_min_k4(int j, const uint8_t* q, int& d, int& m) {
  if (j < 4) {
    d = q[j] & 63;
    m = q[j + 4] & 63;
  } else {
    d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    m = (q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4);
  }
}

// One block of type t at x into y (elems values), as dequantize_row_* loops.
void block(DType t, const uint8_t* x, double* y) {
  switch (t) {
    case DType::q4_0: case DType::q4_1: {
      const bool one = t == DType::q4_1;
      const double d = half(x), m = one ? half(x + 2) : 0.0;
      const uint8_t* qs = x + (one ? 4 : 2);
      for (int j = 0; j < 16; ++j) {
        const int x0 = (qs[j] & 0x0F) - (one ? 0 : 8), x1 = (qs[j] >> 4) - (one ? 0 : 8);
        y[j] = one ? x0 * d + m : x0 * d;
        y[j + 16] = one ? x1 * d + m : x1 * d;
      }
      return;
    }
    case DType::q5_0: case DType::q5_1: {
      const bool one = t == DType::q5_1;
      const double d = half(x), m = one ? half(x + 2) : 0.0;
      uint32_t qh;
      std::memcpy(&qh, x + (one ? 4 : 2), 4);
      const uint8_t* qs = x + (one ? 8 : 6);
      for (int j = 0; j < 16; ++j) {
        const uint8_t xh_0 = ((qh >> (j + 0)) << 4) & 0x10;
        const uint8_t xh_1 = ((qh >> (j + 12))) & 0x10;
        const int x0 = ((qs[j] & 0x0F) | xh_0) - (one ? 0 : 16);
        const int x1 = ((qs[j] >> 4) | xh_1) - (one ? 0 : 16);
        y[j] = one ? x0 * d + m : x0 * d;
        y[j + 16] = one ? x1 * d + m : x1 * d;
      }
      return;
    }
    case DType::q8_0: {
      const double d = half(x);
      for (int j = 0; j < 32; ++j) y[j] = static_cast<int8_t>(x[2 + j]) * d;
      return;
    }
    case DType::q2_K: {
      const uint8_t* sc = x;
      const uint8_t* q = x + 16;
      const double d = half(x + 80), min = half(x + 82);
      int is = 0;
      for (int n = 0; n < 256; n += 128) {
        int shift = 0;
        for (int j = 0; j < 4; ++j) {
          for (int half16 = 0; half16 < 2; ++half16) {
            const uint8_t s = sc[is++];
            const double dl = d * (s & 0xF), ml = min * (s >> 4);
            for (int l = 0; l < 16; ++l) *y++ = dl * ((q[l + 16 * half16] >> shift) & 3) - ml;
          }
          shift += 2;
        }
        q += 32;
      }
      return;
    }
    case DType::q3_K: {
      const uint8_t* hm = x;
      const uint8_t* q = x + 32;
      const double d_all = half(x + 108);
      uint32_t aux[4];
      std::memcpy(aux, x + 96, 12);
      const uint32_t kmask1 = 0x03030303, kmask2 = 0x0f0f0f0f, tmp = aux[2];
      aux[2] = ((aux[0] >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4);
      aux[3] = ((aux[1] >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4);
      aux[0] = (aux[0] & kmask2) | (((tmp >> 0) & kmask1) << 4);
      aux[1] = (aux[1] & kmask2) | (((tmp >> 2) & kmask1) << 4);
      int8_t scales[16];
      std::memcpy(scales, aux, 16);
      int is = 0;
      uint8_t m = 1;
      for (int n = 0; n < 256; n += 128) {
        int shift = 0;
        for (int j = 0; j < 4; ++j) {
          for (int half16 = 0; half16 < 2; ++half16) {
            const double dl = d_all * (scales[is++] - 32);
            for (int l = 0; l < 16; ++l) {
              const int k = l + 16 * half16;
              *y++ = dl * (((q[k] >> shift) & 3) - ((hm[k] & m) ? 0 : 4));
            }
          }
          shift += 2;
          m <<= 1;
        }
        q += 32;
      }
      return;
    }
    case DType::q4_K: case DType::q5_K: {
      const bool five = t == DType::q5_K;
      const double d = half(x), min = half(x + 2);
      const uint8_t* scales = x + 4;
      const uint8_t* qh = x + 16;
      const uint8_t* ql = x + (five ? 48 : 16);
      int is = 0;
      uint8_t u1 = 1, u2 = 2;
      for (int j = 0; j < 256; j += 64) {
        int sc, m;
        scale_min_k4(is + 0, scales, sc, m);
        const double d1 = d * sc, m1 = min * m;
        scale_min_k4(is + 1, scales, sc, m);
        const double d2 = d * sc, m2 = min * m;
        for (int l = 0; l < 32; ++l) *y++ = d1 * ((ql[l] & 0xF) + (five && (qh[l] & u1) ? 16 : 0)) - m1;
        for (int l = 0; l < 32; ++l) *y++ = d2 * ((ql[l] >> 4) + (five && (qh[l] & u2) ? 16 : 0)) - m2;
        ql += 32;
        is += 2;
        u1 <<= 2;
        u2 <<= 2;
      }
      return;
    }
    case DType::q6_K: {
      const uint8_t* ql = x;
      const uint8_t* qh = x + 128;
      const auto* sc = reinterpret_cast<const int8_t*>(x + 192);
      const double d = half(x + 208);
      for (int n = 0; n < 256; n += 128) {
        for (int l = 0; l < 32; ++l) {
          const int is = l / 16;
          const int q1 = ((ql[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
          const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
          const int q3 = ((ql[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
          const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
          y[l + 0] = d * sc[is + 0] * q1;
          y[l + 32] = d * sc[is + 2] * q2;
          y[l + 64] = d * sc[is + 4] * q3;
          y[l + 96] = d * sc[is + 6] * q4;
        }
        y += 128;
        ql += 64;
        qh += 32;
        sc += 8;
      }
      return;
    }
    default: throw std::logic_error("reference_dequantize: not a block type");
  }
}

uint16_t random_half(std::mt19937_64& rng) {
  const int r = static_cast<int>(rng() % 200);
  if (r == 0) return 0x7E00;  // NaN
  if (r == 1) return 0x7C00;  // +Inf
  if (r == 2) return 0xFC00;  // -Inf
  if (r == 3) return 0x0000;
  if (r == 4) return 0x8000;
  if (r == 5) return static_cast<uint16_t>(rng() % 1024 | (rng() % 2) << 15);  // subnormal
  // Moderate magnitudes, 2^-14 .. 2^0: exponent field 1 .. 15.
  const uint32_t e = 1 + static_cast<uint32_t>(rng() % 15);
  return static_cast<uint16_t>(((rng() % 2) << 15) | (e << 10) | (rng() % 1024));
}

}  // namespace

QuantGeometry quant_geometry(DType t) {
  switch (t) {
    case DType::q4_0: return {32, 18, {0}};
    case DType::q4_1: return {32, 20, {0, 2}};
    case DType::q5_0: return {32, 22, {0}};
    case DType::q5_1: return {32, 24, {0, 2}};
    case DType::q8_0: return {32, 34, {0}};
    case DType::q2_K: return {256, 84, {80, 82}};
    case DType::q3_K: return {256, 110, {108}};
    case DType::q4_K: return {256, 144, {0, 2}};
    case DType::q5_K: return {256, 176, {0, 2}};
    case DType::q6_K: return {256, 210, {208}};
    default: throw std::logic_error("quant_geometry: not a block type");
  }
}

std::vector<double> reference_dequantize(DType t, const std::vector<uint8_t>& bytes, uint64_t n) {
  const QuantGeometry g = quant_geometry(t);
  const uint64_t blocks = (n + g.elems - 1) / g.elems;
  if (bytes.size() < blocks * g.bytes) throw std::logic_error("reference_dequantize: too few bytes");
  std::vector<double> out(blocks * g.elems);
  for (uint64_t b = 0; b < blocks; ++b) block(t, bytes.data() + b * g.bytes, out.data() + b * g.elems);
  out.resize(n);
  return out;
}

std::vector<uint8_t> random_blocks(DType t, uint64_t n, std::mt19937_64& rng, const std::vector<uint8_t>* like) {
  const QuantGeometry g = quant_geometry(t);
  const uint64_t blocks = (n + g.elems - 1) / g.elems;
  std::vector<uint8_t> out(blocks * g.bytes);
  for (uint64_t b = 0; b < blocks; ++b) {
    uint8_t* p = out.data() + b * g.bytes;
    const int r = static_cast<int>(rng() % 8);
    if (like && r < 2) {  // a copy: every element ties
      std::memcpy(p, like->data() + b * g.bytes, g.bytes);
      continue;
    }
    if (like && r == 2) {  // a copy but for one byte
      std::memcpy(p, like->data() + b * g.bytes, g.bytes);
      p[rng() % g.bytes] ^= static_cast<uint8_t>(1 + rng() % 255);
      continue;
    }
    for (unsigned i = 0; i < g.bytes; ++i) p[i] = static_cast<uint8_t>(rng());
    for (const unsigned f : g.f16_fields) {
      const uint16_t h = random_half(rng);
      p[f] = static_cast<uint8_t>(h & 0xFF);
      p[f + 1] = static_cast<uint8_t>(h >> 8);
    }
  }
  return out;
}

}  // namespace wdtest
