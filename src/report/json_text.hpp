// Streamed JSON text: byte for byte what nlohmann's compact dump writes for
// the same values (its number formatting, ensure_ascii off, text that is not
// UTF-8 replaced), so reports of 10^5 tensors are written row by row from
// the results instead of through one DOM per row (~70% of a 100k-tensor
// run went into building, dumping and freeing those).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "weightdiff/bins.hpp"
#include "weightdiff/fields.hpp"

namespace weightdiff::report {

class JsonText {
 public:
  // Separators are the writer's: a value or key after another gets its ','.
  JsonText& begin_object();
  JsonText& end_object();
  JsonText& begin_array();
  JsonText& end_array();
  JsonText& key(std::string_view k);

  JsonText& null();
  JsonText& boolean(bool v);
  JsonText& number(uint64_t v);
  JsonText& number(int64_t v);
  // SPEC §5: finite as nlohmann writes it, non-finite as "nan"/"inf"/"-inf".
  JsonText& number(double v);
  JsonText& string(std::string_view s);
  JsonText& numbers(std::span<const uint64_t> v);
  JsonText& numbers(const Bins& v);
  JsonText& strings(const std::vector<std::string>& v);
  // A report field's value (report::json_value's, without the DOM).
  JsonText& value(const FieldValue& v);

  // The text so far; take() hands it over and starts afresh at the same depth.
  const std::string& text() const noexcept { return s_; }
  std::string take();
  // Text written as it is, that separates what follows from what came
  // before (",\n" between report lines): the next value takes no ','.
  void append_separator(std::string_view raw) {
    s_ += raw;
    first_.back() = true;
  }

 private:
  void separate();

  std::string s_;
  std::vector<bool> first_{true};  // per open container: nothing written in it yet
};

}  // namespace weightdiff::report
