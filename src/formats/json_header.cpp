#include "formats/json_header.hpp"

#include "formats/json_scan.hpp"

#include "core/excerpt.hpp"
#include "weightdiff/error.hpp"

namespace weightdiff::formats {

nlohmann::json parse_strict_json(std::string_view text, const std::string& display) {
  check_json_text(text, display);
  {
    JsonScan scan;
    nlohmann::json::sax_parse(text.begin(), text.end(), &scan);
    if (const auto v = scan.verdict(); !v.error.empty()) throw Error(v.code, v.error, display);
  }
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::exception& e) {  // the scan above passed: not expected
    throw Error(Errc::malformed, "header is not valid JSON: " + core::excerpt(e.what()), display);
  }
}

}  // namespace weightdiff::formats
