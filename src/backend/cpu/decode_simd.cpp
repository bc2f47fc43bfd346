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
      const hn::Rebind<hwy::float16_t, decltype(d)> dh;
      const auto* p = reinterpret_cast<const hwy::float16_t*>(src);
      for (size_t i = 0; i < whole; i += N)
        hn::StoreU(hn::PromoteTo(d, hn::PromoteTo(df, hn::LoadU(dh, p + i))), d, out + i);
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
