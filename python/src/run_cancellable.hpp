// Runs a long library call with the GIL released while Ctrl-C still works.
//
// Python runs its signal handlers only on the main thread, and only when
// that thread executes Python code or calls PyErr_CheckSignals. So the work
// runs on a thread of its own, and the calling thread wakes every 50 ms,
// takes the GIL and checks for signals: a KeyboardInterrupt (or whatever a
// handler raises) sets the cancel flag, the library stops at its next poll
// (a few tenths of a second), and the Python exception is raised.
#pragma once

#include <functional>

#include "weightdiff/cancel.hpp"

namespace weightdiff::python {

// Call with the GIL held. Rethrows work's exception, or raises the pending
// Python exception of an interrupt (pybind11::error_already_set).
void run_cancellable(CancelFlag& cancel, const std::function<void()>& work);

}  // namespace weightdiff::python
