// Owners of device memory and of pinned (page-locked) host memory: n
// elements of a trivially copyable T, uninitialized, move-only, freed once;
// a destructor never throws (a failure is logged with CUDA_LOG). Device
// pointers keep the d_ prefix where they are taken (d_buf.data()).
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <type_traits>
#include <utility>

#include "cuda_try.hpp"

namespace weightdiff::cuda {

template <class T, class Memory>
class Buffer {
  static_assert(std::is_trivially_copyable_v<T>, "bytes copied to and from the device");

 public:
  Buffer() noexcept = default;
  // n == 0 allocates nothing (data() is null).
  explicit Buffer(size_t n) : n_(n) {
    if (n_ == 0) return;
    void* p = nullptr;
    Memory::allocate(&p, n_ * sizeof(T));
    p_ = static_cast<T*>(p);
  }
  Buffer(Buffer&& o) noexcept : p_(std::exchange(o.p_, nullptr)), n_(std::exchange(o.n_, 0)) {}
  Buffer& operator=(Buffer&& o) noexcept {
    if (this != &o) {
      reset();
      p_ = std::exchange(o.p_, nullptr);
      n_ = std::exchange(o.n_, 0);
    }
    return *this;
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() { reset(); }

  T* data() const noexcept { return p_; }
  size_t size() const noexcept { return n_; }
  size_t bytes() const noexcept { return n_ * sizeof(T); }
  // Frees now (before a larger allocation replaces it: lower peak memory).
  void reset() noexcept {
    if (p_) Memory::free(p_);
    p_ = nullptr;
    n_ = 0;
  }

 private:
  T* p_ = nullptr;
  size_t n_ = 0;
};

struct DeviceMemory {
  static void allocate(void** p, size_t bytes) { CUDA_TRY(cudaMalloc(p, bytes)); }
  static void free(void* p) noexcept { CUDA_LOG(cudaFree(p)); }
};

struct PinnedMemory {
  static void allocate(void** p, size_t bytes) {
    CUDA_TRY(cudaHostAlloc(p, bytes, cudaHostAllocDefault));
  }
  static void free(void* p) noexcept { CUDA_LOG(cudaFreeHost(p)); }
};

template <class T>
using DeviceBuffer = Buffer<T, DeviceMemory>;  // cudaMalloc / cudaFree
template <class T>
using PinnedBuffer = Buffer<T, PinnedMemory>;  // cudaHostAlloc / cudaFreeHost

}  // namespace weightdiff::cuda
