// Built with -ffp-contract=off: the tolerance test and every product must be
// separately rounded, as on every other backend (SPEC §2).
#include "backend/cpu/fused_kernel.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cfloat>
#include <cmath>
#include <vector>

#include "backend/cpu/decode.hpp"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(__SANITIZE_ADDRESS__)
// One copy of the block loops per ISA level, picked at load time.
#define WD_MULTIVERSION __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define WD_MULTIVERSION
#endif

namespace weightdiff::cpu {
namespace {

constexpr int L = 8;          // accumulator lanes; fixed, whatever the SIMD width
constexpr size_t kBlock = 1024;  // elements decoded at a time (L1-resident)
static_assert(kBlock % L == 0);

// Per-lane accumulators of one block. Counts are kept as doubles (exact below
// 2^53) so that the whole loop stays in one vector type.
struct alignas(64) BlockLanes {
  double n_fin[L], n_eq[L], n_mis[L], n_nan_a[L], n_nan_b[L], n_inf_a[L], n_inf_b[L];
  double s_abs[L], s_sq_d[L], s_dot[L], s_sq_a[L], s_sq_b[L], s_a[L], s_b[L];
  double min_a[L], max_a[L], min_b[L], max_b[L];
  double mx[L], mx_i[L], mrel[L];
  double m2_a[L], m2_b[L];

  void reset() {
    for (int l = 0; l < L; ++l) {
      n_fin[l] = n_eq[l] = n_mis[l] = n_nan_a[l] = n_nan_b[l] = n_inf_a[l] = n_inf_b[l] = 0;
      s_abs[l] = s_sq_d[l] = s_dot[l] = s_sq_a[l] = s_sq_b[l] = s_a[l] = s_b[l] = 0;
      min_a[l] = min_b[l] = INFINITY;
      max_a[l] = max_b[l] = -INFINITY;
      mx[l] = -1.0;
      mx_i[l] = 0;
      mrel[l] = -1.0;
      m2_a[l] = m2_b[l] = 0;
    }
  }
};

// Fixed combination order of the lanes: ((0+1)+(2+3))+((4+5)+(6+7)).
inline double fold(const double (&v)[L]) {
  return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
}

inline bool is_finite(double x) { return std::fabs(x) <= DBL_MAX; }

// The per-element statistics, for element i of the block in lane l.
inline void stats_step(BlockLanes& s, int l, double a, double b, double i, double atol,
                       double rtol) {
  const double aa = std::fabs(a), ab = std::fabs(b);
  const bool na = a != a, nb = b != b;
  const bool fin = aa <= DBL_MAX && ab <= DBL_MAX;
  const bool eq = (a == b) | (na & nb);
  const double d = b - a;
  const double ad = std::fabs(d);
  const double tol = atol + rtol * aa;
  const bool fail = fin ? !(ad <= tol) : !eq;

  s.n_nan_a[l] += na ? 1.0 : 0.0;
  s.n_nan_b[l] += nb ? 1.0 : 0.0;
  s.n_inf_a[l] += aa == INFINITY ? 1.0 : 0.0;
  s.n_inf_b[l] += ab == INFINITY ? 1.0 : 0.0;
  s.n_eq[l] += eq ? 1.0 : 0.0;
  s.n_fin[l] += fin ? 1.0 : 0.0;
  s.n_mis[l] += fail ? 1.0 : 0.0;

  const double adf = fin ? ad : 0.0;
  const double af = fin ? a : 0.0;
  const double bf = fin ? b : 0.0;
  s.s_abs[l] += adf;
  s.s_sq_d[l] += adf * adf;
  s.s_dot[l] += af * bf;
  s.s_sq_a[l] += af * af;
  s.s_sq_b[l] += bf * bf;
  s.s_a[l] += af;
  s.s_b[l] += bf;

  s.min_a[l] = fin && a < s.min_a[l] ? a : s.min_a[l];
  s.max_a[l] = fin && a > s.max_a[l] ? a : s.max_a[l];
  s.min_b[l] = fin && b < s.min_b[l] ? b : s.min_b[l];
  s.max_b[l] = fin && b > s.max_b[l] ? b : s.max_b[l];

  // Strictly greater: each lane keeps the first (smallest) index of its max.
  const bool better = fin && ad > s.mx[l];
  s.mx[l] = better ? ad : s.mx[l];
  s.mx_i[l] = better ? i : s.mx_i[l];

  const double rel = ad / aa;
  const bool rel_better = fin && aa != 0.0 && rel > s.mrel[l];
  s.mrel[l] = rel_better ? rel : s.mrel[l];
}

// Histogram slots: 0 = zero, 1 = under, 2.. = bins, nbins + 2 = over; value
// histograms add `stride` for negative values. Works on the float64 exponent
// field, exact for every input type (hist lo >= -1022 keeps subnormal
// doubles in `under`).
inline uint16_t exp_slot(double x, int lo, int nbins) {
  const uint64_t bits = std::bit_cast<uint64_t>(x);
  int e = static_cast<int>((bits >> 52) & 0x7FF) - 1023 - lo;
  e = e < -1 ? -1 : (e > nbins ? nbins : e);
  return static_cast<uint16_t>(x == 0.0 ? 0 : e + 2);
}

struct Slots {
  uint16_t d[kBlock], a[kBlock], b[kBlock];
};

// Second pass over the L1-resident block: centered squares for a stable M2
// (two-pass within the block, Chan's merge across blocks) and histogram slots.
inline void moments_step(BlockLanes& s, Slots& slots, int l, size_t i, double a, double b,
                         double mean_a, double mean_b, int lo, int nbins) {
  const bool fin = is_finite(a) && is_finite(b);
  const double ca = fin ? a - mean_a : 0.0;
  const double cb = fin ? b - mean_b : 0.0;
  s.m2_a[l] += ca * ca;
  s.m2_b[l] += cb * cb;
  const uint16_t stride = static_cast<uint16_t>(nbins + 3);
  const uint16_t discard_d = stride, discard_v = static_cast<uint16_t>(2 * stride);
  const uint16_t sa = static_cast<uint16_t>(exp_slot(a, lo, nbins) + (a < 0 ? stride : 0));
  const uint16_t sb = static_cast<uint16_t>(exp_slot(b, lo, nbins) + (b < 0 ? stride : 0));
  slots.d[i] = fin ? exp_slot(std::fabs(b - a), lo, nbins) : discard_d;
  slots.a[i] = fin ? sa : discard_v;
  slots.b[i] = fin ? sb : discard_v;
}

struct BlockArgs {
  const double* a;
  const double* b;
  size_t n;
  double atol, rtol;
  int lo, nbins;
};

WD_MULTIVERSION void block_stats(BlockLanes& s, const BlockArgs& args) {
  const size_t main = args.n / L * L;
  for (size_t i = 0; i < main; i += L)
    for (int l = 0; l < L; ++l)
      stats_step(s, l, args.a[i + l], args.b[i + l], static_cast<double>(i + l), args.atol,
                 args.rtol);
  for (size_t i = main; i < args.n; ++i)
    stats_step(s, static_cast<int>(i % L), args.a[i], args.b[i], static_cast<double>(i),
               args.atol, args.rtol);
}

WD_MULTIVERSION void block_moments(BlockLanes& s, Slots& slots, const BlockArgs& args,
                                   double mean_a, double mean_b) {
  const size_t main = args.n / L * L;
  for (size_t i = 0; i < main; i += L)
    for (int l = 0; l < L; ++l)
      moments_step(s, slots, l, i + l, args.a[i + l], args.b[i + l], mean_a, mean_b, args.lo,
                   args.nbins);
  for (size_t i = main; i < args.n; ++i)
    moments_step(s, slots, static_cast<int>(i % L), i, args.a[i], args.b[i], mean_a, mean_b,
                 args.lo, args.nbins);
}

// Histogram counters of one chunk: two interleaved copies so that runs of the
// same bin do not serialize on one memory location.
class ChunkHistograms {
 public:
  explicit ChunkHistograms(int nbins)
      : stride_(nbins + 3), d_(2 * (stride_ + 1)), a_(2 * (2 * stride_ + 1)), b_(a_.size()) {}

  void add(const Slots& s, size_t n) {
    const size_t vd = stride_ + 1, vv = 2 * stride_ + 1;
    size_t i = 0;
    for (; i + 2 <= n; i += 2) {
      ++d_[s.d[i]];
      ++d_[vd + s.d[i + 1]];
      ++a_[s.a[i]];
      ++a_[vv + s.a[i + 1]];
      ++b_[s.b[i]];
      ++b_[vv + s.b[i + 1]];
    }
    for (; i < n; ++i) {
      ++d_[s.d[i]];
      ++a_[s.a[i]];
      ++b_[s.b[i]];
    }
  }

  void store(PairStats& out) const {
    const size_t nb = stride_ - 3, vd = stride_ + 1, vv = 2 * stride_ + 1;
    auto d = [&](size_t k) -> uint64_t { return uint64_t{d_[k]} + d_[vd + k]; };
    out.hist_abs_diff.zero = d(0);
    out.hist_abs_diff.under = d(1);
    out.hist_abs_diff.over = d(nb + 2);
    for (size_t j = 0; j < nb; ++j) out.hist_abs_diff.counts[j] = d(j + 2);
    store_values(a_, vv, out.hist_a);
    store_values(b_, vv, out.hist_b);
  }

 private:
  void store_values(const std::vector<uint32_t>& c, size_t vv, ValueHistogram& h) const {
    const size_t nb = stride_ - 3;
    auto v = [&](size_t k) -> uint64_t { return uint64_t{c[k]} + c[vv + k]; };
    const size_t neg = stride_;
    h.zero = v(0) + v(neg);  // -0.0 lands in slot 0 too; keep the sum for safety
    h.under = v(1) + v(neg + 1);
    h.over = v(nb + 2) + v(neg + nb + 2);
    for (size_t j = 0; j < nb; ++j) {
      h.pos[j] = v(j + 2);
      h.neg[j] = v(neg + j + 2);
    }
  }

  size_t stride_;
  std::vector<uint32_t> d_, a_, b_;
};

}  // namespace

PairStats reduce_chunk(const ChunkInput& in) {
  PairStats out(in.hist);
  out.numel = in.count;
  ChunkHistograms hist(in.hist.bins());
  alignas(64) double a[kBlock];
  alignas(64) double b[kBlock];
  Slots slots;
  BlockLanes s;
  bool have_max = false;

  for (uint64_t off = 0; off < in.count; off += kBlock) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kBlock, in.count - off));
    decode_to_f64(in.dtype_a, in.base_a, in.first + off, n, a);
    decode_to_f64(in.dtype_b, in.base_b, in.first + off, n, b);
    const BlockArgs args{a, b, n, in.atol, in.rtol, in.hist.lo, in.hist.bins()};
    s.reset();
    block_stats(s, args);

    const double n_fin = fold(s.n_fin);
    const double sum_a = fold(s.s_a), sum_b = fold(s.s_b);
    const double mean_a = n_fin > 0 ? sum_a / n_fin : 0.0;
    const double mean_b = n_fin > 0 ? sum_b / n_fin : 0.0;
    block_moments(s, slots, args, mean_a, mean_b);
    hist.add(slots, n);

    out.n_finite += static_cast<uint64_t>(n_fin);
    out.equal += static_cast<uint64_t>(fold(s.n_eq));
    out.mismatched += static_cast<uint64_t>(fold(s.n_mis));
    out.nan_a += static_cast<uint64_t>(fold(s.n_nan_a));
    out.nan_b += static_cast<uint64_t>(fold(s.n_nan_b));
    out.inf_a += static_cast<uint64_t>(fold(s.n_inf_a));
    out.inf_b += static_cast<uint64_t>(fold(s.n_inf_b));
    out.sum_abs += fold(s.s_abs);
    out.sum_sq_diff += fold(s.s_sq_d);
    out.dot += fold(s.s_dot);
    out.sum_sq_a += fold(s.s_sq_a);
    out.sum_sq_b += fold(s.s_sq_b);
    if (n_fin == 0) continue;

    const auto nf = static_cast<uint64_t>(n_fin);
    out.mom_a.merge(Moments{nf, mean_a, fold(s.m2_a)});
    out.mom_b.merge(Moments{nf, mean_b, fold(s.m2_b)});
    const double lmin_a = *std::min_element(s.min_a, s.min_a + L);
    const double lmax_a = *std::max_element(s.max_a, s.max_a + L);
    const double lmin_b = *std::min_element(s.min_b, s.min_b + L);
    const double lmax_b = *std::max_element(s.max_b, s.max_b + L);
    // The smallest index among the lanes holding the block's max.
    int best = -1;
    for (int l = 0; l < L; ++l) {
      if (s.mx[l] < 0) continue;
      if (best < 0 || s.mx[l] > s.mx[best] || (s.mx[l] == s.mx[best] && s.mx_i[l] < s.mx_i[best]))
        best = l;
    }
    const double lmrel = *std::max_element(s.mrel, s.mrel + L);
    if (!have_max) {
      out.min_a = lmin_a, out.max_a = lmax_a, out.min_b = lmin_b, out.max_b = lmax_b;
    } else {
      out.min_a = std::min(out.min_a, lmin_a), out.max_a = std::max(out.max_a, lmax_a);
      out.min_b = std::min(out.min_b, lmin_b), out.max_b = std::max(out.max_b, lmax_b);
    }
    if (!have_max || s.mx[best] > out.max_abs) {
      const auto i = static_cast<size_t>(s.mx_i[best]);
      out.max_abs = s.mx[best];
      out.max_abs_index = in.first + off + i;
      out.a_at_max_abs = a[i];
      out.b_at_max_abs = b[i];
    }
    out.max_rel = std::max(out.max_rel, lmrel);
    have_max = true;
  }
  hist.store(out);
  return out;
}

}  // namespace weightdiff::cpu
