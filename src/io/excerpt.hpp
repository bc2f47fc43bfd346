// File content as an error message may quote it. A hostile file can hold a
// 10 MB dtype string, shard path or tensor name, or one full of control
// bytes; quoting it whole would print a 10 MB line or drive the terminal.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace weightdiff::io {

// Longest excerpt of file content in a message, in bytes.
inline constexpr size_t kMaxExcerpt = 200;

// `text` made printable and cut: valid UTF-8 except control bytes is kept,
// control bytes, DEL and bytes that break UTF-8 are written \xNN, and once
// the result would pass `max` bytes the rest is replaced by "…". Never cuts
// inside a character or an escape. Quotes around it are the caller's.
std::string excerpt(std::string_view text, size_t max = kMaxExcerpt);

}  // namespace weightdiff::io
