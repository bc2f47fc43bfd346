#include "results.hpp"

#include <sstream>

#include "weightdiff/inspect_report.hpp"
#include "weightdiff/report.hpp"

namespace weightdiff::python {
namespace {

template <class Write>
std::string to_string(Write write) {
  std::ostringstream out;
  write(out);
  return std::move(out).str();
}

// The table's last line that starts with one of the summary openings (the
// table prints the summary after the rows, and a --fail-if line after it).
std::string line_starting(const std::string& table, std::initializer_list<const char*> openings) {
  std::istringstream in(table);
  std::string found;
  for (std::string line; std::getline(in, line);)
    for (const char* o : openings)
      if (line.rfind(o, 0) == 0) found = line;
  return found;
}

}  // namespace

Model described_model(const Model& m) {
  Model d = m;
  for (auto& t : d.tensors) t.storage.reset();
  return d;
}

std::vector<InputFileRow> input_file_rows(const Model& m) {
  std::vector<InputFileRow> rows;
  if (m.format == "memory") return rows;
  for (const auto& f : model_input_files(m)) rows.push_back({f.device, f.inode, f.display});
  return rows;
}

std::string DiffReport::json() const {
  return to_string([&](std::ostream& o) { write_json(o, ReportContext{&a, &b, &result}); });
}
std::string DiffReport::csv() const {
  return to_string([&](std::ostream& o) { write_csv(o, ReportContext{&a, &b, &result}); });
}
std::string DiffReport::html() const {
  return to_string([&](std::ostream& o) { write_html(o, ReportContext{&a, &b, &result}); });
}
std::string DiffReport::table(size_t top, const std::string& sort) const {
  TableOptions t;
  t.top = top;
  t.sort = sort;
  return to_string([&](std::ostream& o) { print_table(o, ReportContext{&a, &b, &result}, t); });
}
std::string DiffReport::summary_line() const {
  return line_starting(table(1, "rel_l2"), {"compared ", "structure only: "});
}

std::string InspectReport::json() const {
  return to_string([&](std::ostream& o) { write_inspect_json(o, InspectReportContext{&model, &result}); });
}
std::string InspectReport::csv() const {
  return to_string([&](std::ostream& o) { write_inspect_csv(o, InspectReportContext{&model, &result}); });
}
std::string InspectReport::table(size_t top) const {
  InspectTableOptions t;
  t.top = top;
  return to_string(
      [&](std::ostream& o) { print_inspect_table(o, InspectReportContext{&model, &result}, t); });
}
std::string InspectReport::summary_line() const {
  return line_starting(table(1), {"inspected "});
}

}  // namespace weightdiff::python
