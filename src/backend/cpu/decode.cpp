// The CPU decoder: Highway vector loops for the bulk of each block
// (decode_simd), and for the rest the one per-element definition both
// backends share (backend/element.hpp), fp8 through a 256-entry table of it,
// ggml's block types a block at a time (backend/quant_blocks.hpp).
#include "backend/cpu/decode.hpp"

#include "backend/cpu/decode_simd.hpp"
#include "backend/element.hpp"

#include <algorithm>
#include <array>
#include <cstring>

namespace weightdiff::cpu {
namespace {

using F8Table = std::array<double, 256>;

F8Table make_f8_table(DType type) {
  F8Table t{};
  for (int i = 0; i < 256; ++i) t[i] = backend::f8_value(type, static_cast<uint32_t>(i));
  return t;
}

const F8Table& f8_table(DType type) {
  static const F8Table e4m3fn = make_f8_table(DType::f8e4m3fn);
  static const F8Table e4m3fnuz = make_f8_table(DType::f8e4m3fnuz);
  static const F8Table e5m2 = make_f8_table(DType::f8e5m2);
  static const F8Table e5m2fnuz = make_f8_table(DType::f8e5m2fnuz);
  switch (type) {
    case DType::f8e4m3fnuz: return e4m3fnuz;
    case DType::f8e5m2: return e5m2;
    case DType::f8e5m2fnuz: return e5m2fnuz;
    default: return e4m3fn;
  }
}

// Elements [first, first + count) as stored (unaligned-safe), mapped to double.
template <typename T, typename Map>
void load_map(const std::byte* base, uint64_t first, size_t count, double* out, Map map) {
  const std::byte* p = base + first * sizeof(T);
  for (size_t i = 0; i < count; ++i) {
    T v;
    std::memcpy(&v, p + i * sizeof(T), sizeof(T));
    out[i] = map(v);
  }
}

template <typename T>
void load_convert(const std::byte* base, uint64_t first, size_t count, double* out) {
  load_map<T>(base, first, count, out, [](T v) { return static_cast<double>(v); });
}

// Block-type elements [first, first + count): whole blocks a block at a
// time (quant_block_t: scales decoded once per block; the switch on the
// type outside the loop), partial blocks at either end element by element.
template <DType T>
void decode_blocks(const std::byte* base, uint64_t first, size_t count, double* out) {
  const auto* p = reinterpret_cast<const uint8_t*>(base);
  const uint64_t be = backend::block_elems(T), bb = backend::block_bytes(T);
  uint64_t e = first;
  const uint64_t end = first + count;
  while (e < end) {
    const uint8_t* blk = p + e / be * bb;
    const int j0 = static_cast<int>(e % be);
    const int j1 = static_cast<int>(std::min<uint64_t>(be, j0 + (end - e)));
    if (j0 == 0 && j1 == static_cast<int>(be)) {
      backend::quant_block_t<T>(blk, out);
      out += be;
    } else {
      for (int j = j0; j < j1; ++j) *out++ = backend::quant_value_t<T>(blk, j);
    }
    e += static_cast<uint64_t>(j1 - j0);
  }
}

struct DecodeBlocksOp {
  const std::byte* base;
  uint64_t first;
  size_t count;
  double* out;
  template <DType T>
  void run() { decode_blocks<T>(base, first, count, out); }
};

}  // namespace

double f16_to_f64(uint16_t bits) noexcept { return backend::f16_value(bits); }

double bf16_to_f64(uint16_t bits) noexcept { return backend::bf16_value(bits); }

double f8_to_f64(DType type, uint8_t bits) noexcept { return f8_table(type)[bits]; }

void decode_to_f64(DType type, const std::byte* base, uint64_t first, size_t count, double* out) {
  if (backend::is_block_type(type)) {
    DecodeBlocksOp op{base, first, count, out};
    return backend::with_block_type(type, op);
  }
  if (dtype_bits(type) >= 8) {
    const size_t done = decode_simd(type, base + first * (dtype_bits(type) / 8), count, out);
    first += done, count -= done, out += done;
  }
  switch (type) {
    case DType::f64: std::memcpy(out, base + first * 8, count * 8); return;
    case DType::f32: return load_convert<float>(base, first, count, out);
    case DType::f16: return load_map<uint16_t>(base, first, count, out, f16_to_f64);
    case DType::bf16: return load_map<uint16_t>(base, first, count, out, bf16_to_f64);
    case DType::f8e4m3fn:
    case DType::f8e4m3fnuz:
    case DType::f8e5m2:
    case DType::f8e5m2fnuz: {
      const F8Table& t = f8_table(type);
      const auto* p = reinterpret_cast<const uint8_t*>(base) + first;
      for (size_t i = 0; i < count; ++i) out[i] = t[p[i]];
      return;
    }
    case DType::i64: return load_convert<int64_t>(base, first, count, out);
    case DType::i32: return load_convert<int32_t>(base, first, count, out);
    case DType::i16: return load_convert<int16_t>(base, first, count, out);
    case DType::i8: return load_convert<int8_t>(base, first, count, out);
    case DType::u64: return load_convert<uint64_t>(base, first, count, out);
    case DType::u32: return load_convert<uint32_t>(base, first, count, out);
    case DType::u16: return load_convert<uint16_t>(base, first, count, out);
    case DType::u8: return load_convert<uint8_t>(base, first, count, out);
    case DType::boolean:
    case DType::i4:
    case DType::u4: {  // i4/u4: two per byte, element 2k in the low nibble (ONNX packing)
      const auto* p = reinterpret_cast<const uint8_t*>(base);
      for (size_t i = 0; i < count; ++i)
        out[i] = backend::value_of(type, backend::load_elem_bits(type, p, first + i));
      return;
    }
    default: return;  // block types: above
  }
}

}  // namespace weightdiff::cpu
