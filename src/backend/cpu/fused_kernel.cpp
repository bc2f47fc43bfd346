// The fused CPU pass over one chunk: decode a block of each side to float64,
// run the two SIMD block passes, fold the lanes in a fixed order and merge
// the block into the chunk's Partial (backend/partial.hpp) and its
// histogram slots.
#include "backend/cpu/fused_kernel.hpp"

#include <algorithm>
#include <memory>
#include <vector>

#include "backend/cpu/decode.hpp"
#include "backend/cpu/fused_block.hpp"
#include "backend/cpu/narrow_block.hpp"
#include "backend/partial_stats.hpp"

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
    // float32 codes (sign << 8 | exponent field) of the narrow path: the
    // float64 code of the same value (field 0 only ever holds zeros there).
    for (int code = 0; code < 512; ++code) {
      const int field = code & 0xFF;
      const int f64_field = field == 0 ? 0 : field == 0xFF ? 0x7FF : field - 127 + 1023;
      value32_[code] = value_[(code >> 8) << 11 | f64_field];
    }
  }
  const HistRange& range() const { return range_; }
  uint16_t value_slot(uint64_t code) const { return value_[code]; }
  const uint16_t* abs_slots() const { return abs_; }
  const uint16_t* value_slots() const { return value_; }
  const uint16_t* value32_slots() const { return value32_; }

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
  uint16_t value32_[512];
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

  // The narrow path's raw-code counters (made on first use: most chunks
  // of other dtypes never need them), mapped to slots in store().
  NarrowCounts narrow_targets() {
    if (narrow_.empty()) narrow_.assign(NarrowCounts::kWords, 0);
    return NarrowCounts::at(narrow_.data());
  }

  // b's value histogram: a's, corrected where b's code differs.
  void add_moved(const BlockSlots& s) {
    for (size_t m = 0; m < s.n_moved; ++m) {
      ++b_plus_[table_.value_slot((s.moved[m] >> 16) & 0xFFF)];
      ++b_minus_[table_.value_slot(s.moved[m] & 0xFFF)];
    }
  }

  // Adds the chunk's counts to `slots` (HistLayout order: |d|, then a's
  // and b's zero, under, over, pos[nb], neg[nb]).
  void store(uint64_t* slots) {
    fold_narrow();
    const size_t nb = stride_ - 3, neg = stride_;
    for (size_t k = 0; k < nb + 3; ++k) slots[k] += total(d_, dw_, k);  // same order
    uint64_t* va = slots + nb + 3;
    uint64_t* vb = slots + 3 * nb + 6;
    for (size_t k = 0; k < vw_ - 1; ++k) {
      const uint64_t a = total(a_, vw_, k);
      const uint64_t b = a + b_plus_[k] - b_minus_[k];
      const size_t at = value_slot_of(k, nb, neg);
      va[at] += a;
      vb[at] += b;
    }
  }

 private:
  static constexpr size_t kCopies = kCountCopies;

  // The narrow path's code counts into copy 0 of the slot counters.
  void fold_narrow() {
    if (narrow_.empty()) return;
    const NarrowCounts c = narrow_targets();
    const uint16_t* abs = table_.abs_slots();
    const uint16_t* value = table_.value32_slots();
    for (size_t copy = 0; copy < kNarrowCopies; ++copy) {
      for (size_t code = 0; code < kAbsCodes; ++code) d_[abs[code]] += c.d[copy * kAbsCodes + code];
      for (size_t code = 0; code < kValueCodes; ++code) a_[value[code]] += c.a[copy * kValueCodes + code];
    }
    for (size_t code = 0; code < kValueCodes; ++code) {
      b_plus_[value[code]] += c.b_plus[code];
      b_minus_[value[code]] += c.b_minus[code];
    }
  }

  static uint64_t total(const std::vector<uint32_t>& c, size_t width, size_t k) {
    uint64_t sum = 0;
    for (size_t copy = 0; copy < kCopies; ++copy) sum += c[copy * width + k];
    return sum;
  }

  // Counter slot k (0 zero, 1 under, 2.. bins, nb+2 over, +stride for
  // negative values) in HistLayout's value order (zero, under, over, pos, neg).
  static size_t value_slot_of(size_t k, size_t nb, size_t neg) {
    const bool negative = k >= neg;
    const size_t j = negative ? k - neg : k;
    if (j <= 1) return j;           // zero, under: either sign
    if (j == nb + 2) return 2;      // over: either sign
    return 3 + (j - 2) + (negative ? nb : 0);
  }

  const SlotTable& table_;
  size_t stride_, dw_, vw_;  // bins + zero/under/over; widths with the discard slot
  std::vector<uint32_t> d_, a_;  // uint32: a chunk holds < 2^32 elements
  std::vector<uint32_t> b_plus_, b_minus_;  // b = a + plus - minus, slot by slot
  std::vector<uint32_t> narrow_;            // NarrowCounts, when used
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

backend::Partial reduce_chunk(const ChunkInput& in, uint64_t* slots) {
  backend::Partial out = backend::empty_partial();
  ChunkHistograms hist(in.hist);
  // Zero-initialized: the SIMD passes read whole 8-lane groups past n.
  alignas(64) double a[kBlock] = {};
  alignas(64) double b[kBlock] = {};
  static thread_local NarrowValues narrow_values;
  BlockSlots slots_of_block;
  BlockLanes s;
  const bool f64_codes = in.dtype_a == DType::f64 || in.dtype_b == DType::f64;
  const bool narrow = in.narrow && !in.one_sided && narrow_dtype(in.dtype_a) && narrow_dtype(in.dtype_b);
  const size_t bytes_a = dtype_bits(in.dtype_a) / 8, bytes_b = dtype_bits(in.dtype_b) / 8;
  // b's element 0 and the index of the chunk's first element in it.
  const std::byte* base_a = in.gathered_a ? in.gathered_a : in.base_a;
  const uint64_t first_a = in.gathered_a ? 0 : in.first;
  const std::byte* base_b = in.gathered_b ? in.gathered_b : in.base_b;
  const uint64_t first_b = in.gathered_b ? 0 : in.first;

  for (uint64_t off = 0; off < in.count; off += kBlock) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kBlock, in.count - off));
    // bf16/f16/f32 pairs: the float32 path gives the same bits (narrow_block.hpp);
    // it declines blocks it does not cover, and partial groups.
    const double* va = a;
    const double* vb = b;
    bool took_narrow = false;
    if (narrow && n % kLanes == 0) {
      const NarrowArgs nargs{in.dtype_a, in.dtype_b, base_a + (first_a + off) * bytes_a,
                             base_b + (first_b + off) * bytes_b, n, in.atol, in.rtol,
                             out.mrel, hist.narrow_targets()};
      took_narrow = narrow_block(nargs, narrow_values, s);
    }
    if (!took_narrow) {
      decode_to_f64(in.dtype_a, base_a, first_a + off, n, a);
      // One-sided (inspect): b is a, decoded once.
      if (in.one_sided) vb = a;
      else decode_to_f64(in.dtype_b, base_b, first_b + off, n, b);
      const BlockArgs args{a, vb, n, in.atol, in.rtol, f64_codes, hist.targets(), out.mrel};
      block_stats(args, s, slots_of_block);
    }

    const uint64_t n_fin = fold(s.n_fin);
    const double mean_a = n_fin > 0 ? fold(s.s_a) / static_cast<double>(n_fin) : 0.0;
    const double mean_b = n_fin > 0 ? fold(s.s_b) / static_cast<double>(n_fin) : 0.0;
    if (took_narrow) {
      narrow_moments(narrow_values, n, mean_a, mean_b, s);
    } else {
      const BlockArgs args{a, vb, n, in.atol, in.rtol, f64_codes, hist.targets(), out.mrel};
      block_moments(args, mean_a, mean_b, n_fin == n, s);
      hist.add_moved(slots_of_block);
    }

    out.n_eq += fold(s.n_eq);
    out.n_mis += fold(s.n_mis);
    out.nan_a += fold(s.n_nan_a);
    out.nan_b += fold(s.n_nan_b);
    out.inf_a += fold(s.n_inf_a);
    out.inf_b += fold(s.n_inf_b);
    out.s_abs += fold(s.s_abs);
    out.s_sq_d += fold(s.s_sq_d);
    out.s_dot += fold(s.s_dot);
    out.s_sq_a += fold(s.s_sq_a);
    out.s_sq_b += fold(s.s_sq_b);
    if (n_fin == 0) continue;

    backend::merge_moments(out.n_fin, out.mean_a, out.m2_a, n_fin, mean_a, fold(s.m2_a));
    backend::merge_moments(out.n_fin, out.mean_b, out.m2_b, n_fin, mean_b, fold(s.m2_b));
    out.n_fin += n_fin;
    double lmin_a = s.min_a[0], lmax_a = s.max_a[0], lmin_b = s.min_b[0], lmax_b = s.max_b[0];
    double lmrel = s.mrel[0];
    for (int l = 1; l < L; ++l) {
      lmin_a = std::min(lmin_a, s.min_a[l]), lmax_a = std::max(lmax_a, s.max_a[l]);
      lmin_b = std::min(lmin_b, s.min_b[l]), lmax_b = std::max(lmax_b, s.max_b[l]);
      lmrel = std::max(lmrel, s.mrel[l]);
    }
    out.min_a = std::min(out.min_a, lmin_a), out.max_a = std::max(out.max_a, lmax_a);
    out.min_b = std::min(out.min_b, lmin_b), out.max_b = std::max(out.max_b, lmax_b);
    const int best = best_lane(s);
    if (s.mx[best] > out.mx) {  // ties keep the earlier block (out.mx is -1 before any)
      const auto i = static_cast<size_t>(s.mx_i[best]);
      out.mx = s.mx[best];
      out.mx_i = in.first + off + i;
      out.a_mx = took_narrow ? narrow_values.a[i] : va[i];
      out.b_mx = took_narrow ? narrow_values.b[i] : vb[i];
    }
    out.mrel = std::max(out.mrel, lmrel);
  }
  std::fill(slots, slots + backend::hist_layout(in.hist).total(), uint64_t{0});
  hist.store(slots);
  return out;
}

}  // namespace weightdiff::cpu
