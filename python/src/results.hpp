// What diff and inspect hand back to Python: the library's own result with
// the models it describes, so that every report is written by the library's
// writers (src/report) exactly as the CLI writes it.
#pragma once

#include <string>
#include <vector>

#include "weightdiff/diff.hpp"
#include "weightdiff/inspect.hpp"
#include "weightdiff/model.hpp"

namespace weightdiff::python {

// A model as reports describe it (path, format, counts, metadata), its
// tensors' storage dropped: the arrays a caller lent are released when the
// call returns, and a report never reads tensor bytes.
Model described_model(const Model& m);

// (device, inode, display) of the files a run read: a report written over
// one would destroy an input (SPEC §8); the Python writers refuse them.
struct InputFileRow {
  uint64_t device = 0, inode = 0;
  std::string display;
};
std::vector<InputFileRow> input_file_rows(const Model& m);

struct DiffReport {
  Model a, b;
  DiffResult result;
  int exit_code = 0;
  std::vector<InputFileRow> inputs;

  std::string json() const;
  std::string csv() const;
  std::string html() const;
  // The terminal table (no color); Error(usage) for an unknown sort metric.
  std::string table(size_t top, const std::string& sort) const;
  // Its summary line ("compared 38: 28 identical, ...").
  std::string summary_line() const;
};

struct InspectReport {
  Model model;
  InspectResult result;
  int exit_code = 0;
  std::vector<InputFileRow> inputs;

  std::string json() const;
  std::string csv() const;
  std::string table(size_t top) const;
  std::string summary_line() const;
};

}  // namespace weightdiff::python
