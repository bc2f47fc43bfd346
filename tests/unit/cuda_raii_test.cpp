// CUDA_TRY, CUDA_LOG and the RAII owners of kernels/ (streams, events,
// device and pinned buffers). Built only with the CUDA backend. Without a
// usable device the runtime fails every call, which is what the error
// paths need; what needs a device (allocation, moves of live handles, the
// last-error reset) skips with the reason.
#include <gtest/gtest.h>

#include <string>
#include <type_traits>

#include "kernels/cuda_buffer.hpp"
#include "kernels/cuda_handles.hpp"
#include "kernels/cuda_try.hpp"
#include "kernels/probe.hpp"
#include "weightdiff/error.hpp"

namespace weightdiff::cuda {
namespace {

// Owners: move-only, and neither moving nor releasing can throw.
template <class T>
constexpr bool kMoveOnlyNothrow =
    !std::is_copy_constructible_v<T> && !std::is_copy_assignable_v<T> &&
    std::is_nothrow_move_constructible_v<T> && std::is_nothrow_move_assignable_v<T> &&
    std::is_nothrow_destructible_v<T>;
static_assert(kMoveOnlyNothrow<Stream>);
static_assert(kMoveOnlyNothrow<Event>);
static_assert(kMoveOnlyNothrow<DeviceBuffer<float>>);
static_assert(kMoveOnlyNothrow<PinnedBuffer<uint8_t>>);

cudaError_t fails_with(cudaError_t e) { return e; }

std::string detail_of(void (*f)()) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::backend);
    return e.detail();
  }
  ADD_FAILURE() << "no Error thrown";
  return {};
}

TEST(CudaTry, ThrowsABackendErrorNamingTheCallTheErrorAndThePlace) {
  const std::string d = detail_of([] { CUDA_TRY(fails_with(cudaErrorInvalidValue)); });
  EXPECT_NE(d.find("fails_with(cudaErrorInvalidValue)"), std::string::npos) << d;
  EXPECT_NE(d.find(cudaGetErrorString(cudaErrorInvalidValue)), std::string::npos) << d;
  EXPECT_NE(d.find("cuda_raii_test.cpp:"), std::string::npos) << d;
  EXPECT_NO_THROW(CUDA_TRY(fails_with(cudaSuccess)));
}

TEST(CudaLog, WritesOneLineToStderrAndGoesOn) {
  testing::internal::CaptureStderr();
  CUDA_LOG(fails_with(cudaErrorInvalidValue));
  CUDA_LOG(fails_with(cudaSuccess));  // nothing
  const std::string out = testing::internal::GetCapturedStderr();
  EXPECT_EQ(out.find('\n'), out.size() - 1) << out;
  EXPECT_NE(out.find("fails_with(cudaErrorInvalidValue)"), std::string::npos) << out;
  EXPECT_NE(out.find(cudaGetErrorString(cudaErrorInvalidValue)), std::string::npos) << out;
}

TEST(CudaRaii, EmptyBuffersAllocateNothing) {
  DeviceBuffer<double> d(0);
  PinnedBuffer<double> h;
  EXPECT_EQ(d.data(), nullptr);
  EXPECT_EQ(d.bytes(), 0u);
  EXPECT_EQ(h.data(), nullptr);
}

TEST(CudaRaii, WithoutADeviceCreationIsABackendErrorNamingTheCall) {
  const ProbeResult probe = probe_device();
  if (probe.usable) GTEST_SKIP() << "a device is usable (" << probe.reason << "): creation succeeds";
  EXPECT_NE(detail_of([] { Stream s; }).find("cudaStreamCreateWithFlags"), std::string::npos);
  EXPECT_NE(detail_of([] { Event e; }).find("cudaEventCreateWithFlags"), std::string::npos);
  EXPECT_NE(detail_of([] { DeviceBuffer<float> b(16); }).find("cudaMalloc"), std::string::npos);
  EXPECT_NE(detail_of([] { PinnedBuffer<float> b(16); }).find("cudaHostAlloc"), std::string::npos);
}

TEST(CudaRaii, MovesTransferOwnership) {
  const ProbeResult probe = probe_device();
  if (!probe.usable) GTEST_SKIP() << "no usable CUDA device: " << probe.reason;
  Stream s;
  ASSERT_NE(s.get(), nullptr);
  const cudaStream_t raw = s.get();
  Stream t(std::move(s));
  EXPECT_EQ(s.get(), nullptr);
  EXPECT_EQ(t.get(), raw);
  Event e;
  EXPECT_NE(e.get(), nullptr);
  DeviceBuffer<float> d(16);
  ASSERT_NE(d.data(), nullptr);
  EXPECT_EQ(d.bytes(), 64u);
  DeviceBuffer<float> d2;
  d2 = std::move(d);
  EXPECT_EQ(d.data(), nullptr);
  EXPECT_EQ(d2.size(), 16u);
  PinnedBuffer<int> h(4);
  h.data()[3] = 7;  // host memory
  CUDA_TRY(cudaMemcpyAsync(d2.data(), h.data(), h.bytes(), cudaMemcpyHostToDevice, t.get()));
  CUDA_TRY(cudaStreamSynchronize(t.get()));
}

TEST(CudaTry, ResetsTheLastError) {
  const ProbeResult probe = probe_device();
  if (!probe.usable) GTEST_SKIP() << "no usable CUDA device: " << probe.reason;
  void* p = nullptr;
  // Far beyond any device's memory: a failure that is not sticky.
  EXPECT_THROW(CUDA_TRY(cudaMalloc(&p, size_t{1} << 62)), Error);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
}

}  // namespace
}  // namespace weightdiff::cuda
