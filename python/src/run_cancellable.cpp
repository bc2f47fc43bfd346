#include "run_cancellable.hpp"

#include <pybind11/pybind11.h>

#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>

namespace py = pybind11;

namespace weightdiff::python {

void run_cancellable(CancelFlag& cancel, const std::function<void()>& work) {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::exception_ptr error;
  std::thread worker([&] {
    try {
      work();
    } catch (...) {
      error = std::current_exception();
    }
    {
      const std::lock_guard<std::mutex> lock(mu);
      done = true;
    }
    cv.notify_all();
  });
  bool interrupted = false;
  for (bool finished = false; !finished;) {
    {
      py::gil_scoped_release release;
      std::unique_lock<std::mutex> lock(mu);
      finished = cv.wait_for(lock, std::chrono::milliseconds(50), [&] { return done; });
    }
    // After an interrupt the work is only waited for: it stops at its next poll.
    if (!finished && !interrupted && PyErr_CheckSignals() != 0) {
      interrupted = true;
      cancel.store(true);
    }
  }
  {
    py::gil_scoped_release release;
    worker.join();
  }
  if (interrupted) throw py::error_already_set();
  if (error) std::rethrow_exception(error);
}

}  // namespace weightdiff::python
