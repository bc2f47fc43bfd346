// CSV cells shared by the diff and inspect CSV reports (SPEC §5): null is an
// empty cell, numbers follow SPEC §5's number rule, shapes are `4096x4096`
// (a scalar's is empty), other integer lists (`max_abs_index`) joined by `;`;
// RFC 4180 quoting.
#pragma once

#include <ostream>
#include <string>
#include <string_view>

#include "weightdiff/report.hpp"

namespace weightdiff::report {

// A field's cell text, before quoting.
std::string csv_text(const Field& f);

// Writes text as one RFC 4180 cell: quoted, with its quotes doubled, when it
// holds a comma, a quote or a line break.
void write_csv_cell(std::ostream& out, std::string_view text);

}  // namespace weightdiff::report
