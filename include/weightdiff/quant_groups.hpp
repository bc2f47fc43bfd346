// The quantization error grouped by quant type (issue 12 item 5): one group
// per (A's quant type, B's quant type) over the compared floating-point
// pairs, so "Q4_K costs 28 dB here, Q6_K 40 dB" is one glance. Reports show
// the groups only when some pair has a quantized side; a plain dtype
// comparison's reports stay as they were.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "weightdiff/diff.hpp"

namespace weightdiff {

// A side of the pair is quantized: a block-quantized dtype (GGUF's q4_0 ..
// q6_K), an 8-bit float, or a side compared dequantized (--dequant).
bool has_quantized_side(const TensorDiff& t);

struct QuantGroup {
  std::string quant_a, quant_b;  // quant_type() of each side
  uint64_t tensors = 0;          // compared floating-point pairs
  uint64_t elements = 0;         // their finite element pairs
  // Pooled over the group's finite pairs (float64 sums of the tensors'
  // sums, in result order): the group's rel_l2 and SNR as one vector.
  double sum_sq_a = 0, sum_sq_diff = 0;
  double rel_l2 = 0, snr_db = 0;
  // The distribution over the group's tensors. Medians are the lower median
  // (the ⌈n/2⌉-th smallest): always one tensor's value, never an average of
  // +inf and a finite SNR.
  double rel_l2_median = 0, rel_l2_max = 0;
  double snr_db_median = 0, snr_db_min = 0;
  // Over the tensors with a finite pair; nullopt when none has one.
  std::optional<double> max_abs_median, max_abs_max;
  std::string worst;  // the tensor with the lowest SNR (the first in result order on ties)
};

// The groups of r, worst pooled SNR first (ties by quant_a, quant_b); empty
// when no compared pair has a quantized side.
std::vector<QuantGroup> quant_groups(const DiffResult& r);

}  // namespace weightdiff
