// fn(i) for i in [0, n) at once, one host thread each (i = 0 on the
// caller's): how the hybrid backend drives its workers and the CUDA backend
// its pipelines. Every call finishes before this returns; the error of the
// smallest i is rethrown, so the message is the same on every run.
#pragma once

#include <exception>
#include <functional>
#include <thread>
#include <vector>

namespace weightdiff::backend {

inline void on_each_thread(size_t n, const std::function<void(size_t)>& fn) {
  std::vector<std::exception_ptr> errors(n);
  auto run = [&](size_t i) {
    try {
      fn(i);
    } catch (...) {
      errors[i] = std::current_exception();
    }
  };
  std::vector<std::thread> threads;
  try {
    for (size_t i = 1; i < n; ++i) threads.emplace_back(run, i);
  } catch (...) {  // a joinable std::thread must never be destroyed
    for (auto& t : threads) t.join();
    throw;
  }
  if (n > 0) run(0);
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace weightdiff::backend
