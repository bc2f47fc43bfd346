// --map's substitution: every non-overlapping match of a pattern replaced by
// an ECMAScript-format replacement, as std::regex_replace did, over RE2's
// matches (RE2's own Rewrite speaks \1, not $1).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "match/pattern.hpp"

namespace weightdiff::match {

// Replaces every match of `pattern` in `text` by `format`, where
//   $1…$99  the group (two digits when that group exists, else one; an
//           unmatched group is empty), $& the match, $$ a '$',
//   $`      the text between the previous match (or the start) and this one,
//   $'      the text after the match,
// and any other '$' is itself. After an empty match the search resumes one
// byte later (so 'x*' puts the replacement between every byte); unlike
// libstdc++ it does not first look for a non-empty match at the same place
// (which RE2 cannot express): `a*?` on "aa" gives "-a-a-", not "-----".
// Throws Error(usage) when the result would exceed `max_size` bytes, before
// building it: `$'` after every empty match is quadratic in the name.
std::string replace_all(const Pattern& pattern, std::string_view text, std::string_view format,
                        size_t max_size);

}  // namespace weightdiff::match
