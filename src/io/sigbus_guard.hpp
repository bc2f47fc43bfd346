// A file truncated while it is mapped makes the next read of a vanished page
// raise SIGBUS. This guard turns that signal, on the thread that reads, into
// Error(changed) naming the file, so the CLI exits 2 instead of dying.
#pragma once

#include <csetjmp>

#include "io/mapped_file.hpp"
#include "weightdiff/error.hpp"

namespace weightdiff::io {

namespace detail {
struct SigbusScope {
  sigjmp_buf env;
  const void* fault_address = nullptr;
};
// Installs the process-wide handler once; it jumps back to this thread's
// active scope, or restores the default action when there is none.
void install_sigbus_handler();
SigbusScope*& active_sigbus_scope();
}  // namespace detail

// Runs read() (which must only read the mappings of a and b and allocate
// nothing that outlives it: on a fault, its frames are abandoned).
template <typename Read>
void read_guarded(const Storage* a, const Storage* b, Read&& read) {
  detail::install_sigbus_handler();
  detail::SigbusScope scope;
  detail::SigbusScope* const outer = detail::active_sigbus_scope();  // guards nest
  if (sigsetjmp(scope.env, 1) != 0) {
    detail::active_sigbus_scope() = outer;
    const Storage* f = a && a->contains(scope.fault_address) ? a : b;
    throw Error(Errc::changed, "file changed while reading (truncated?)",
                f ? f->display_path() : std::string());
  }
  detail::active_sigbus_scope() = &scope;
  try {
    read();
  } catch (...) {  // never leave a scope behind that points at a dead frame
    detail::active_sigbus_scope() = outer;
    throw;
  }
  detail::active_sigbus_scope() = outer;
}

}  // namespace weightdiff::io
