// weightdiff._core: the library for Python. Thin like the CLI: arguments
// into the library's typed options, the call with the GIL released, the
// library's own results and report writers out. The Python package
// (python/weightdiff) shapes arguments and results for users.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <tbb/global_control.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "array_import.hpp"
#include "errors.hpp"
#include "progress_line.hpp"
#include "results.hpp"
#include "run_cancellable.hpp"
#include "weightdiff/diff.hpp"
#include "weightdiff/error.hpp"
#include "weightdiff/gates.hpp"
#include "weightdiff/inspect.hpp"
#include "weightdiff/merge.hpp"
#include "weightdiff/model.hpp"
#include "weightdiff/report.hpp"
#include "weightdiff/version.hpp"

namespace py = pybind11;

namespace weightdiff::python {
namespace {

// One side of a call: a path, or arrays lent by the caller.
struct Side {
  std::string path;  // the path, or the label reports name the arrays by
  bool memory = false;
  ImportedArrays arrays;
};

// spec: a str path, or (label, [(name, array, dtype_name or None), ...]).
Side side_from(const py::object& spec) {
  Side s;
  if (py::isinstance<py::str>(spec)) {
    s.path = spec.cast<std::string>();
    return s;
  }
  const auto t = spec.cast<py::tuple>();
  s.path = t[0].cast<std::string>();
  s.memory = true;
  s.arrays = import_arrays(t[1].cast<py::sequence>());
  return s;
}

// Runs on the worker thread: only the lent arrays' pointers are read.
Model open_side(Side& s) {
  if (s.memory) return model_from_buffers(s.path, std::move(s.arrays.tensors));
  return open_model(s.path);
}

struct Compute {
  std::string backend = "auto";
  std::vector<int> devices;
  unsigned threads = 0;
  std::pair<int, int> hist_range{-40, 16};
};

ComputeOptions compute_options(const Compute& c) {
  ComputeOptions opt;
  opt.backend = parse_backend_kind(c.backend);
  opt.devices = c.devices;
  opt.threads = c.threads;
  opt.hist = HistRange{c.hist_range.first, c.hist_range.second};
  validate(opt);
  return opt;
}

// TBB caps its threads at the CPU count; threads=N above it is asked for.
std::unique_ptr<tbb::global_control> allow_threads(unsigned threads) {
  const size_t now = tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism);
  if (threads <= now) return nullptr;
  return std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism, threads);
}

// The part of a call that runs on the worker: TBB's cap lifted to the
// threads asked for, and the progress line while `body` computes.
void compute(ComputeOptions& opt, bool progress, const std::function<void()>& body) {
  const auto allow = allow_threads(opt.threads ? opt.threads : default_thread_count());
  std::optional<ProgressLine> line;
  if (progress) {
    line.emplace();
    opt.on_progress = [&](const Progress& p) { line->update(p); };
  }
  body();
}

DiffReport diff(const py::object& a_spec, const py::object& b_spec, std::vector<std::string> include,
                std::vector<std::string> exclude, const std::vector<std::string>& map,
                std::optional<double> atol, std::optional<double> rtol,
                const std::vector<std::string>& fail_if, const Compute& where, bool progress,
                bool structure_only, const std::string& transpose, const std::string& map_preset,
                const std::string& dequant, const std::string& shard) {
  DiffOptions opt;
  if (!shard.empty()) opt.shard = parse_shard(shard);
  opt.map_preset = map_preset;
  static_cast<ComputeOptions&>(opt) = compute_options(where);
  opt.include = std::move(include);
  opt.exclude = std::move(exclude);
  for (const auto& m : map) opt.map.push_back(parse_map_rule(m));
  opt.atol = atol;
  opt.rtol = rtol;
  opt.structure_only = structure_only;
  if (transpose != "auto" && transpose != "never") {  // as the CLI's --transpose
    std::string m = "transpose: '";  // += only: GCC 12's -Wrestrict misfires on "x" + s
    m += transpose;
    m += "' is not one of auto, never";
    throw Error(Errc::usage, m);
  }
  opt.transpose = transpose == "never" ? TransposeMode::never : TransposeMode::automatic;
  if (dequant != "auto" && dequant != "always" && dequant != "never") {  // as the CLI's --dequant
    std::string m = "dequant: '";
    m += dequant;
    m += "' is not one of auto, always, never";
    throw Error(Errc::usage, m);
  }
  opt.dequant = dequant == "always" ? DequantMode::always
                : dequant == "never" ? DequantMode::never
                                     : DequantMode::automatic;
  validate(opt);
  std::vector<Gate> gates;
  for (const auto& g : fail_if) gates.push_back(parse_gate(g));
  if (structure_only && gates_need_values(gates))  // as the CLI: without data they would all pass
    throw Error(Errc::usage, "--fail-if needs tensor values: not with --structure-only");

  Side a = side_from(a_spec);
  Side b = side_from(b_spec);
  CancelFlag cancel{false};
  opt.cancel = &cancel;
  DiffReport report;
  run_cancellable(cancel, [&] {
    compute(opt, progress, [&] {
      const Model ma = open_side(a);
      const Model mb = open_side(b);
      throw_if_cancelled(&cancel);
      report.result = diff_models(ma, mb, opt);
      apply_gates(report.result, gates);
      report.exit_code = exit_code(report.result, !gates.empty());
      report.inputs = input_file_rows(ma);
      for (auto& f : input_file_rows(mb)) report.inputs.push_back(std::move(f));
      report.a = described_model(ma);
      report.b = described_model(mb);
    });
  });
  return report;  // the lent arrays are released here, with the GIL
}

// weightdiff merge: the parts' reports joined (weightdiff/merge.hpp); a
// report written over a part is refused like one over an input.
DiffReport merge(const std::vector<std::string>& parts, const std::optional<std::vector<std::string>>& fail_if) {
  std::vector<Gate> gates;
  if (fail_if)
    for (const auto& g : *fail_if) gates.push_back(parse_gate(g));
  DiffReport report;
  {
    py::gil_scoped_release release;
    MergedRun run = merge_parts(parts);
    if (!fail_if)
      for (const auto& g : run.fail_if) gates.push_back(parse_gate(g));
    report.result = std::move(run.result);
    report.a = std::move(run.a);
    report.b = std::move(run.b);
  }
  apply_gates(report.result, gates);
  report.exit_code = exit_code(report.result, !gates.empty());
  for (const auto& p : parts)
    for (const auto& f : model_path_files(p)) report.inputs.push_back({f.device, f.inode, f.display});
  return report;
}

InspectReport inspect(const py::object& spec, std::vector<std::string> include,
                      std::vector<std::string> exclude, const Compute& where, bool progress) {
  InspectOptions opt;
  static_cast<ComputeOptions&>(opt) = compute_options(where);
  opt.include = std::move(include);
  opt.exclude = std::move(exclude);
  Side side = side_from(spec);
  CancelFlag cancel{false};
  opt.cancel = &cancel;
  InspectReport report;
  run_cancellable(cancel, [&] {
    compute(opt, progress, [&] {
      const Model m = open_side(side);
      throw_if_cancelled(&cancel);
      report.result = inspect_model(m, opt);
      report.exit_code = inspect_exit_code(report.result);
      report.inputs = input_file_rows(m);
      report.model = described_model(m);
    });
  });
  return report;
}

}  // namespace
}  // namespace weightdiff::python

PYBIND11_MODULE(_core, m) {
  namespace wp = weightdiff::python;
  m.doc() = "weightdiff's C++ library (use the weightdiff package, not this module)";
  m.attr("__version__") = weightdiff::kVersion;
  m.attr("backends") = weightdiff::compiled_backends();
  wp::register_errors(m);

  py::class_<wp::InputFileRow>(m, "InputFile")
      .def_readonly("device", &wp::InputFileRow::device)
      .def_readonly("inode", &wp::InputFileRow::inode)
      .def_readonly("display", &wp::InputFileRow::display);
  py::class_<wp::DiffReport>(m, "DiffReport")
      .def_readonly("exit_code", &wp::DiffReport::exit_code)
      .def_readonly("inputs", &wp::DiffReport::inputs)
      .def_property_readonly("notices", [](const wp::DiffReport& r) { return r.result.notices; })
      .def("json", &wp::DiffReport::json)
      .def("csv", &wp::DiffReport::csv)
      .def("html", &wp::DiffReport::html)
      .def("table", &wp::DiffReport::table, py::arg("top"), py::arg("sort"))
      .def("summary_line", &wp::DiffReport::summary_line);
  py::class_<wp::InspectReport>(m, "InspectReport")
      .def_readonly("exit_code", &wp::InspectReport::exit_code)
      .def_readonly("inputs", &wp::InspectReport::inputs)
      .def_property_readonly("notices", [](const wp::InspectReport& r) { return r.result.notices; })
      .def("json", &wp::InspectReport::json)
      .def("csv", &wp::InspectReport::csv)
      .def("table", &wp::InspectReport::table, py::arg("top"))
      .def("summary_line", &wp::InspectReport::summary_line);

  m.def(
      "diff",
      [](const py::object& a, const py::object& b, std::vector<std::string> include,
         std::vector<std::string> exclude, const std::vector<std::string>& map,
         std::optional<double> atol, std::optional<double> rtol,
         const std::vector<std::string>& fail_if, const std::string& backend,
         const std::vector<int>& devices, unsigned threads, std::pair<int, int> hist_range,
         bool progress, bool structure_only, const std::string& transpose,
         const std::string& map_preset, const std::string& dequant, const std::string& shard) {
        return wp::diff(a, b, std::move(include), std::move(exclude), map, atol, rtol, fail_if,
                        wp::Compute{backend, devices, threads, hist_range}, progress, structure_only,
                        transpose, map_preset, dequant, shard);
      },
      py::arg("a"), py::arg("b"), py::arg("include"), py::arg("exclude"), py::arg("map"),
      py::arg("atol"), py::arg("rtol"), py::arg("fail_if"), py::arg("backend"), py::arg("devices"),
      py::arg("threads"), py::arg("hist_range"), py::arg("progress"), py::arg("structure_only"),
      py::arg("transpose"), py::arg("map_preset"), py::arg("dequant"), py::arg("shard"));
  m.def("merge", &wp::merge, py::arg("parts"), py::arg("fail_if"));
  m.def(
      "inspect",
      [](const py::object& a, std::vector<std::string> include, std::vector<std::string> exclude,
         const std::string& backend, const std::vector<int>& devices, unsigned threads,
         std::pair<int, int> hist_range, bool progress) {
        return wp::inspect(a, std::move(include), std::move(exclude),
                           wp::Compute{backend, devices, threads, hist_range}, progress);
      },
      py::arg("a"), py::arg("include"), py::arg("exclude"), py::arg("backend"), py::arg("devices"),
      py::arg("threads"), py::arg("hist_range"), py::arg("progress"));
}
