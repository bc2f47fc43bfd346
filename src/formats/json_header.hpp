// Strict JSON parsing for headers read from model files: valid UTF-8, one
// JSON document, and no object with a key given twice (nlohmann::json would
// silently keep the last one).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace weightdiff::formats {

// Throws Error(malformed) for invalid UTF-8 or JSON, Error(conflict) for a
// duplicate key; `display` names the file in the message.
nlohmann::json parse_strict_json(std::string_view text, const std::string& display);

}  // namespace weightdiff::formats
