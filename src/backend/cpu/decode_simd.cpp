// SIMD decoding of the dtypes that dominate checkpoints (f32, bf16, f16) to
// float64, and of bf16/f16/f32 to float32 (the narrow fast path); every
// conversion is exact, so results equal the scalar decoders.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "backend/cpu/decode_simd.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/highway.h>

#include "backend/cpu/decode_simd.hpp"

HWY_BEFORE_NAMESPACE();
namespace weightdiff::cpu::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// The 16-bit floats at p as float32 vectors of df's lanes.
template <class DF>
HWY_INLINE hn::Vec<DF> bf16_to_f32(DF df, const uint16_t* p) {
  const hn::Rebind<uint16_t, DF> d16;
  const hn::RebindToUnsigned<DF> d32;
  return hn::BitCast(df, hn::ShiftLeft<16>(hn::PromoteTo(d32, hn::LoadU(d16, p))));
}

template <class DF>
HWY_INLINE hn::Vec<DF> f16_to_f32(DF df, const uint16_t* p) {
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX2
  // F16C (vcvtph2ps): exact, Inf and NaN included.
  const hn::Rebind<hwy::float16_t, DF> dh;
  return hn::PromoteTo(df, hn::LoadU(dh, reinterpret_cast<const hwy::float16_t*>(p)));
#else
  // Without F16C, Highway 1.0's emulated f16 -> f32 turns Inf and NaN
  // into large finite numbers (exponent 31 rebiased like any other; the
  // conformance suite caught it on SSE4 and the scalar target). Bit
  // fields by hand instead, as backend/element.hpp defines them.
  const hn::Rebind<uint16_t, DF> d16;
  const hn::RebindToSigned<DF> di;
  const auto h = hn::PromoteTo(di, hn::LoadU(d16, p));  // 0 .. 0xFFFF
  const auto em = hn::And(h, hn::Set(di, 0x7FFF));
  const auto sign = hn::ShiftLeft<16>(hn::And(h, hn::Set(di, 0x8000)));
  const auto normal = hn::Add(hn::ShiftLeft<13>(em), hn::Set(di, (127 - 15) << 23));
  const auto infnan = hn::Or(hn::ShiftLeft<13>(em), hn::Set(di, 0x7F800000));
  const auto sub = hn::BitCast(di, hn::Mul(hn::ConvertTo(df, em), hn::Set(df, 0x1p-24f)));
  auto mag = hn::IfThenElse(hn::Gt(em, hn::Set(di, 0x3FF)), normal, sub);
  mag = hn::IfThenElse(hn::Gt(em, hn::Set(di, 0x7BFF)), infnan, mag);
  return hn::BitCast(df, hn::Or(mag, sign));
#endif
}

size_t DecodeSimd(DType type, const std::byte* src, size_t n, double* out) {
  const hn::ScalableTag<double> d;
  const hn::Rebind<float, decltype(d)> df;
  const size_t N = hn::Lanes(d);
  const size_t whole = n / N * N;
  switch (type) {
    case DType::f32: {
      const auto* p = reinterpret_cast<const float*>(src);
      for (size_t i = 0; i < whole; i += N) hn::StoreU(hn::PromoteTo(d, hn::LoadU(df, p + i)), d, out + i);
      return whole;
    }
    case DType::bf16:
    case DType::f16: {
      const auto* p = reinterpret_cast<const uint16_t*>(src);
      if (type == DType::bf16)
        for (size_t i = 0; i < whole; i += N) hn::StoreU(hn::PromoteTo(d, bf16_to_f32(df, p + i)), d, out + i);
      else
        for (size_t i = 0; i < whole; i += N) hn::StoreU(hn::PromoteTo(d, f16_to_f32(df, p + i)), d, out + i);
      return whole;
    }
    default:
      return 0;
  }
}

size_t DecodeSimdF32(DType type, const std::byte* src, size_t n, float* out) {
  const hn::ScalableTag<float> df;
  const size_t N = hn::Lanes(df);
  const size_t whole = n / N * N;
  const auto* p = reinterpret_cast<const uint16_t*>(src);
  if (type == DType::bf16)
    for (size_t i = 0; i < whole; i += N) hn::StoreU(bf16_to_f32(df, p + i), df, out + i);
  else if (type == DType::f16)
    for (size_t i = 0; i < whole; i += N) hn::StoreU(f16_to_f32(df, p + i), df, out + i);
  else if (type == DType::f32)  // a copy, from any alignment
    for (size_t i = 0; i < whole; i += N)
      hn::StoreU(hn::LoadU(df, reinterpret_cast<const float*>(src) + i), df, out + i);
  else
    return 0;
  return whole;
}

}  // namespace weightdiff::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace weightdiff::cpu {

HWY_EXPORT(DecodeSimd);
HWY_EXPORT(DecodeSimdF32);

size_t decode_simd(DType type, const std::byte* src, size_t n, double* out) {
  return HWY_DYNAMIC_DISPATCH(DecodeSimd)(type, src, n, out);
}

size_t decode_simd_f32(DType type, const std::byte* src, size_t n, float* out) {
  return HWY_DYNAMIC_DISPATCH(DecodeSimdF32)(type, src, n, out);
}

}  // namespace weightdiff::cpu
#endif  // HWY_ONCE
