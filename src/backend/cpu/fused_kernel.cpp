// The fused CPU pass over one chunk: decode a block of each side to float64,
// run the two SIMD block passes, fold the lanes in a fixed order and merge
// the block into the chunk's PairStats.
#include "backend/cpu/fused_kernel.hpp"

#include <algorithm>
#include <memory>
#include <vector>

#include "backend/cpu/decode.hpp"
#include "backend/cpu/fused_block.hpp"

namespace weightdiff::cpu {
namespace {

constexpr int L = kLanes;

// Fixed combination order of the lanes: ((0+1)+(2+3))+((4+5)+(6+7)).
double fold(const double (&v)[L]) {
  return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
}
uint64_t fold(const int64_t (&v)[L]) {
  int64_t sum = 0;
  for (int l = 0; l < L; ++l) sum += v[l];
  return static_cast<uint64_t>(sum);
}

// Maps the 12-bit exponent codes of BlockSlots to counter slots: 0 = zero,
// 1 = under, 2.. = bins, nbins + 2 = over, +stride for negative values;
// `discard` for codes that are not counted. Built once per range and thread.
class SlotTable {
 public:
  explicit SlotTable(const HistRange& r) : range_(r) {
    const int nb = r.bins(), stride = nb + 3;
    for (int code = 0; code < 4096; ++code) {
      const int exp_field = code & 0x7FF;
      const bool neg = code & 0x800;
      int slot;
      if (exp_field == 0x7FF) {
        slot = 2 * stride;  // value: discard
      } else if (exp_field == 0) {
        slot = 0;  // zero (subnormals were given code 1)
      } else {
        const int j = exp_field - 1023 - r.lo;
        slot = (j < 0 ? 1 : j >= nb ? nb + 2 : j + 2) + (neg ? stride : 0);
      }
      value_[code] = static_cast<uint16_t>(slot);
      if (code < 2048) abs_[code] = static_cast<uint16_t>(exp_field == 0x7FF ? stride : slot);
    }
  }
  const HistRange& range() const { return range_; }
  uint16_t value_slot(uint64_t code) const { return value_[code]; }
  const uint16_t* abs_slots() const { return abs_; }
  const uint16_t* value_slots() const { return value_; }

  static const SlotTable& for_range(const HistRange& r) {
    thread_local std::unique_ptr<SlotTable> cached;
    if (!cached || cached->range().lo != r.lo || cached->range().hi != r.hi)
      cached = std::make_unique<SlotTable>(r);
    return *cached;
  }

 private:
  HistRange range_;
  uint16_t abs_[2048];
  uint16_t value_[4096];
};

// Histogram counters of one chunk, in bin slots. Weights crowd into a few
// bins, so four interleaved copies of the per-element counters keep
// consecutive increments of one bin from waiting on each other in memory.
class ChunkHistograms {
 public:
  explicit ChunkHistograms(const HistRange& r)
      : table_(SlotTable::for_range(r)), stride_(static_cast<size_t>(r.bins()) + 3),
        dw_(stride_ + 1), vw_(2 * stride_ + 1),
        d_(kCopies * dw_), a_(kCopies * vw_), b_plus_(vw_), b_minus_(vw_) {}

  // Where the SIMD pass counts |d| and a's values itself.
  CountTargets targets() {
    return {table_.abs_slots(), table_.value_slots(), d_.data(), a_.data(), dw_, vw_};
  }

  // b's value histogram: a's, corrected where b's code differs.
  void add_moved(const BlockSlots& s) {
    for (size_t m = 0; m < s.n_moved; ++m) {
      ++b_plus_[table_.value_slot((s.moved[m] >> 16) & 0xFFF)];
      ++b_minus_[table_.value_slot(s.moved[m] & 0xFFF)];
    }
  }

  void store(PairStats& out) const {
    const size_t nb = stride_ - 3;
    auto d = [&](size_t k) { return total(d_, dw_, k); };
    out.hist_abs_diff.zero = d(0);
    out.hist_abs_diff.under = d(1);
    out.hist_abs_diff.over = d(nb + 2);
    for (size_t j = 0; j < nb; ++j) out.hist_abs_diff.counts[j] = d(j + 2);
    std::vector<uint64_t> a(vw_), b(vw_);
    for (size_t k = 0; k < vw_; ++k) {
      a[k] = total(a_, vw_, k);
      b[k] = a[k] + b_plus_[k] - b_minus_[k];
    }
    store_values(a, out.hist_a);
    store_values(b, out.hist_b);
  }

 private:
  static constexpr size_t kCopies = kCountCopies;

  static uint64_t total(const std::vector<uint32_t>& c, size_t width, size_t k) {
    uint64_t sum = 0;
    for (size_t copy = 0; copy < kCopies; ++copy) sum += c[copy * width + k];
    return sum;
  }

  void store_values(const std::vector<uint64_t>& v, ValueHistogram& h) const {
    const size_t nb = stride_ - 3, neg = stride_;
    h.zero = v[0] + v[neg];
    h.under = v[1] + v[neg + 1];
    h.over = v[nb + 2] + v[neg + nb + 2];
    for (size_t j = 0; j < nb; ++j) {
      h.pos[j] = v[j + 2];
      h.neg[j] = v[neg + j + 2];
    }
  }

  const SlotTable& table_;
  size_t stride_, dw_, vw_;  // bins + zero/under/over; widths with the discard slot
  std::vector<uint32_t> d_, a_;  // uint32: a chunk holds < 2^32 elements
  std::vector<uint32_t> b_plus_, b_minus_;  // b = a + plus - minus, slot by slot
};

// The smallest index among the lanes holding the block's max |d|, or -1.
int best_lane(const BlockLanes& s) {
  int best = -1;
  for (int l = 0; l < L; ++l) {
    if (s.mx[l] < 0) continue;
    if (best < 0 || s.mx[l] > s.mx[best] || (s.mx[l] == s.mx[best] && s.mx_i[l] < s.mx_i[best]))
      best = l;
  }
  return best;
}

}  // namespace

PairStats reduce_chunk(const ChunkInput& in) {
  PairStats out(in.hist);
  out.numel = in.count;
  ChunkHistograms hist(in.hist);
  // Zero-initialized: the SIMD passes read whole 8-lane groups past n.
  alignas(64) double a[kBlock] = {};
  alignas(64) double b[kBlock] = {};
  BlockSlots slots;
  BlockLanes s;
  bool have_max = false;
  const bool f64_codes = in.dtype_a == DType::f64 || in.dtype_b == DType::f64;

  for (uint64_t off = 0; off < in.count; off += kBlock) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kBlock, in.count - off));
    decode_to_f64(in.dtype_a, in.base_a, in.first + off, n, a);
    // One-sided (inspect): b is a, decoded once.
    const double* vb = b;
    if (in.base_b) decode_to_f64(in.dtype_b, in.base_b, in.first + off, n, b);
    else vb = a;
    const BlockArgs args{a, vb, n, in.atol, in.rtol, f64_codes, hist.targets(), out.max_rel};
    block_stats(args, s, slots);

    const uint64_t n_fin = fold(s.n_fin);
    const double mean_a = n_fin > 0 ? fold(s.s_a) / static_cast<double>(n_fin) : 0.0;
    const double mean_b = n_fin > 0 ? fold(s.s_b) / static_cast<double>(n_fin) : 0.0;
    block_moments(args, mean_a, mean_b, n_fin == n, s);
    hist.add_moved(slots);

    out.n_finite += n_fin;
    out.equal += fold(s.n_eq);
    out.mismatched += fold(s.n_mis);
    out.nan_a += fold(s.n_nan_a);
    out.nan_b += fold(s.n_nan_b);
    out.inf_a += fold(s.n_inf_a);
    out.inf_b += fold(s.n_inf_b);
    out.sum_abs += fold(s.s_abs);
    out.sum_sq_diff += fold(s.s_sq_d);
    out.dot += fold(s.s_dot);
    out.sum_sq_a += fold(s.s_sq_a);
    out.sum_sq_b += fold(s.s_sq_b);
    if (n_fin == 0) continue;

    out.mom_a.merge(Moments{n_fin, mean_a, fold(s.m2_a)});
    out.mom_b.merge(Moments{n_fin, mean_b, fold(s.m2_b)});
    double lmin_a = s.min_a[0], lmax_a = s.max_a[0], lmin_b = s.min_b[0], lmax_b = s.max_b[0];
    double lmrel = s.mrel[0];
    for (int l = 1; l < L; ++l) {
      lmin_a = std::min(lmin_a, s.min_a[l]), lmax_a = std::max(lmax_a, s.max_a[l]);
      lmin_b = std::min(lmin_b, s.min_b[l]), lmax_b = std::max(lmax_b, s.max_b[l]);
      lmrel = std::max(lmrel, s.mrel[l]);
    }
    if (!have_max) {
      out.min_a = lmin_a, out.max_a = lmax_a, out.min_b = lmin_b, out.max_b = lmax_b;
    } else {
      out.min_a = std::min(out.min_a, lmin_a), out.max_a = std::max(out.max_a, lmax_a);
      out.min_b = std::min(out.min_b, lmin_b), out.max_b = std::max(out.max_b, lmax_b);
    }
    const int best = best_lane(s);
    if (!have_max || s.mx[best] > out.max_abs) {  // ties keep the earlier block
      const auto i = static_cast<size_t>(s.mx_i[best]);
      out.max_abs = s.mx[best];
      out.max_abs_index = in.first + off + i;
      out.a_at_max_abs = a[i];
      out.b_at_max_abs = vb[i];
    }
    out.max_rel = std::max(out.max_rel, lmrel);
    have_max = true;
  }
  hist.store(out);
  return out;
}

}  // namespace weightdiff::cpu
