// A tensor stored quantized with separate scale tensors, compared by its
// dequantized value (--dequant): an FP8 weight with its block, channel or
// tensor scales (DeepSeek-V3 / Qwen FP8, compressed-tensors), or a GPTQ /
// AWQ int4 weight (qweight, qzeros, scales, g_idx). The composite tensor's
// values are computed chunk by chunk from the stored parts, never
// materialised whole (src/backend/dequant.hpp).
#pragma once

#include <cstdint>
#include <string>

#include "weightdiff/tensor.hpp"

namespace weightdiff {

// auto: dequantize a side that holds scale tensors when the other side
// holds none (a quantized checkpoint against its original); always: every
// side that holds them; never: compare the stored tensors as they are.
enum class DequantMode { automatic, always, never };
inline const char* dequant_mode_name(DequantMode m) noexcept {
  return m == DequantMode::always ? "always" : m == DequantMode::never ? "never" : "auto";
}

enum class DequantScheme : uint8_t {
  fp8_block,    // w[r, c] * scale[r / block_rows, c / block_cols]
  fp8_channel,  // w[r, c] * scale[r]
  fp8_tensor,   // w[r, c] * scale
  gptq,         // (q[i, o] - zero[g(i), o]) * scale[g(i), o], weight [o, i]
  awq,          // the same with AWQ's packing and column order
};

struct Dequant {
  DequantScheme scheme = DequantScheme::fp8_tensor;
  // The stored tensors: the quantized weight (fp8 [rows, cols]; GPTQ
  // qweight i32 [in * bits / 32, out]; AWQ qweight i32 [in, out * bits / 32]),
  // its scales, and for GPTQ/AWQ the packed zero points (qzeros) and
  // GPTQ's optional per-input group index (g_idx).
  TensorRef weight, scale, zeros, g_idx;
  bool has_zeros = false, has_g_idx = false;
  // The dequantized tensor's [rows, cols] (GPTQ/AWQ: [out, in], the
  // original Linear weight's shape).
  uint64_t rows = 0, cols = 0;
  // fp8_block: the scale block's edges; GPTQ/AWQ: block_cols = group size
  // along the input dimension (when there is no g_idx).
  uint64_t block_rows = 1, block_cols = 1;
  unsigned bits = 4;  // GPTQ/AWQ quant width: 2, 4 or 8
  // GPTQ's original ("v1") checkpoints store every zero point minus one.
  bool zeros_plus_one = false;
  // How reports name the stored form (TensorDiff::quant_a/_b), e.g.
  // "f8e4m3fn*scale[128x128]", "gptq_int4[g128]".
  std::string label;
};

}  // namespace weightdiff
