#pragma once

namespace weightdiff {
inline constexpr const char* kVersion = "0.1.0";
}  // namespace weightdiff
