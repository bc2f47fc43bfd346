#include "errors.hpp"

#include <array>

#include "weightdiff/error.hpp"
#include "weightdiff/report.hpp"

namespace py = pybind11;

namespace weightdiff::python {
namespace {

struct ErrorClass {
  Errc code;
  const char* name;
  bool value_error;  // also a ValueError: what Python code expects of a bad argument
};

// One per Errc, in its order.
constexpr std::array<ErrorClass, 9> kClasses{{
    {Errc::usage, "UsageError", true},
    {Errc::io, "FileAccessError", false},
    {Errc::malformed, "MalformedFileError", false},
    {Errc::unsafe_path, "UnsafePathError", false},
    {Errc::conflict, "NameConflictError", false},
    {Errc::unsupported, "UnsupportedError", false},
    {Errc::backend, "BackendError", false},
    {Errc::changed, "FileChangedError", false},
    {Errc::cancelled, "CancelledError", false},
}};

// Owned by the module too; the translator runs while it is loaded.
std::array<PyObject*, kClasses.size()> g_classes{};

void raise(const Error& e) {
  PyObject* cls = g_classes[static_cast<size_t>(e.code())];
  // The CLI's line without its "weightdiff: error: " prefix.
  const std::string message = printable(e.what());
  py::object instance;
  try {
    instance = py::reinterpret_borrow<py::object>(cls)(py::str(message));
  } catch (py::error_already_set& e) {
    e.restore();
    return;
  }
  instance.attr("errc") = errc_name(e.code());
  instance.attr("file") = e.file();
  instance.attr("tensor") = e.tensor();
  instance.attr("detail") = e.detail();
  PyErr_SetObject(cls, instance.ptr());
}

}  // namespace

void register_errors(py::module_& m) {
  static_assert(static_cast<size_t>(Errc::cancelled) + 1 == kClasses.size());
  const std::string prefix = "weightdiff.";
  PyObject* base = PyErr_NewExceptionWithDoc(
      (prefix + "Error").c_str(),
      "Any failure weightdiff reports (the CLI's exit 2). Attributes: errc (the error class, "
      "e.g. 'malformed'), file, tensor (may be empty), detail (the message without them).",
      PyExc_Exception, nullptr);
  if (!base) throw py::error_already_set();
  m.attr("Error") = py::reinterpret_borrow<py::object>(base);
  for (const auto& c : kClasses) {
    py::tuple bases = c.value_error ? py::make_tuple(py::handle(base), py::handle(PyExc_ValueError))
                                    : py::make_tuple(py::handle(base));
    PyObject* cls = PyErr_NewException((prefix + c.name).c_str(), bases.ptr(), nullptr);
    if (!cls) throw py::error_already_set();
    g_classes[static_cast<size_t>(c.code)] = cls;
    m.attr(c.name) = py::reinterpret_borrow<py::object>(cls);
  }
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      raise(e);
    }
  });
}

}  // namespace weightdiff::python
