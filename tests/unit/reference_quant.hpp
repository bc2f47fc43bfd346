// A float64 reference decoder of ggml's block-quantized types, written
// independently of src/ (ggml-quants.c's dequantize_row_* loops, a whole
// block at a time, in float64), and random blocks to feed the backends.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "weightdiff/dtype.hpp"

namespace wdtest {

struct QuantGeometry {
  unsigned elems, bytes;
  std::vector<unsigned> f16_fields;  // byte offsets of the block's f16 scales (d, then dmin / m)
};
QuantGeometry quant_geometry(weightdiff::DType t);

// The first n values of the blocks in `bytes` (ceil(n / elems) blocks).
std::vector<double> reference_dequantize(weightdiff::DType t, const std::vector<uint8_t>& bytes, uint64_t n);

// Random bytes for ceil(n / elems) blocks: quants uniform, scales random
// f16 of moderate magnitude with, now and then, 0, -0, a subnormal, NaN,
// +Inf or -Inf. With `like` (blocks of the same type), about a quarter of
// the blocks are copies of like's (exact ties) and some differ in one byte.
std::vector<uint8_t> random_blocks(weightdiff::DType t, uint64_t n, std::mt19937_64& rng,
                                   const std::vector<uint8_t>* like = nullptr);

}  // namespace wdtest
