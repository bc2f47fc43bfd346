// The narrow fast path of the fused CPU pass (narrow_block.hpp): bf16, f16
// and f32 pairs decoded to float32 once, value-side work in float32 vectors of 8,
// float64 work one half-group at a time so that every accumulator stays in
// a register (the float64 block pass keeps 2 x 21 vectors live on AVX2 and
// spills most of them, which made it store-bound).
//
// Built with -ffp-contract=off: the tolerance test and every product are
// separately rounded, as on every other path (SPEC §2).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "backend/cpu/narrow_block.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/highway.h>

#include "backend/cpu/decode_simd.hpp"
#include "backend/cpu/narrow_block.hpp"
#include "backend/element.hpp"

HWY_BEFORE_NAMESPACE();
namespace weightdiff::cpu::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using DF = hn::CappedTag<float, kLanes>;  // 8 float lanes (4 on 128-bit targets)
using DU = hn::RebindToUnsigned<DF>;
using VF = hn::Vec<DF>;
using VU = hn::Vec<DU>;
constexpr size_t NF = hn::MaxLanes(DF());
constexpr size_t KF = kLanes / NF;

using DD = hn::ScalableTag<double>;
using DH = hn::Rebind<float, DD>;  // the floats one double vector widens
using DDU = hn::RebindToUnsigned<DD>;
using VD = hn::Vec<DD>;
constexpr size_t ND = hn::MaxLanes(DD());
constexpr size_t KD = kLanes / ND;
static_assert(kLanes % NF == 0 && kLanes % ND == 0, "8 lanes must split into whole vectors");

constexpr size_t kGroups = kBlock / kLanes;

// What pass 1 leaves for the counting in pass 2: value codes (sign << 8 |
// exponent field of the float32) and, per group, which elements' b code
// differs from a's.
struct Codes {
  alignas(64) uint32_t a[kBlock];
  alignas(64) uint32_t b[kBlock];
  uint8_t moved[kGroups];
};

// The block's values as float32, both sides. Scalar tail for targets whose
// vectors do not divide n (AVX-512: 16 floats).
void decode_f32(DType t, const std::byte* src, size_t n, float* out) {
  size_t i = decode_simd_f32(t, src, n, out);
  for (; i < n; ++i) {
    const auto bits = static_cast<uint32_t>(backend::load_elem_bits(t, reinterpret_cast<const uint8_t*>(src), i));
    out[i] = static_cast<float>(backend::value_of(t, bits));
  }
}

// Pass 1, float32: min/max (the same per-lane rule as the float64 pass:
// Min(x, acc) keeps acc on ties, so the sign of a zero extreme is the
// same), equal pairs, value codes. Returns false when some value is
// non-finite or a float32 subnormal (a bf16 subnormal: its float32
// exponent field does not give its bin).
bool values_pass(const NarrowValues& v, size_t n, BlockLanes& out, Codes& codes) {
  const DF df;
  const DU du;
  VF min_a[KF], max_a[KF], min_b[KF], max_b[KF];
  for (size_t k = 0; k < KF; ++k) {
    min_a[k] = min_b[k] = hn::Set(df, HUGE_VALF);
    max_a[k] = max_b[k] = hn::Set(df, -HUGE_VALF);
  }
  // Magnitude bits: min of (m - 1) wraps zeros to the top, so it is below
  // 0x7FFFFF only for a subnormal; max of m reaches 0x7F800000 only for
  // Inf/NaN.
  const VU mag = hn::Set(du, 0x7FFFFFFFu), one = hn::Set(du, 1u);
  VU low = hn::Set(du, 0xFFFFFFFFu), high = hn::Zero(du);
  const hn::RebindToSigned<DF> di;
  auto eq = hn::Zero(di);  // equal pairs per lane (lane masks are -1)
  for (size_t g = 0; g < n / kLanes; ++g) {
    uint32_t moved = 0;
    for (size_t k = 0; k < KF; ++k) {
      const size_t j = g * kLanes + k * NF;
      const VF a = hn::Load(df, v.a + j), b = hn::Load(df, v.b + j);
      min_a[k] = hn::Min(a, min_a[k]), max_a[k] = hn::Max(a, max_a[k]);
      min_b[k] = hn::Min(b, min_b[k]), max_b[k] = hn::Max(b, max_b[k]);
      eq = hn::Sub(eq, hn::BitCast(di, hn::VecFromMask(df, hn::Eq(a, b))));
      const VU ua = hn::BitCast(du, a), ub = hn::BitCast(du, b);
      const VU ma = hn::And(ua, mag), mb = hn::And(ub, mag);
      low = hn::Min(low, hn::Min(hn::Sub(ma, one), hn::Sub(mb, one)));
      high = hn::Max(high, hn::Max(ma, mb));
      const VU ca = hn::ShiftRight<23>(ua), cb = hn::ShiftRight<23>(ub);
      hn::Store(ca, du, codes.a + j);
      hn::Store(cb, du, codes.b + j);
      uint8_t bits[8] = {};
      hn::StoreMaskBits(du, hn::Ne(ca, cb), bits);
      moved |= static_cast<uint32_t>(bits[0]) << (k * NF);
    }
    codes.moved[g] = static_cast<uint8_t>(moved);
  }
  const uint32_t lowest = hn::GetLane(hn::MinOfLanes(du, low));
  const uint32_t highest = hn::GetLane(hn::MaxOfLanes(du, high));
  if (lowest < 0x7FFFFFu || highest >= 0x7F800000u) return false;

  for (size_t k = 0; k < KF; ++k) {
    alignas(64) float t[4][NF];
    hn::Store(min_a[k], df, t[0]), hn::Store(max_a[k], df, t[1]);
    hn::Store(min_b[k], df, t[2]), hn::Store(max_b[k], df, t[3]);
    for (size_t l = 0; l < NF; ++l) {
      out.min_a[k * NF + l] = t[0][l], out.max_a[k * NF + l] = t[1][l];
      out.min_b[k * NF + l] = t[2][l], out.max_b[k * NF + l] = t[3][l];
    }
  }
  for (size_t l = 0; l < kLanes; ++l) {
    out.n_nan_a[l] = out.n_nan_b[l] = out.n_inf_a[l] = out.n_inf_b[l] = 0;
    out.n_fin[l] = out.n_eq[l] = 0;
  }
  out.n_fin[0] = static_cast<int64_t>(n);
  alignas(64) int32_t e[NF];
  hn::Store(eq, di, e);
  for (size_t l = 0; l < NF; ++l) out.n_eq[0] += e[l];
  return true;
}

// Counts one value code per element of [j, j + ND) into a's counters, and
// b's corrections of group g once (from its first half-group).
HWY_INLINE void count_values(const NarrowCounts& c, const Codes& codes, size_t j, size_t g, size_t k) {
  for (size_t e = 0; e < ND; ++e) {
    ++c.a[(j + e) % kNarrowCopies * kValueCodes + codes.a[j + e]];
  }
  if (k != 0 || codes.moved[g] == 0) return;
  for (uint32_t m = codes.moved[g]; m != 0; m &= m - 1) {
    const size_t e = g * kLanes + static_cast<size_t>(__builtin_ctz(m));
    ++c.b_plus[codes.b[e]];
    ++c.b_minus[codes.a[e]];
  }
}

HWY_INLINE void store_half(VD v, double* out, size_t k) { hn::StoreU(v, DD(), out + k * ND); }

// Pass 2a, float64, half-group k: the sums of a and b, their squares and
// products, and max |d|/|a| (threshold test as in the float64 pass: only
// candidates pay for the exact division). Counts a's values meanwhile.
void sums_pass(const NarrowValues& v, size_t n, const NarrowArgs& args, const Codes& codes,
               BlockLanes& out) {
  const DD dd;
  const DH dh;
  const VD factor = hn::Set(dd, 1.0 - 0x1p-50), zero = hn::Zero(dd);
  for (size_t k = 0; k < KD; ++k) {
    VD s_a = zero, s_b = zero, s_sq_a = zero, s_sq_b = zero, s_dot = zero;
    VD mrel = hn::Set(dd, args.max_rel_seed);
    VD scaled = hn::Mul(mrel, factor);  // mrel * (1 - 2^-50), rounded
    for (size_t g = 0; g < n / kLanes; ++g) {
      const size_t j = g * kLanes + k * ND;
      const VD a = hn::PromoteTo(dd, hn::LoadU(dh, v.a + j));
      const VD b = hn::PromoteTo(dd, hn::LoadU(dh, v.b + j));
      s_a = hn::Add(s_a, a);
      s_b = hn::Add(s_b, b);
      s_dot = hn::Add(s_dot, hn::Mul(a, b));
      s_sq_a = hn::Add(s_sq_a, hn::Mul(a, a));
      s_sq_b = hn::Add(s_sq_b, hn::Mul(b, b));
      const VD aa = hn::Abs(a), ad = hn::Abs(hn::Sub(b, a));
      // Strictly above the threshold (the float64 pass has >=, and rounds
      // mrel * |a| before scaling): fl(fl(mrel (1 - 2^-50)) |a|) is below
      // mrel * |a| exactly (two roundings of 2^-53 each; no underflow:
      // |a| >= 2^-126 and a positive mrel >= 2^-149 / 2^128 here), so a new
      // maximum is still a candidate, and a lane whose maximum is 0
      // (unchanged weights: d == 0 everywhere) is not one at every element.
      const VD threshold = hn::Mul(scaled, aa);
      const auto rel_ok = hn::Ne(aa, zero);
      const auto cand = hn::And(rel_ok, hn::Gt(ad, threshold));
      if (HWY_UNLIKELY(!hn::AllFalse(dd, cand))) {
        const VD rel = hn::Div(ad, hn::IfThenElse(rel_ok, aa, hn::Set(dd, 1.0)));
        mrel = hn::IfThenElse(hn::And(cand, hn::Gt(rel, mrel)), rel, mrel);
        scaled = hn::Mul(mrel, factor);
      }
      count_values(args.counts, codes, j, g, k);
    }
    store_half(s_a, out.s_a, k);
    store_half(s_b, out.s_b, k);
    store_half(s_dot, out.s_dot, k);
    store_half(s_sq_a, out.s_sq_a, k);
    store_half(s_sq_b, out.s_sq_b, k);
    store_half(mrel, out.mrel, k);
  }
}

// Pass 2b, float64, half-group k: |d| sums, the tolerance test, max |d|
// with its first index per lane, and |d|'s histogram (float64 exponent
// codes, as the float64 pass counts them).
void diff_pass(const NarrowValues& v, size_t n, const NarrowArgs& args, BlockLanes& out) {
  const DD dd;
  const DH dh;
  const DDU ddu;
  const NarrowCounts& c = args.counts;
  const VD atol = hn::Set(dd, args.atol), rtol = hn::Set(dd, args.rtol), zero = hn::Zero(dd);
  const VD step = hn::Set(dd, static_cast<double>(kLanes));
  const hn::RebindToSigned<DD> ddi;
  auto mis = hn::Zero(ddi);  // failures per lane (lane masks are -1)
  for (size_t k = 0; k < KD; ++k) {
    VD s_abs = zero, s_sq_d = zero, mx = hn::Set(dd, -1.0), mx_i = zero;
    VD idx = hn::Iota(dd, static_cast<double>(k * ND));
    for (size_t g = 0; g < n / kLanes; ++g) {
      const size_t j = g * kLanes + k * ND;
      const VD a = hn::PromoteTo(dd, hn::LoadU(dh, v.a + j));
      const VD b = hn::PromoteTo(dd, hn::LoadU(dh, v.b + j));
      const VD ad = hn::Abs(hn::Sub(b, a));
      s_abs = hn::Add(s_abs, ad);
      s_sq_d = hn::Add(s_sq_d, hn::Mul(ad, ad));
      const VD tol = hn::Add(atol, hn::Mul(rtol, hn::Abs(a)));  // two roundings: no FMA
      mis = hn::Sub(mis, hn::BitCast(ddi, hn::VecFromMask(dd, hn::Not(hn::Le(ad, tol)))));
      const auto better = hn::Gt(ad, mx);  // strictly: each lane keeps its first index
      mx = hn::IfThenElse(better, ad, mx);
      mx_i = hn::IfThenElse(better, idx, mx_i);
      idx = hn::Add(idx, step);
      const auto code = hn::ShiftRight<52>(hn::BitCast(ddu, ad));
      if (hn::AllTrue(ddu, hn::Eq(code, hn::Zero(ddu)))) {  // unchanged weights: one update
        c.d[0] += static_cast<uint32_t>(ND);
        continue;
      }
      alignas(64) uint64_t cd[ND];
      hn::Store(code, ddu, cd);
      for (size_t e = 0; e < ND; ++e) ++c.d[(j + e) % kNarrowCopies * kAbsCodes + cd[e]];
    }
    store_half(s_abs, out.s_abs, k);
    store_half(s_sq_d, out.s_sq_d, k);
    store_half(mx, out.mx, k);
    store_half(mx_i, out.mx_i, k);
  }
  alignas(64) int64_t m[ND];
  hn::Store(mis, ddi, m);
  for (size_t l = 0; l < kLanes; ++l) out.n_mis[l] = 0;
  for (size_t l = 0; l < ND; ++l) out.n_mis[0] += m[l];
}

bool NarrowBlock(const NarrowArgs& args, NarrowValues& v, BlockLanes& out) {
  decode_f32(args.type_a, args.a, args.n, v.a);
  decode_f32(args.type_b, args.b, args.n, v.b);
  static thread_local Codes codes;
  if (!values_pass(v, args.n, out, codes)) return false;
  sums_pass(v, args.n, args, codes, out);
  diff_pass(v, args.n, args, out);
  return true;
}

// Centered squares around the block means, lane for lane as block_moments.
void NarrowMoments(const NarrowValues& v, size_t n, double mean_a, double mean_b, BlockLanes& out) {
  const DD dd;
  const DH dh;
  const VD ma = hn::Set(dd, mean_a), mb = hn::Set(dd, mean_b);
  for (size_t k = 0; k < KD; ++k) {
    VD m2a = hn::Zero(dd), m2b = hn::Zero(dd);
    for (size_t g = 0; g < n / kLanes; ++g) {
      const size_t j = g * kLanes + k * ND;
      const VD ca = hn::Sub(hn::PromoteTo(dd, hn::LoadU(dh, v.a + j)), ma);
      const VD cb = hn::Sub(hn::PromoteTo(dd, hn::LoadU(dh, v.b + j)), mb);
      m2a = hn::Add(m2a, hn::Mul(ca, ca));
      m2b = hn::Add(m2b, hn::Mul(cb, cb));
    }
    store_half(m2a, out.m2_a, k);
    store_half(m2b, out.m2_b, k);
  }
}

}  // namespace weightdiff::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace weightdiff::cpu {

HWY_EXPORT(NarrowBlock);
HWY_EXPORT(NarrowMoments);

bool narrow_block(const NarrowArgs& args, NarrowValues& v, BlockLanes& out) {
  return HWY_DYNAMIC_DISPATCH(NarrowBlock)(args, v, out);
}

void narrow_moments(const NarrowValues& v, size_t n, double mean_a, double mean_b, BlockLanes& out) {
  HWY_DYNAMIC_DISPATCH(NarrowMoments)(v, n, mean_a, mean_b, out);
}

}  // namespace weightdiff::cpu
#endif  // HWY_ONCE
