#include "match/replace.hpp"

#include <re2/re2.h>

#include <vector>

#include "weightdiff/error.hpp"

namespace weightdiff::match {
namespace {

constexpr size_t kQuotedNameBytes = 64;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

class Output {
 public:
  Output(const Pattern& p, std::string_view text, std::string_view format, size_t max_size)
      : p_(p), text_(text), format_(format), max_(max_size) {}

  void append(std::string_view s) {
    if (s.size() > max_ - out_.size()) {
      std::string name(text_.substr(0, kQuotedNameBytes));
      if (text_.size() > kQuotedNameBytes) name += "…";
      throw Error(Errc::usage, quoted_option(p_.option(), p_.text() + "=" + std::string(format_)) +
                                   " turns '" + name + "' into a name longer than " +
                                   std::to_string(max_) + " bytes");
    }
    out_.append(s);
  }
  std::string take() { return std::move(out_); }

 private:
  const Pattern& p_;
  std::string_view text_, format_;
  size_t max_;
  std::string out_;
};

// One match's replacement. groups[0] is the match; a group that did not
// take part has data() == nullptr and is empty.
void expand(std::string_view format, const std::vector<re2::StringPiece>& groups,
            std::string_view before, std::string_view after, Output& out) {
  const size_t n_groups = groups.size() - 1;
  auto group = [&](size_t i) { return std::string_view(groups[i].data(), groups[i].size()); };
  size_t literal = 0;  // start of the format text not yet copied
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '$' || i + 1 == format.size()) continue;
    const char c = format[i + 1];
    std::string_view with;
    size_t used = 2;  // format bytes replaced
    if (c == '$') with = "$";
    else if (c == '&') with = group(0);
    else if (c == '`') with = before;
    else if (c == '\'') with = after;
    else if (is_digit(c)) {
      const size_t one = static_cast<size_t>(c - '0');
      const size_t two = i + 2 < format.size() && is_digit(format[i + 2])
                             ? one * 10 + static_cast<size_t>(format[i + 2] - '0')
                             : 0;
      if (two >= 1 && two <= n_groups) with = group(two), used = 3;
      else if (one >= 1 && one <= n_groups) with = group(one);
      else continue;  // $0, or a group the pattern lacks: literal
    } else {
      continue;  // an unknown $-sequence is itself
    }
    out.append(format.substr(literal, i - literal));
    out.append(with);
    literal = i + used;
    i += used - 1;
  }
  out.append(format.substr(literal));
}

}  // namespace

std::string replace_all(const Pattern& pattern, std::string_view text, std::string_view format,
                        size_t max_size) {
  const RE2& re = pattern.re2();
  std::vector<re2::StringPiece> groups(1 + static_cast<size_t>(re.NumberOfCapturingGroups()));
  const int n = static_cast<int>(groups.size());
  const re2::StringPiece subject(text.data(), text.size());
  Output out(pattern, text, format, max_size);
  size_t copied = 0;  // text before this is in `out`
  size_t from = 0;    // where the next search starts
  while (from <= text.size() &&
         re.Match(subject, from, text.size(), RE2::UNANCHORED, groups.data(), n)) {
    const size_t begin = static_cast<size_t>(groups[0].data() - text.data());
    const size_t end = begin + groups[0].size();
    out.append(text.substr(copied, begin - copied));
    expand(format, groups, text.substr(copied, begin - copied), text.substr(end), out);
    copied = end;
    // Past an empty match, one byte on; the next match may start right there.
    from = end == begin ? end + 1 : end;
  }
  out.append(text.substr(copied));
  return out.take();
}

}  // namespace weightdiff::match
