// Host/device portability for the per-element code both backends share.
//
// The headers that use WD_HD are compiled three ways: by nvcc for the
// device, by nvcc's host pass, and by the host compiler for the CPU backend,
// the CUDA pipeline and its host emulation (tests/unit/cuda_*). Keep them plain C++17:
// no std:: calls that have no device twin, no exceptions, no allocation.
#pragma once

#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define WD_HD __host__ __device__ __forceinline__
#else
#define WD_HD inline
#endif
#if defined(__CUDA_ARCH__)  // nvcc's host pass hands pragmas to the host compiler
#define WD_UNROLL _Pragma("unroll")
#else
#define WD_UNROLL
#endif

namespace weightdiff::backend {

WD_HD double bits_to_f64(uint64_t u) {
#if defined(__CUDA_ARCH__)
  return __longlong_as_double(static_cast<long long>(u));
#else
  double d;
  std::memcpy(&d, &u, sizeof d);
  return d;
#endif
}

WD_HD uint64_t f64_to_bits(double d) {
#if defined(__CUDA_ARCH__)
  return static_cast<uint64_t>(__double_as_longlong(d));
#else
  uint64_t u;
  std::memcpy(&u, &d, sizeof u);
  return u;
#endif
}

WD_HD float bits_to_f32(uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
#endif
}

// Separately rounded float64 operations (SPEC §2: the tolerance test must
// not be contracted into an FMA on any backend).
WD_HD double add_rn(double x, double y) {
#if defined(__CUDA_ARCH__)
  return __dadd_rn(x, y);
#else
  return x + y;  // host code is built with -ffp-contract=off
#endif
}
WD_HD double mul_rn(double x, double y) {
#if defined(__CUDA_ARCH__)
  return __dmul_rn(x, y);
#else
  return x * y;
#endif
}

WD_HD double abs_f64(double x) { return bits_to_f64(f64_to_bits(x) & ~(uint64_t{1} << 63)); }
// Finite: neither NaN nor ±inf (exponent field not all ones).
WD_HD bool is_finite(double x) { return (f64_to_bits(x) & 0x7FF0000000000000ull) != 0x7FF0000000000000ull; }
WD_HD bool is_nan(double x) { return x != x; }

WD_HD double f64_nan() { return bits_to_f64(0x7FF8000000000000ull); }
WD_HD double f64_inf() { return bits_to_f64(0x7FF0000000000000ull); }

// 2^k for k in the normal float64 range.
WD_HD double pow2(int k) { return bits_to_f64(static_cast<uint64_t>(k + 1023) << 52); }

}  // namespace weightdiff::backend
