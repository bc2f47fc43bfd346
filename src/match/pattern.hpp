// A user's regex (--include, --exclude, --map) compiled by RE2: matching
// time is linear in the name and the stack bounded, whatever the pattern.
// (std::regex backtracked: minutes on `(a|aa)*c` over a long name, then a
// stack overflow.) The price is RE2's syntax: no backreferences, no
// lookaround.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace re2 {
class RE2;
}

namespace weightdiff::match {

// The most memory RE2 may spend on one compiled pattern (its programs and
// DFA caches); a bigger pattern is refused, a full cache falls back to the
// NFA, still linear.
inline constexpr long long kPatternMaxMem = 64ll << 20;

class Pattern {
 public:
  // `option` names the flag in messages (--include, --exclude, --map).
  // Throws Error(usage) naming it and the pattern when RE2 refuses it.
  Pattern(const std::string& pattern, const char* option);
  ~Pattern();
  Pattern(Pattern&&) noexcept;
  Pattern& operator=(Pattern&&) noexcept;

  // Whether the pattern matches anywhere in `text` (search semantics).
  bool search(std::string_view text) const;

  const re2::RE2& re2() const { return *re_; }
  const std::string& text() const { return text_; }
  const char* option() const { return option_; }

 private:
  std::unique_ptr<re2::RE2> re_;
  std::string text_;
  const char* option_;
};

// `option 'PATTERN'` for messages, the pattern cut to 200 bytes + "…" so
// that a huge argument does not flood the terminal.
std::string quoted_option(const char* option, std::string_view pattern);

}  // namespace weightdiff::match
