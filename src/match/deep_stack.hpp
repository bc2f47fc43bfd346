// Runs a function on a thread with a large stack and returns its result
// (or rethrows its exception) on the caller's thread.
//
// libstdc++'s std::regex executor recurses once per character of the
// subject: a 16 KiB tensor name under `--include '(a|b)*c'` overflows the
// default 8 MiB stack. The memory is only reserved; pages are committed as
// the recursion actually reaches them.
#pragma once

#include <pthread.h>

#include <cstddef>
#include <exception>
#include <optional>
#include <utility>

#include "weightdiff/error.hpp"

namespace weightdiff::match {

inline constexpr size_t kDeepStackBytes = size_t{512} << 20;

template <typename F>
auto on_deep_stack(F&& f) -> decltype(f()) {
  using R = decltype(f());
  struct Job {
    F* f;
    std::optional<R> result;
    std::exception_ptr error;
  } job{&f, std::nullopt, nullptr};
  const auto body = [](void* p) -> void* {
    auto* j = static_cast<Job*>(p);
    try {
      j->result.emplace((*j->f)());
    } catch (...) {
      j->error = std::current_exception();
    }
    return nullptr;
  };
  pthread_attr_t attr;
  pthread_t thread;
  const bool started = pthread_attr_init(&attr) == 0 &&
                       pthread_attr_setstacksize(&attr, kDeepStackBytes) == 0 &&
                       pthread_create(&thread, &attr, body, &job) == 0;
  pthread_attr_destroy(&attr);
  if (!started) return f();  // no thread to be had: the caller's stack, as before
  pthread_join(thread, nullptr);
  if (job.error) std::rethrow_exception(job.error);
  return std::move(*job.result);
}

}  // namespace weightdiff::match
