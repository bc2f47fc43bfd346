// The element loader of the kernels: a thread's group of kGroup elements,
// by 16-byte vector loads where aligned, decoded to float64 by the one
// per-element definition both backends share (src/backend/element.hpp),
// dispatched at run time on a warp-uniform dtype, so there is one kernel
// for all N² dtype pairs. Block-quantized types (quant_blocks.hpp) decode
// from the block's bytes directly: scalar byte loads, a group inside one block.
#pragma once

#include "backend/element.hpp"
#include "weightdiff/dtype.hpp"

namespace weightdiff::cuda {

// The shared per-element vocabulary (backend/hd.hpp, element.hpp,
// partial.hpp) is this backend's: one definition for both backends.
using namespace weightdiff::backend;

inline constexpr int kGroup = 8;  // elements a thread decodes at a time

// One full group of kGroup elements starting at p (aligned to the group's
// byte size, capped at 16) into little-endian words: 16-byte vector loads
// on the device.
WD_HD void load_group_words(int group_bytes, const uint8_t* p, uint32_t* w) {
#if defined(__CUDA_ARCH__)
  if (group_bytes >= 16) {
    const uint4* q = reinterpret_cast<const uint4*>(p);
WD_UNROLL
    for (int i = 0; i < 4; ++i)
      if (i * 16 < group_bytes) {
        const uint4 v = q[i];
        w[4 * i] = v.x, w[4 * i + 1] = v.y, w[4 * i + 2] = v.z, w[4 * i + 3] = v.w;
      }
  } else if (group_bytes == 8) {
    const uint2 v = *reinterpret_cast<const uint2*>(p);
    w[0] = v.x, w[1] = v.y;
  } else {
    w[0] = *reinterpret_cast<const uint32_t*>(p);
  }
#else
  std::memcpy(w, p, static_cast<size_t>(group_bytes));
#endif
}

template <int kBits>
WD_HD uint64_t word_elem(const uint32_t* w, int i) {
  if (kBits == 64) return w[2 * i] | (static_cast<uint64_t>(w[2 * i + 1]) << 32);
  if (kBits == 32) return w[i];
  if (kBits == 16) return (w[i / 2] >> (16 * (i % 2))) & 0xFFFFu;
  if (kBits == 8) return (w[i / 4] >> (8 * (i % 4))) & 0xFFu;
  return (w[0] >> (4 * i)) & 0xFu;
}

// Decodes the kGroup elements held in w: the dtype switch is outside the
// (unrolled) element loops.
WD_HD void decode_group_words(DType t, const uint32_t* w, double* out) {
#define WD_DECODE_GROUP(kBits, expr)                                 \
  {                                                                  \
    WD_UNROLL for (int i = 0; i < kGroup; ++i) {             \
      const uint64_t v = word_elem<kBits>(w, i);                     \
      out[i] = (expr);                                               \
    }                                                                \
    return;                                                          \
  }
  switch (t) {
    case DType::f64: WD_DECODE_GROUP(64, bits_to_f64(v))
    case DType::f32: WD_DECODE_GROUP(32, bits_to_f32(static_cast<uint32_t>(v)))
    case DType::f16: WD_DECODE_GROUP(16, f16_value(static_cast<uint32_t>(v)))
    case DType::bf16: WD_DECODE_GROUP(16, bf16_value(static_cast<uint32_t>(v)))
    case DType::i64: case DType::u64: WD_DECODE_GROUP(64, value_of(t, v))
    case DType::i32: case DType::u32: WD_DECODE_GROUP(32, value_of(t, v))
    case DType::i16: case DType::u16: WD_DECODE_GROUP(16, value_of(t, v))
    case DType::i4: case DType::u4: WD_DECODE_GROUP(4, value_of(t, v))
    default: WD_DECODE_GROUP(8, value_of(t, v))  // fp8, i8, u8, bool
  }
#undef WD_DECODE_GROUP
}

// A block type's group: elements [e, e + n) counted from the block at base.
// A full group at a multiple of kGroup lies inside one block (blocks hold 32
// or 256 elements): one block pointer, the element decoded per lane by
// quant_blocks.hpp with the dtype switch outside the loop.
template <DType T>
WD_HD void load_block_group_t(const uint8_t* base, uint64_t e, int n, double* out) {
  constexpr uint64_t be = T >= DType::q2_K ? 256 : 32;
  static_assert(be % kGroup == 0, "a group never straddles a block");
  if (n == kGroup && e % kGroup == 0) {
    const uint8_t* blk = base + e / be * static_cast<uint64_t>(block_bytes(T));
    const int j0 = static_cast<int>(e % be);
WD_UNROLL
    for (int i = 0; i < kGroup; ++i) out[i] = quant_value_t<T>(blk, j0 + i);
    return;
  }
WD_UNROLL
  for (int i = 0; i < kGroup; ++i)
    out[i] = i < n ? block_elem_value(T, base, e + static_cast<uint64_t>(i)) : 0.0;
}

struct LoadBlockGroupOp {
  const uint8_t* base;
  uint64_t e;
  int n;
  double* out;
  template <DType T>
  WD_HD void run() { load_block_group_t<T>(base, e, n, out); }
};

// Elements [e0, e0 + n) (n <= kGroup) of the run stored at base (phase: the
// nibble for i4/u4, the element inside the first block for block types)
// into out[0..n); out[n..kGroup) = 0.
WD_HD void load_group(DType t, const uint8_t* base, uint64_t e0, uint32_t phase, int n, double* out) {
  if (is_block_type(t)) {
    LoadBlockGroupOp op{base, phase + e0, n, out};
    return with_block_type(t, op);
  }
  const int bits = storage_bits(t);
  const int group_bytes = bits * kGroup / 8;
  const uint8_t* p = base + e0 * static_cast<uint64_t>(bits) / 8;
  const uintptr_t align = static_cast<uintptr_t>(group_bytes < 16 ? group_bytes : 16);
  if (n == kGroup && phase == 0 && (reinterpret_cast<uintptr_t>(p) & (align - 1)) == 0) {
    uint32_t w[16];
    load_group_words(group_bytes, p, w);
    decode_group_words(t, w, out);
    return;
  }
WD_UNROLL
  for (int i = 0; i < kGroup; ++i)
    out[i] = i < n ? value_of(t, load_elem_bits(t, base, phase + e0 + static_cast<uint64_t>(i))) : 0.0;
}

}  // namespace weightdiff::cuda
