// SIMD decoding of the dtypes that dominate checkpoints (f32, bf16, f16) to
// float64; every conversion is exact, so results equal the scalar decoders.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "backend/cpu/decode_simd.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/highway.h>

#include "backend/cpu/decode_simd.hpp"

HWY_BEFORE_NAMESPACE();
namespace weightdiff::cpu::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

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
    case DType::bf16: {
      const hn::Rebind<uint16_t, decltype(d)> d16;
      const hn::Rebind<uint32_t, decltype(d)> d32;
      const auto* p = reinterpret_cast<const uint16_t*>(src);
      for (size_t i = 0; i < whole; i += N) {
        const auto bits = hn::ShiftLeft<16>(hn::PromoteTo(d32, hn::LoadU(d16, p + i)));
        hn::StoreU(hn::PromoteTo(d, hn::BitCast(df, bits)), d, out + i);
      }
      return whole;
    }
    case DType::f16: {
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX2
      // F16C (vcvtph2ps): exact, Inf and NaN included.
      const hn::Rebind<hwy::float16_t, decltype(d)> dh;
      const auto* p = reinterpret_cast<const hwy::float16_t*>(src);
      for (size_t i = 0; i < whole; i += N)
        hn::StoreU(hn::PromoteTo(d, hn::PromoteTo(df, hn::LoadU(dh, p + i))), d, out + i);
#else
      // Without F16C, Highway 1.0's emulated f16 -> f32 turns Inf and NaN
      // into large finite numbers (exponent 31 rebiased like any other; the
      // conformance suite caught it on SSE4 and the scalar target). Bit
      // fields by hand instead, as backend/element.hpp defines them.
      const hn::Rebind<uint16_t, decltype(d)> d16;
      const hn::Rebind<int32_t, decltype(d)> di;
      const auto* p = reinterpret_cast<const uint16_t*>(src);
      for (size_t i = 0; i < whole; i += N) {
        const auto h = hn::PromoteTo(di, hn::LoadU(d16, p + i));  // 0 .. 0xFFFF
        const auto em = hn::And(h, hn::Set(di, 0x7FFF));
        const auto sign = hn::ShiftLeft<16>(hn::And(h, hn::Set(di, 0x8000)));
        const auto normal = hn::Add(hn::ShiftLeft<13>(em), hn::Set(di, (127 - 15) << 23));
        const auto infnan = hn::Or(hn::ShiftLeft<13>(em), hn::Set(di, 0x7F800000));
        const auto sub = hn::BitCast(di, hn::Mul(hn::ConvertTo(df, em), hn::Set(df, 0x1p-24f)));
        auto mag = hn::IfThenElse(hn::Gt(em, hn::Set(di, 0x3FF)), normal, sub);
        mag = hn::IfThenElse(hn::Gt(em, hn::Set(di, 0x7BFF)), infnan, mag);
        hn::StoreU(hn::PromoteTo(d, hn::BitCast(df, hn::Or(mag, sign))), d, out + i);
      }
#endif
      return whole;
    }
    default:
      return 0;
  }
}

}  // namespace weightdiff::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace weightdiff::cpu {

HWY_EXPORT(DecodeSimd);

size_t decode_simd(DType type, const std::byte* src, size_t n, double* out) {
  return HWY_DYNAMIC_DISPATCH(DecodeSimd)(type, src, n, out);
}

}  // namespace weightdiff::cpu
#endif  // HWY_ONCE
