// File content as an error message may quote it. A hostile file can hold a
// 10 MB dtype string, shard path or tensor name, or one full of control
// bytes; quoting it whole would print a 10 MB line or drive the terminal.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace weightdiff::core {

// Length (2 to 4) of the well-formed UTF-8 sequence that starts at s[i]
// (no overlong forms, surrogates or code points past U+10FFFF), 0 if none
// does. ASCII bytes are not sequences here: 0 for them too.
size_t utf8_sequence_length(std::string_view s, size_t i) noexcept;

// Whether the text can reach a terminal as it is: well-formed UTF-8 with no
// C0 control, DEL or C1 control (U+0080..U+009F, which terminals obey too).
// Returns the length of the printable character at s[i], 0 if it is not one.
size_t printable_char_length(std::string_view s, size_t i) noexcept;

// Longest excerpt of file content in a message, in bytes.
inline constexpr size_t kMaxExcerpt = 200;

// `text` made printable and cut: valid UTF-8 except control bytes is kept,
// control bytes, DEL and bytes that break UTF-8 are written \xNN, and once
// the result would pass `max` bytes the rest is replaced by "…". Never cuts
// inside a character or an escape. Quotes around it are the caller's.
std::string excerpt(std::string_view text, size_t max = kMaxExcerpt);

}  // namespace weightdiff::core
