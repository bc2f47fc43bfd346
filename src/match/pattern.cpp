#include "match/pattern.hpp"

#include <re2/re2.h>

#include "core/excerpt.hpp"
#include "weightdiff/error.hpp"

namespace weightdiff::match {
namespace {

constexpr size_t kQuotedPatternBytes = 200;

RE2::Options user_pattern_options() {
  RE2::Options o;
  // Bytes, not UTF-8: tensor names may hold any bytes, and a UTF-8 pattern
  // still matches its own bytes literally.
  o.set_encoding(RE2::Options::EncodingLatin1);
  o.set_max_mem(kPatternMaxMem);
  o.set_log_errors(false);  // the error goes into our message, not to stderr
  return o;
}

// What RE2's syntax leaves out that ECMAScript (std::regex) had: say so,
// as RE2's own "invalid perl operator: (?=" does not.
bool uses_lookaround_or_backreference(std::string_view p) {
  for (size_t i = 0; i + 1 < p.size(); ++i) {
    if (p[i] == '\\') {
      if (p[i + 1] >= '1' && p[i + 1] <= '9') return true;
      ++i;  // skip the escaped character
    } else if (p[i] == '(' && p[i + 1] == '?' && i + 2 < p.size() &&
               (p[i + 2] == '=' || p[i + 2] == '!' ||
                (p[i + 2] == '<' && i + 3 < p.size() && (p[i + 3] == '=' || p[i + 3] == '!')))) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::string quoted_option(const char* option, std::string_view pattern) {
  return std::string(option) + " '" + core::excerpt(pattern) + "'";
}

Pattern::Pattern(const std::string& pattern, const char* option)
    : re_(std::make_unique<RE2>(pattern, user_pattern_options())), text_(pattern), option_(option) {
  if (re_->ok()) return;
  // RE2 quotes the offending part, which may be most of a long pattern.
  std::string why = "invalid regex: " + re_->error().substr(0, kQuotedPatternBytes);
  if (re_->error_code() == RE2::ErrorPatternTooLarge)
    why = "regex too large (its compiled form exceeds " + std::to_string(kPatternMaxMem >> 20) +
          " MiB)";
  if (uses_lookaround_or_backreference(pattern))
    why += " (patterns are RE2 syntax: no lookaround or backreferences)";
  throw Error(Errc::usage, quoted_option(option, pattern) + ": " + why);
}

Pattern::~Pattern() = default;
Pattern::Pattern(Pattern&&) noexcept = default;
Pattern& Pattern::operator=(Pattern&&) noexcept = default;

bool Pattern::search(std::string_view text) const { return RE2::PartialMatch(text, *re_); }

}  // namespace weightdiff::match
