// Owners of CUDA streams and events (as RMM's cuda_stream): move-only,
// created on the current device, destroyed once; a destructor never throws
// (a failure is logged with CUDA_LOG). Destroying one does not wait for
// work still queued on it: whoever frees memory that work uses synchronizes
// first (Pipeline's destructor does).
#pragma once

#include <cuda_runtime.h>

#include <utility>

#include "cuda_try.hpp"

namespace weightdiff::cuda {

// One runtime handle (a pointer type) and how to destroy it.
template <class Traits>
class UniqueHandle {
 public:
  using Handle = typename Traits::Handle;

  UniqueHandle(UniqueHandle&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
  UniqueHandle& operator=(UniqueHandle&& o) noexcept {
    if (this != &o) {
      reset();
      h_ = std::exchange(o.h_, nullptr);
    }
    return *this;
  }
  UniqueHandle(const UniqueHandle&) = delete;
  UniqueHandle& operator=(const UniqueHandle&) = delete;
  ~UniqueHandle() { reset(); }

  Handle get() const noexcept { return h_; }  // null once moved from
  void reset() noexcept {
    if (h_) CUDA_LOG(Traits::destroy(h_));
    h_ = nullptr;
  }

 protected:
  explicit UniqueHandle(Handle h) noexcept : h_(h) {}

 private:
  Handle h_;
};

struct StreamTraits {
  using Handle = cudaStream_t;
  static cudaError_t destroy(Handle h) noexcept { return cudaStreamDestroy(h); }
};

struct EventTraits {
  using Handle = cudaEvent_t;
  static cudaError_t destroy(Handle h) noexcept { return cudaEventDestroy(h); }
};

// A stream that does not synchronize with the legacy default stream.
class Stream : public UniqueHandle<StreamTraits> {
 public:
  Stream() : UniqueHandle(create()) {}

 private:
  static cudaStream_t create() {
    cudaStream_t s = nullptr;
    CUDA_TRY(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    return s;
  }
};

// An event; by default without timing (cheaper to record and wait on).
class Event : public UniqueHandle<EventTraits> {
 public:
  explicit Event(unsigned flags = cudaEventDisableTiming) : UniqueHandle(create(flags)) {}

 private:
  static cudaEvent_t create(unsigned flags) {
    cudaEvent_t e = nullptr;
    CUDA_TRY(cudaEventCreateWithFlags(&e, flags));
    return e;
  }
};

}  // namespace weightdiff::cuda
