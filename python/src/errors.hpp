// weightdiff::Error as Python exceptions: a base weightdiff.Error and one
// subclass per error class (Errc), carrying the CLI's one-line message.
#pragma once

#include <pybind11/pybind11.h>

namespace weightdiff::python {

// Adds Error and its subclasses to `m` and translates every
// weightdiff::Error thrown through the binding into them.
void register_errors(pybind11::module_& m);

}  // namespace weightdiff::python
