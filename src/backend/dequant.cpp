#include "backend/dequant.hpp"

#include <algorithm>

#include "backend/element.hpp"
#include "weightdiff/error.hpp"

namespace weightdiff::backend {
namespace {

const uint8_t* bytes_of(const TensorRef& t) { return reinterpret_cast<const uint8_t*>(t.data()); }

double value_at(const TensorRef& t, uint64_t e) {
  return value_of(t.dtype, load_elem_bits(t.dtype, bytes_of(t), e));
}

uint32_t word_at(const TensorRef& t, uint64_t e) {
  return static_cast<uint32_t>(load_elem_bits(DType::i32, bytes_of(t), e));
}

uint64_t scale_cols(const Dequant& d) { return (d.cols + d.block_cols - 1) / d.block_cols; }

// FP8 times its scale: runs of one row that share a scale, the fp8 values
// from a table of the 256 codes.
void dequantize_fp8(const Dequant& d, uint64_t first, uint64_t count, double* out) {
  double code_value[256];
  for (uint32_t c = 0; c < 256; ++c) code_value[c] = f8_value(d.weight.dtype, c);
  const uint8_t* w = bytes_of(d.weight);
  const uint64_t end = first + count, scols = scale_cols(d);
  for (uint64_t e = first; e < end;) {
    const uint64_t r = e / d.cols, c = e % d.cols;
    uint64_t run_end = end;
    double s = 0;
    switch (d.scheme) {
      case DequantScheme::fp8_block: {
        const uint64_t bc = c / d.block_cols;
        run_end = std::min(end, r * d.cols + std::min(d.cols, (bc + 1) * d.block_cols));
        s = value_at(d.scale, (r / d.block_rows) * scols + bc);
        break;
      }
      case DequantScheme::fp8_channel:
        run_end = std::min(end, (r + 1) * d.cols);
        s = value_at(d.scale, r);
        break;
      default:
        s = value_at(d.scale, 0);
        break;
    }
    for (; e < run_end; ++e) *out++ = code_value[w[e]] * s;
  }
}

// AWQ packs eight 4-bit columns per word in the order 0 2 4 6 1 3 5 7
// (AutoAWQ's AWQ_ORDER): column o % 8 sits in this nibble.
constexpr unsigned kAwqNibble[8] = {0, 4, 1, 5, 2, 6, 3, 7};

// GPTQ/AWQ: element [o, i] of the Linear weight is
// (q[i, o] - zero[g, o]) * scale[g, o] with g the input's group.
void dequantize_int(const Dequant& d, uint64_t first, uint64_t count, double* out) {
  const uint64_t in = d.cols, outs = d.rows, groups = d.scale.shape[0];
  const unsigned per = 32 / d.bits;
  const uint32_t mask = (1u << d.bits) - 1;
  const bool awq = d.scheme == DequantScheme::awq;
  const uint64_t words_per_row = outs / per;  // AWQ qweight, and both qzeros
  for (uint64_t e = first; e < first + count; ++e) {
    const uint64_t o = e / in, i = e % in;
    uint64_t g = i / d.block_cols;
    if (d.has_g_idx) {
      const int32_t gi = static_cast<int32_t>(word_at(d.g_idx, i));
      if (gi < 0 || static_cast<uint64_t>(gi) >= groups) {
        std::string m = "g_idx[";  // += only: GCC 12's -Wrestrict misfires on "x" + s
        m += std::to_string(i);
        m += "] = ";
        m += std::to_string(gi);
        m += " is not one of the ";
        m += std::to_string(groups);
        m += " groups of its scales";
        throw Error(Errc::malformed, m, d.g_idx.storage ? d.g_idx.storage->display_path() : std::string(),
                    d.g_idx.name);
      }
      g = static_cast<uint64_t>(gi);
    }
    const unsigned q_shift = awq ? kAwqNibble[o % per] * d.bits : static_cast<unsigned>(i % per) * d.bits;
    const uint32_t q_word = awq ? word_at(d.weight, i * words_per_row + o / per) : word_at(d.weight, (i / per) * outs + o);
    const unsigned z_shift = awq ? kAwqNibble[o % per] * d.bits : static_cast<unsigned>(o % per) * d.bits;
    const uint32_t z_word = word_at(d.zeros, g * words_per_row + o / per);
    const double q = static_cast<double>((q_word >> q_shift) & mask);
    const double z = static_cast<double>(((z_word >> z_shift) & mask) + (d.zeros_plus_one ? 1u : 0u));
    *out++ = (q - z) * value_at(d.scale, g * outs + o);
  }
}

ByteRange whole(const TensorRef& t) { return {t.offset, t.offset + t.nbytes}; }

}  // namespace

StoredParts stored_parts(const TensorRef& t) noexcept {
  StoredParts p;
  if (!t.dequant) {
    p.part[p.n++] = &t;
    return p;
  }
  const Dequant& d = *t.dequant;
  p.part[p.n++] = &d.weight;
  p.part[p.n++] = &d.scale;
  if (d.has_zeros) p.part[p.n++] = &d.zeros;
  if (d.has_g_idx) p.part[p.n++] = &d.g_idx;
  return p;
}

ByteRange part_bytes_touched(const TensorRef& t, const TensorRef& part, uint64_t first, uint64_t count) {
  if (!t.dequant) return chunk_bytes(t, first, count);
  const Dequant& d = *t.dequant;
  if (count == 0) return {part.offset, part.offset};
  switch (d.scheme) {
    case DequantScheme::fp8_block:
    case DequantScheme::fp8_channel:
    case DequantScheme::fp8_tensor: {
      if (&part == &d.weight) return chunk_bytes(d.weight, first, count);
      const uint64_t r0 = first / d.cols, r1 = (first + count - 1) / d.cols;
      if (d.scheme == DequantScheme::fp8_tensor) return chunk_bytes(d.scale, 0, 1);
      if (d.scheme == DequantScheme::fp8_channel) return chunk_bytes(d.scale, r0, r1 - r0 + 1);
      const uint64_t scols = scale_cols(d), b0 = r0 / d.block_rows, b1 = r1 / d.block_rows;
      return chunk_bytes(d.scale, b0 * scols, (b1 - b0 + 1) * scols);
    }
    default:  // every row of the Linear reads every row of qweight
      return whole(part);
  }
}

uint64_t stored_bytes_share(const TensorRef& t, uint64_t first, uint64_t count) {
  if (!t.dequant) {
    const ByteRange r = chunk_bytes(t, first, count);
    return r.end - r.begin;
  }
  if (t.numel == 0) return 0;
  return static_cast<uint64_t>(static_cast<unsigned __int128>(t.nbytes) * count / t.numel);
}

void dequantize(const Dequant& d, uint64_t first, uint64_t count, double* out) {
  if (d.scheme == DequantScheme::gptq || d.scheme == DequantScheme::awq)
    dequantize_int(d, first, count, out);
  else
    dequantize_fp8(d, first, count, out);
}

}  // namespace weightdiff::backend
