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
};

template <bool kTail>
HWY_INLINE void stats_step(StatsAcc& s, size_t k, V a, V b, V idx, V atol, V rtol, M live) {
  const D d;
  const V aa = hn::Abs(a), ab = hn::Abs(b);
  M na = hn::IsNaN(a), nb = hn::IsNaN(b);
  M fin = hn::And(hn::IsFinite(a), hn::IsFinite(b));
  M eq = hn::Or(hn::Eq(a, b), hn::And(na, nb));
  const V inf = hn::Set(d, HUGE_VAL);
  M ia = hn::Eq(aa, inf), ib = hn::Eq(ab, inf);
  if constexpr (kTail) {
    na = hn::And(na, live), nb = hn::And(nb, live), fin = hn::And(fin, live);
    eq = hn::And(eq, live), ia = hn::And(ia, live), ib = hn::And(ib, live);
  }
  const V ad = hn::Abs(hn::Sub(b, a));
  const V tol = hn::Add(atol, hn::Mul(rtol, aa));  // two roundings: no FMA
  // Fails: a finite pair out of tolerance, or a non-finite pair that is not
  // equal (same infinity) nor both NaN.
  const M fail = hn::Or(hn::AndNot(hn::Le(ad, tol), fin), hn::AndNot(hn::Or(fin, eq), live));

  s.n_nan_a[k] = hn::Sub(s.n_nan_a[k], mask_i(na));
  s.n_nan_b[k] = hn::Sub(s.n_nan_b[k], mask_i(nb));
  s.n_inf_a[k] = hn::Sub(s.n_inf_a[k], mask_i(ia));
  s.n_inf_b[k] = hn::Sub(s.n_inf_b[k], mask_i(ib));
  s.n_eq[k] = hn::Sub(s.n_eq[k], mask_i(eq));
  s.n_fin[k] = hn::Sub(s.n_fin[k], mask_i(fin));
  s.n_mis[k] = hn::Sub(s.n_mis[k], mask_i(fail));

  const V adf = hn::IfThenElseZero(fin, ad);
  const V af = hn::IfThenElseZero(fin, a);
  const V bf = hn::IfThenElseZero(fin, b);
  s.s_abs[k] = hn::Add(s.s_abs[k], adf);
  s.s_sq_d[k] = hn::Add(s.s_sq_d[k], hn::Mul(adf, adf));
  s.s_dot[k] = hn::Add(s.s_dot[k], hn::Mul(af, bf));
  s.s_sq_a[k] = hn::Add(s.s_sq_a[k], hn::Mul(af, af));
  s.s_sq_b[k] = hn::Add(s.s_sq_b[k], hn::Mul(bf, bf));
  s.s_a[k] = hn::Add(s.s_a[k], af);
  s.s_b[k] = hn::Add(s.s_b[k], bf);

  s.min_a[k] = hn::IfThenElse(hn::And(fin, hn::Lt(a, s.min_a[k])), a, s.min_a[k]);
  s.max_a[k] = hn::IfThenElse(hn::And(fin, hn::Gt(a, s.max_a[k])), a, s.max_a[k]);
  s.min_b[k] = hn::IfThenElse(hn::And(fin, hn::Lt(b, s.min_b[k])), b, s.min_b[k]);
  s.max_b[k] = hn::IfThenElse(hn::And(fin, hn::Gt(b, s.max_b[k])), b, s.max_b[k]);

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
  if (!hn::AllFalse(d, cand)) {
    const V rel = hn::Div(ad, hn::IfThenElse(rel_ok, aa, hn::Set(d, 1.0)));
    s.mrel[k] = hn::IfThenElse(hn::And(cand, hn::Gt(rel, s.mrel[k])), rel, s.mrel[k]);
  }
}

template <typename T, size_t kK, class DD, class VV>
HWY_INLINE void store_lanes(DD dd, const VV (&v)[kK], T* out) {
  for (size_t k = 0; k < kK; ++k) hn::StoreU(v[k], dd, out + k * N);
}

void BlockStats(const BlockArgs& args, BlockLanes& out) {
  const D d;
  const DI di;
  StatsAcc s;
  for (size_t k = 0; k < K; ++k) {
    s.n_fin[k] = s.n_eq[k] = s.n_mis[k] = hn::Zero(di);
    s.n_nan_a[k] = s.n_nan_b[k] = s.n_inf_a[k] = s.n_inf_b[k] = hn::Zero(di);
    s.s_abs[k] = s.s_sq_d[k] = s.s_dot[k] = s.s_sq_a[k] = s.s_sq_b[k] = hn::Zero(d);
    s.s_a[k] = s.s_b[k] = hn::Zero(d);
    s.min_a[k] = s.min_b[k] = hn::Set(d, HUGE_VAL);
    s.max_a[k] = s.max_b[k] = hn::Set(d, -HUGE_VAL);
    s.mx[k] = s.mrel[k] = hn::Set(d, -1.0);
    s.mx_i[k] = hn::Zero(d);
  }
  const V atol = hn::Set(d, args.atol), rtol = hn::Set(d, args.rtol);
  const V iota = hn::Iota(d, 0.0);
  const M all = hn::FirstN(d, N);
  size_t i = 0;
  for (; i + kLanes <= args.n; i += kLanes)
    for (size_t k = 0; k < K; ++k) {
      const size_t j = i + k * N;
      stats_step<false>(s, k, hn::LoadU(d, args.a + j), hn::LoadU(d, args.b + j),
                        hn::Add(iota, hn::Set(d, static_cast<double>(j))), atol, rtol, all);
    }
  if (i < args.n)  // partial group: the buffers hold kBlock initialized values
    for (size_t k = 0; k < K; ++k) {
      const size_t j = i + k * N;
      const size_t left = args.n > j ? args.n - j : 0;
      stats_step<true>(s, k, hn::LoadU(d, args.a + j), hn::LoadU(d, args.b + j),
                       hn::Add(iota, hn::Set(d, static_cast<double>(j))), atol, rtol,
                       hn::FirstN(d, left < N ? left : N));
    }
  store_lanes(di, s.n_fin, out.n_fin);
  store_lanes(di, s.n_eq, out.n_eq);
  store_lanes(di, s.n_mis, out.n_mis);
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

// Slot of |x| by its float64 exponent field: exact for every input type
// (hist lo >= -1022 keeps subnormal doubles in `under`).
HWY_INLINE VI exp_slot(V x, VI bias, VI nbins) {
  const DI di;
  const hn::RebindToUnsigned<D> du;
  const VI biased = hn::BitCast(di, hn::And(hn::ShiftRight<52>(hn::BitCast(du, x)),
                                            hn::Set(du, uint64_t{0x7FF})));
  const VI e = hn::Sub(biased, bias);
  const VI lo = hn::Set(di, -1);
  const VI clamped = hn::IfThenElse(hn::Lt(e, lo), lo, hn::IfThenElse(hn::Gt(e, nbins), nbins, e));
  const VI slot = hn::Add(clamped, hn::Set(di, 2));
  return hn::IfThenZeroElse(hn::RebindMask(di, hn::Eq(x, hn::Zero(D()))), slot);
}

void BlockMoments(const BlockArgs& args, double mean_a, double mean_b, BlockLanes& out,
                  BlockSlots& slots) {
  const D d;
  const DI di;
  V m2a[K], m2b[K];
  for (size_t k = 0; k < K; ++k) m2a[k] = m2b[k] = hn::Zero(d);
  const V ma = hn::Set(d, mean_a), mb = hn::Set(d, mean_b);
  const int64_t stride = args.nbins + 3;
  const VI bias = hn::Set(di, 1023 + args.lo), nb = hn::Set(di, args.nbins);
  const VI vstride = hn::Set(di, stride), discard_v = hn::Set(di, 2 * stride);
  const size_t groups = (args.n + kLanes - 1) / kLanes;
  for (size_t g = 0; g < groups; ++g)
    for (size_t k = 0; k < K; ++k) {
      const size_t j = g * kLanes + k * N;
      const size_t left = args.n > j ? args.n - j : 0;
      const M live = hn::FirstN(d, left < N ? left : N);
      const V a = hn::LoadU(d, args.a + j), b = hn::LoadU(d, args.b + j);
      const M fin_a = hn::And(hn::IsFinite(a), live), fin_b = hn::And(hn::IsFinite(b), live);
      const M fin = hn::And(fin_a, fin_b);
      const V ca = hn::IfThenElseZero(fin, hn::Sub(a, ma));
      const V cb = hn::IfThenElseZero(fin, hn::Sub(b, mb));
      m2a[k] = hn::Add(m2a[k], hn::Mul(ca, ca));
      m2b[k] = hn::Add(m2b[k], hn::Mul(cb, cb));
      // |d| over the finite pairs; each value histogram over its own side's
      // finite values (SPEC §4). Everything else goes to a discard slot.
      const VI sd = exp_slot(hn::Abs(hn::Sub(b, a)), bias, nb);
      const VI sa = hn::Add(exp_slot(a, bias, nb),
                            hn::IfThenElseZero(hn::RebindMask(di, hn::Lt(a, hn::Zero(d))), vstride));
      const VI sb = hn::Add(exp_slot(b, bias, nb),
                            hn::IfThenElseZero(hn::RebindMask(di, hn::Lt(b, hn::Zero(d))), vstride));
      hn::Store(hn::IfThenElse(hn::RebindMask(di, fin), sd, vstride), di, slots.d + j);
      hn::Store(hn::IfThenElse(hn::RebindMask(di, fin_a), sa, discard_v), di, slots.a + j);
      hn::Store(hn::IfThenElse(hn::RebindMask(di, fin_b), sb, discard_v), di, slots.b + j);
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

void block_stats(const BlockArgs& args, BlockLanes& out) {
  HWY_DYNAMIC_DISPATCH(BlockStats)(args, out);
}

void block_moments(const BlockArgs& args, double mean_a, double mean_b, BlockLanes& out,
                   BlockSlots& slots) {
  HWY_DYNAMIC_DISPATCH(BlockMoments)(args, mean_a, mean_b, out, slots);
}

}  // namespace weightdiff::cpu
#endif  // HWY_ONCE
