// Built with -ffp-contract=off: the tolerance test and every product are
// separately rounded, as on every other backend (SPEC §2).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "backend/cpu/fused_block.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/highway.h>

#include "backend/cpu/fused_block.hpp"

HWY_BEFORE_NAMESPACE();
namespace weightdiff::cpu::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

using D = hn::ScalableTag<double>;
using DI = hn::RebindToSigned<D>;
using V = hn::Vec<D>;
using VI = hn::Vec<DI>;
using M = hn::Mask<D>;
constexpr size_t N = hn::MaxLanes(D());
static_assert(kLanes % N == 0, "8 lanes must split into whole vectors");
constexpr size_t K = kLanes / N;  // vectors per 8-lane group

// -1 for true lanes, as int64 (counts subtract it).
HWY_INLINE VI mask_i(M m) { return hn::BitCast(DI(), hn::VecFromMask(D(), m)); }

struct StatsAcc {
  VI n_fin[K], n_eq[K], n_mis[K], n_nan_a[K], n_nan_b[K], n_inf_a[K], n_inf_b[K];
  V s_abs[K], s_sq_d[K], s_dot[K], s_sq_a[K], s_sq_b[K], s_a[K], s_b[K];
  V min_a[K], max_a[K], min_b[K], max_b[K], mx[K], mx_i[K], mrel[K];
  // Counts of the fast path, on the scalar ports (counts are exact integers:
  // which lane holds them does not matter).
  size_t fast_fin = 0, fast_eq = 0, fast_mis = 0;
};

using DU = hn::RebindToUnsigned<D>;
using VU = hn::Vec<DU>;

// sign << 11 | biased exponent of each lane.
HWY_INLINE VU exp_code(V x) { return hn::ShiftRight<52>(hn::BitCast(DU(), x)); }

// f64 inputs only: subnormal -> exponent code 1 (keeping the sign).
HWY_INLINE VU fix_subnormal(VU code, V x) {
  const DU du;
  const hn::Mask<DU> sub = hn::And(hn::Eq(hn::And(code, hn::Set(du, uint64_t{0x7FF})), hn::Zero(du)),
                                   hn::RebindMask(du, hn::Ne(x, hn::Zero(D()))));
  return hn::IfThenElse(sub, hn::Or(code, hn::Set(du, uint64_t{1})), code);
}

// kFast: every lane live and both sides finite (the common case: no masks).
// kGeneral: every lane live. kTail: `live` masks lanes past the block's end.
enum class Mode { kFast, kGeneral, kTail };

template <Mode kMode, bool kF64>
HWY_INLINE void stats_step(StatsAcc& s, BlockSlots& slots, size_t j, size_t k, V a, V b, V idx,
                           V atol, V rtol, M live) {
  const D d;
  const V aa = hn::Abs(a), ab = hn::Abs(b);
  const V ad = hn::Abs(hn::Sub(b, a));
  const V tol = hn::Add(atol, hn::Mul(rtol, aa));  // two roundings: no FMA
  const M within = hn::Le(ad, tol);
  VU cd = exp_code(ad), ca = exp_code(a), cb = exp_code(b);
  V af = a, bf = b, adf = ad;
  M fin = live;
  if constexpr (kMode == Mode::kFast) {
    s.fast_fin += N;
    s.fast_eq += hn::CountTrue(d, hn::Eq(a, b));
    s.fast_mis += N - hn::CountTrue(d, within);
  } else {
    const M fin_a = hn::And(hn::IsFinite(a), live), fin_b = hn::And(hn::IsFinite(b), live);
    fin = hn::And(fin_a, fin_b);
    const M na = hn::IsNaN(a), nb = hn::IsNaN(b);
    const M eq = hn::And(hn::Or(hn::Eq(a, b), hn::And(na, nb)), live);
    const V inf = hn::Set(d, HUGE_VAL);
    // Fails: a finite pair out of tolerance, or a non-finite pair that is not
    // equal (same infinity) nor both NaN.
    const M fail = hn::Or(hn::AndNot(within, fin), hn::AndNot(hn::Or(fin, eq), live));
    s.n_nan_a[k] = hn::Sub(s.n_nan_a[k], mask_i(hn::And(na, live)));
    s.n_nan_b[k] = hn::Sub(s.n_nan_b[k], mask_i(hn::And(nb, live)));
    s.n_inf_a[k] = hn::Sub(s.n_inf_a[k], mask_i(hn::And(hn::Eq(aa, inf), live)));
    s.n_inf_b[k] = hn::Sub(s.n_inf_b[k], mask_i(hn::And(hn::Eq(ab, inf), live)));
    s.n_eq[k] = hn::Sub(s.n_eq[k], mask_i(eq));
    s.n_fin[k] = hn::Sub(s.n_fin[k], mask_i(fin));
    s.n_mis[k] = hn::Sub(s.n_mis[k], mask_i(fail));
    af = hn::IfThenElseZero(fin, a);
    bf = hn::IfThenElseZero(fin, b);
    adf = hn::IfThenElseZero(fin, ad);
    if constexpr (kF64) {
      // |d| of a finite pair may overflow to inf (counted `over`); that of a
      // non-finite pair is not counted.
      const DU du;
      const VU inf_code = hn::Set(du, uint64_t{0x7FF});
      cd = hn::IfThenElse(hn::RebindMask(du, fin), hn::Min(cd, hn::Set(du, uint64_t{0x7FE})),
                          inf_code);
    }
  }
  if constexpr (kF64) {
    cd = fix_subnormal(cd, ad), ca = fix_subnormal(ca, a), cb = fix_subnormal(cb, b);
  }
  const DU du;
  hn::Store(hn::Or(cd, hn::ShiftLeft<16>(ca)), du, slots.packed + j);
  const hn::Mask<DU> moved = hn::And(hn::Ne(ca, cb), hn::RebindMask(du, live));
  if (!hn::AllFalse(du, moved))
    slots.n_moved += hn::CompressStore(hn::Or(ca, hn::ShiftLeft<16>(cb)), moved, du,
                                       slots.moved + slots.n_moved);

  s.s_abs[k] = hn::Add(s.s_abs[k], adf);
  s.s_sq_d[k] = hn::Add(s.s_sq_d[k], hn::Mul(adf, adf));
  s.s_dot[k] = hn::Add(s.s_dot[k], hn::Mul(af, bf));
  s.s_sq_a[k] = hn::Add(s.s_sq_a[k], hn::Mul(af, af));
  s.s_sq_b[k] = hn::Add(s.s_sq_b[k], hn::Mul(bf, bf));
  s.s_a[k] = hn::Add(s.s_a[k], af);
  s.s_b[k] = hn::Add(s.s_b[k], bf);

  if constexpr (kMode == Mode::kFast) {
    // Min(x, acc) keeps acc when equal (x86 minpd returns its second operand
    // for ±0): the same "strictly smaller replaces" rule as the masked form.
    s.min_a[k] = hn::Min(a, s.min_a[k]), s.max_a[k] = hn::Max(a, s.max_a[k]);
    s.min_b[k] = hn::Min(b, s.min_b[k]), s.max_b[k] = hn::Max(b, s.max_b[k]);
  } else {
    s.min_a[k] = hn::IfThenElse(hn::And(fin, hn::Lt(a, s.min_a[k])), a, s.min_a[k]);
    s.max_a[k] = hn::IfThenElse(hn::And(fin, hn::Gt(a, s.max_a[k])), a, s.max_a[k]);
    s.min_b[k] = hn::IfThenElse(hn::And(fin, hn::Lt(b, s.min_b[k])), b, s.min_b[k]);
    s.max_b[k] = hn::IfThenElse(hn::And(fin, hn::Gt(b, s.max_b[k])), b, s.max_b[k]);
  }

  // Strictly greater: each lane keeps the first (smallest) index of its max.
  const M better = hn::And(fin, hn::Gt(ad, s.mx[k]));
  s.mx[k] = hn::IfThenElse(better, ad, s.mx[k]);
  s.mx_i[k] = hn::IfThenElse(better, idx, s.mx_i[k]);

  // max |d|/|a| without a division per element: fl(ad/aa) > mrel implies
  // ad > mrel*aa (exact), so a threshold a few ulps below fl(mrel*aa) never
  // misses a new maximum; only candidate vectors (rare once a lane has seen
  // its large ratios) pay for the exact division.
  const M rel_ok = hn::And(fin, hn::Ne(aa, hn::Zero(d)));
  const V threshold = hn::Mul(hn::Mul(s.mrel[k], aa), hn::Set(d, 1.0 - 0x1p-50));
  const M cand = hn::And(rel_ok, hn::Ge(ad, threshold));
  if (HWY_UNLIKELY(!hn::AllFalse(d, cand))) {
    const V rel = hn::Div(ad, hn::IfThenElse(rel_ok, aa, hn::Set(d, 1.0)));
    s.mrel[k] = hn::IfThenElse(hn::And(cand, hn::Gt(rel, s.mrel[k])), rel, s.mrel[k]);
  }
}

template <typename T, size_t kK, class DD, class VV>
HWY_INLINE void store_lanes(DD dd, const VV (&v)[kK], T* out) {
  for (size_t k = 0; k < kK; ++k) hn::StoreU(v[k], dd, out + k * N);
}

template <Mode kMode, bool kF64>
HWY_INLINE void stats_group(StatsAcc& s, BlockSlots& slots, const BlockArgs& args, size_t i,
                            V iota, V atol, V rtol) {
  const D d;
  for (size_t k = 0; k < K; ++k) {
    const size_t j = i + k * N;
    const size_t left = args.n > j ? args.n - j : 0;
    const M live = kMode == Mode::kTail ? hn::FirstN(d, left < N ? left : N) : hn::FirstN(d, N);
    stats_step<kMode, kF64>(s, slots, j, k, hn::LoadU(d, args.a + j), hn::LoadU(d, args.b + j),
                            hn::Add(iota, hn::Set(d, static_cast<double>(j))), atol, rtol, live);
  }
}

// Counts the 8 elements of a group from their packed codes (scalar work
// that the out-of-order core overlaps with the next group's vector work).
HWY_INLINE void count_group(const CountTargets& c, const uint64_t* packed, size_t n) {
  uint64_t any_d = 0;
  for (size_t e = 0; e < n; ++e) {
    const size_t copy = e % kCountCopies;
    ++c.a[copy * c.v_width + c.value_slot[(packed[e] >> 16) & 0xFFF]];
    any_d |= packed[e] & 0x7FF;
  }
  // Unchanged weights (whole tensors, often, after a finetune) give d == 0:
  // one update for the group instead of one per element.
  if (any_d == 0) {
    c.d[c.abs_slot[0]] += static_cast<uint32_t>(n);
    return;
  }
  for (size_t e = 0; e < n; ++e)
    ++c.d[e % kCountCopies * c.d_width + c.abs_slot[packed[e] & 0x7FF]];
}

HWY_INLINE bool group_all_finite(const BlockArgs& args, size_t i) {
  const D d;
  M all = hn::FirstN(d, N);
  for (size_t k = 0; k < K; ++k) {
    const size_t j = i + k * N;
    all = hn::And(all, hn::And(hn::IsFinite(hn::LoadU(d, args.a + j)),
                               hn::IsFinite(hn::LoadU(d, args.b + j))));
  }
  return hn::AllTrue(d, all);
}

template <bool kF64>
HWY_INLINE void stats_block(StatsAcc& s, BlockSlots& slots, const BlockArgs& args) {
  const D d;
  const V atol = hn::Set(d, args.atol), rtol = hn::Set(d, args.rtol);
  const V iota = hn::Iota(d, 0.0);
  size_t i = 0;
  for (; i + kLanes <= args.n; i += kLanes) {
    // f64 pairs always take the general path: it fixes their |d| codes.
    if (!kF64 && group_all_finite(args, i))
      stats_group<Mode::kFast, kF64>(s, slots, args, i, iota, atol, rtol);
    else
      stats_group<Mode::kGeneral, kF64>(s, slots, args, i, iota, atol, rtol);
    count_group(args.counts, slots.packed + i, kLanes);
  }
  if (i < args.n) {  // partial group: the buffers hold kBlock initialized values
    stats_group<Mode::kTail, kF64>(s, slots, args, i, iota, atol, rtol);
    count_group(args.counts, slots.packed + i, args.n - i);
  }
}

void BlockStats(const BlockArgs& args, BlockLanes& out, BlockSlots& slots) {
  const D d;
  slots.n_moved = 0;
  const DI di;
  StatsAcc s;
  for (size_t k = 0; k < K; ++k) {
    s.n_fin[k] = s.n_eq[k] = s.n_mis[k] = hn::Zero(di);
    s.n_nan_a[k] = s.n_nan_b[k] = s.n_inf_a[k] = s.n_inf_b[k] = hn::Zero(di);
    s.s_abs[k] = s.s_sq_d[k] = s.s_dot[k] = s.s_sq_a[k] = s.s_sq_b[k] = hn::Zero(d);
    s.s_a[k] = s.s_b[k] = hn::Zero(d);
    s.min_a[k] = s.min_b[k] = hn::Set(d, HUGE_VAL);
    s.max_a[k] = s.max_b[k] = hn::Set(d, -HUGE_VAL);
    s.mx[k] = hn::Set(d, -1.0);
    s.mrel[k] = hn::Set(d, args.max_rel_seed);
    s.mx_i[k] = hn::Zero(d);
  }
  if (args.f64_codes)
    stats_block<true>(s, slots, args);
  else
    stats_block<false>(s, slots, args);

  store_lanes(di, s.n_fin, out.n_fin);
  store_lanes(di, s.n_eq, out.n_eq);
  store_lanes(di, s.n_mis, out.n_mis);
  out.n_fin[0] += static_cast<int64_t>(s.fast_fin);
  out.n_eq[0] += static_cast<int64_t>(s.fast_eq);
  out.n_mis[0] += static_cast<int64_t>(s.fast_mis);
  store_lanes(di, s.n_nan_a, out.n_nan_a);
  store_lanes(di, s.n_nan_b, out.n_nan_b);
  store_lanes(di, s.n_inf_a, out.n_inf_a);
  store_lanes(di, s.n_inf_b, out.n_inf_b);
  store_lanes(d, s.s_abs, out.s_abs);
  store_lanes(d, s.s_sq_d, out.s_sq_d);
  store_lanes(d, s.s_dot, out.s_dot);
  store_lanes(d, s.s_sq_a, out.s_sq_a);
  store_lanes(d, s.s_sq_b, out.s_sq_b);
  store_lanes(d, s.s_a, out.s_a);
  store_lanes(d, s.s_b, out.s_b);
  store_lanes(d, s.min_a, out.min_a);
  store_lanes(d, s.max_a, out.max_a);
  store_lanes(d, s.min_b, out.min_b);
  store_lanes(d, s.max_b, out.max_b);
  store_lanes(d, s.mx, out.mx);
  store_lanes(d, s.mx_i, out.mx_i);
  store_lanes(d, s.mrel, out.mrel);
}

// Centered squares around the block means (two-pass within the L1-resident
// block; blocks then merge by Chan's formula): a stable M2.
void BlockMoments(const BlockArgs& args, double mean_a, double mean_b, bool all_finite,
                  BlockLanes& out) {
  const D d;
  V m2a[K], m2b[K];
  for (size_t k = 0; k < K; ++k) m2a[k] = m2b[k] = hn::Zero(d);
  const V ma = hn::Set(d, mean_a), mb = hn::Set(d, mean_b);
  size_t g = 0;
  if (all_finite) {  // no masks needed on the whole groups
    for (; (g + 1) * kLanes <= args.n; ++g)
      for (size_t k = 0; k < K; ++k) {
        const size_t j = g * kLanes + k * N;
        const V ca = hn::Sub(hn::LoadU(d, args.a + j), ma);
        const V cb = hn::Sub(hn::LoadU(d, args.b + j), mb);
        m2a[k] = hn::Add(m2a[k], hn::Mul(ca, ca));
        m2b[k] = hn::Add(m2b[k], hn::Mul(cb, cb));
      }
  }
  const size_t groups = (args.n + kLanes - 1) / kLanes;
  for (; g < groups; ++g)
    for (size_t k = 0; k < K; ++k) {
      const size_t j = g * kLanes + k * N;
      const size_t left = args.n > j ? args.n - j : 0;
      const V a = hn::LoadU(d, args.a + j), b = hn::LoadU(d, args.b + j);
      const M fin = hn::And(hn::FirstN(d, left < N ? left : N),
                            hn::And(hn::IsFinite(a), hn::IsFinite(b)));
      const V ca = hn::IfThenElseZero(fin, hn::Sub(a, ma));
      const V cb = hn::IfThenElseZero(fin, hn::Sub(b, mb));
      m2a[k] = hn::Add(m2a[k], hn::Mul(ca, ca));
      m2b[k] = hn::Add(m2b[k], hn::Mul(cb, cb));
    }
  store_lanes(d, m2a, out.m2_a);
  store_lanes(d, m2b, out.m2_b);
}

}  // namespace weightdiff::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace weightdiff::cpu {

HWY_EXPORT(BlockStats);
HWY_EXPORT(BlockMoments);

int64_t compiled_simd_targets() noexcept { return HWY_TARGETS; }

void block_stats(const BlockArgs& args, BlockLanes& out, BlockSlots& slots) {
  HWY_DYNAMIC_DISPATCH(BlockStats)(args, out, slots);
}

void block_moments(const BlockArgs& args, double mean_a, double mean_b, bool all_finite,
                   BlockLanes& out) {
  HWY_DYNAMIC_DISPATCH(BlockMoments)(args, mean_a, mean_b, all_finite, out);
}

}  // namespace weightdiff::cpu
#endif  // HWY_ONCE
