#include "match/prefix_hint.hpp"

#include <algorithm>
#include <map>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace weightdiff::match {
namespace {

// Deep enough for `base_model.model.model.`; the deeper, the more noise.
constexpr size_t kMaxPrefixComponents = 4;
// A rest shared by this many A prefixes (`weight`) says nothing about a
// consistent rename; skipping it also bounds the work on huge models.
constexpr size_t kMaxPrefixesPerRest = 16;
// Candidates, by votes, checked exactly against the whole name lists.
constexpr size_t kCandidatesChecked = 8;
// More exceptions than this make a rule no one wants to paste.
constexpr size_t kMaxExceptions = 4;
// One or two pairs (`encoder.weight` vs `decoder.weight`) are as likely a
// coincidence as a renamed prefix.
constexpr size_t kMinNewlyMatched = 3;

bool is_word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}
bool is_separator(char c) { return c == '.' || c == '/'; }
bool is_word(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_word_char);
}

// Lengths of the prefixes of `name` made of up to kMaxPrefixComponents whole
// word components, each followed by a separator, that leave a non-empty
// rest; 0 (no prefix) first.
std::vector<size_t> prefix_ends(std::string_view name) {
  std::vector<size_t> ends{0};
  size_t i = 0;
  while (ends.size() <= kMaxPrefixComponents) {
    size_t j = i;
    while (j < name.size() && is_word_char(name[j])) ++j;
    if (j == i || j + 1 >= name.size() || !is_separator(name[j])) break;
    i = j + 1;
    ends.push_back(i);
  }
  return ends;
}

std::string_view first_component(std::string_view rest) {
  return rest.substr(0, std::min(rest.size(), rest.find_first_of("./")));
}

struct Rule {
  std::string_view from, to;
  std::vector<std::string> except;

  // What --map does with the regex map_rule_of() writes for this rule.
  std::optional<std::string> rename(std::string_view name) const {
    if (!name.starts_with(from)) return std::nullopt;
    const std::string_view rest = name.substr(from.size());
    if (std::find(except.begin(), except.end(), first_component(rest)) != except.end())
      return std::nullopt;
    std::string out(to);
    out += rest;
    return out;
  }
};

// A regex for the strings of [^./]* other than `words` (word components,
// all at least `depth` long, sharing their first `depth` bytes), spelled out
// along the words' trie: RE2 has no negative lookahead.
std::string none_of(const std::vector<std::string_view>& words, size_t depth) {
  bool ends_here = false;
  std::map<char, std::vector<std::string_view>> next;
  for (const auto w : words) {
    if (w.size() == depth) ends_here = true;
    else next[w[depth]].push_back(w);
  }
  if (next.empty()) return "[^./]+";  // one of the words so far: at least one more byte
  std::string out = "(?:[^./";
  for (const auto& [c, _] : next) {
    if (c == '-') out.push_back('\\');
    out.push_back(c);
  }
  out += "][^./]*";
  for (const auto& [c, ws] : next) {
    out.push_back('|');
    out.push_back(c);
    out += none_of(ws, depth + 1);
  }
  out += ends_here ? ")" : ")?";
  return out;
}

// ^FROM=TO with FROM's dots escaped; with exceptions
// ^FROM((?:NOT_E1_OR_E2)(?:[./]|$))=TO$1, which consumes the first
// component after FROM when it is no exception and puts it back. FROM's
// other characters, the exceptions' and TO's are word characters or '/'.
// Built character by character: GCC 12 warns falsely (-Wrestrict) on string
// concatenation here.
std::string map_rule_of(const Rule& r) {
  std::string out;
  auto append = [&](std::string_view s) {
    for (const char c : s) {
      if (c == '.') out.push_back('\\');
      out.push_back(c);
    }
  };
  out.push_back('^');
  append(r.from);
  if (!r.except.empty()) {
    out.push_back('(');
    const std::vector<std::string_view> words(r.except.begin(), r.except.end());
    for (const char c : none_of(words, 0)) out.push_back(c);
    for (const char c : std::string_view("(?:[./]|$))")) out.push_back(c);
  }
  out.push_back('=');
  for (const char c : r.to) out.push_back(c);
  if (!r.except.empty()) out += "$1";
  return out;
}

struct Outcome {
  bool collision = false;
  size_t newly_matched = 0, broken = 0;
  std::vector<std::string_view> broken_names;
  long long net() const {
    return static_cast<long long>(newly_matched) - static_cast<long long>(broken);
  }
};

// The rule's exact effect on the pairing: --map renames every B name it
// matches, paired or not.
Outcome simulate(const Rule& rule, const std::unordered_set<std::string_view>& a_set,
                 const std::vector<std::string>& b_names) {
  Outcome out;
  std::unordered_set<std::string> names_after;
  for (const auto& nb : b_names) {
    const bool was_matched = a_set.count(nb) > 0;
    std::string r = rule.rename(nb).value_or(nb);
    const bool now_matched = a_set.count(r) > 0;
    if (!names_after.insert(std::move(r)).second) {
      out.collision = true;  // two B tensors sent to one name: --map would fail
      return out;
    }
    if (now_matched && !was_matched) ++out.newly_matched;
    if (was_matched && !now_matched) out.broken_names.push_back(nb);
  }
  out.broken = out.broken_names.size();
  return out;
}

// Leaves alone the names the plain rename would unpair, when a few leading
// components (after `from`) tell them apart: `lm_head` in `^(?!lm_head\.)`.
std::optional<Rule> with_exceptions(const Rule& plain, const Outcome& o) {
  Rule r = plain;
  for (const auto name : o.broken_names) {
    const std::string_view c = first_component(name.substr(plain.from.size()));
    if (!is_word(c)) return std::nullopt;
    if (std::find(r.except.begin(), r.except.end(), c) == r.except.end()) r.except.emplace_back(c);
    if (r.except.size() > kMaxExceptions) return std::nullopt;
  }
  std::sort(r.except.begin(), r.except.end());
  return r;
}

struct Candidate {
  std::string_view from, to;
  size_t votes = 0;
};

}  // namespace

std::optional<PrefixHint> suggest_prefix_map(const std::vector<std::string>& a_names,
                                             const std::vector<std::string>& b_names) {
  const std::unordered_set<std::string_view> a_set(a_names.begin(), a_names.end());
  const std::unordered_set<std::string_view> b_set(b_names.begin(), b_names.end());
  std::vector<std::string_view> only_a, only_b;
  for (const auto& n : a_names)
    if (!b_set.count(n)) only_a.push_back(n);
  for (const auto& n : b_names)
    if (!a_set.count(n)) only_b.push_back(n);
  if (only_a.empty() || only_b.empty()) return std::nullopt;

  // Each unmatched B name votes for every (its prefix -> an A prefix) that
  // turns it into an unmatched A name.
  std::unordered_map<std::string_view, std::vector<std::string_view>> a_prefixes_of_rest;
  for (const auto na : only_a)
    for (const size_t e : prefix_ends(na)) a_prefixes_of_rest[na.substr(e)].push_back(na.substr(0, e));
  std::map<std::pair<std::string_view, std::string_view>, size_t> votes;
  for (const auto nb : only_b)
    for (const size_t e : prefix_ends(nb)) {
      const auto it = a_prefixes_of_rest.find(nb.substr(e));
      if (it == a_prefixes_of_rest.end() || it->second.size() > kMaxPrefixesPerRest) continue;
      const std::string_view from = nb.substr(0, e);
      for (const auto to : it->second)
        if (to != from) ++votes[{from, to}];
    }

  std::vector<Candidate> candidates;
  for (const auto& [key, n] : votes) candidates.push_back({key.first, key.second, n});
  // Ties keep std::map's (from, to) order: deterministic.
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const Candidate& x, const Candidate& y) { return x.votes > y.votes; });
  if (candidates.size() > kCandidatesChecked) candidates.resize(kCandidatesChecked);

  const size_t needed =
      std::max(kMinNewlyMatched, (std::min(only_a.size(), only_b.size()) + 1) / 2);
  std::optional<PrefixHint> best;
  long long best_net = 0;
  for (const auto& c : candidates) {
    Rule rule{c.from, c.to, {}};
    Outcome o = simulate(rule, a_set, b_names);
    if (o.collision) continue;
    if (o.broken > 0)
      if (const auto refined = with_exceptions(rule, o)) {
        const Outcome o2 = simulate(*refined, a_set, b_names);
        if (!o2.collision && o2.net() >= o.net()) rule = *refined, o = o2;
      }
    if (o.newly_matched < needed || o.net() <= 0) continue;
    // Better: more pairs gained, then a shorter rule.
    const std::string map_rule = map_rule_of(rule);
    if (best && (o.net() < best_net || (o.net() == best_net && map_rule.size() >= best->map_rule.size())))
      continue;
    PrefixHint h;
    h.from = std::string(rule.from);
    h.to = std::string(rule.to);
    h.except = rule.except;
    h.map_rule = map_rule;
    h.newly_matched = o.newly_matched;
    h.unmatched_b = only_b.size();
    h.broken = o.broken;
    best = std::move(h);
    best_net = o.net();
  }
  return best;
}

std::string hint_text(const PrefixHint& h, bool after_other_maps) {
  std::string how;
  if (h.from.empty()) how = "prefixing B's names with '" + h.to + "'";
  else if (h.to.empty()) how = "removing B's prefix '" + h.from + "'";
  else how = "renaming B's prefix '" + h.from + "' to '" + h.to + "'";
  if (!h.except.empty()) {
    how += " (except";
    for (size_t i = 0; i < h.except.size(); ++i)
      how += (i ? ", '" : " '") + h.from + h.except[i] + "…'";
    how += ")";
  }
  std::string text = std::to_string(h.newly_matched) + " of " + std::to_string(h.unmatched_b) +
                     " tensors only in B match a tensor of A after " + how;
  if (h.broken > 0) text += ", which unpairs " + std::to_string(h.broken) + " matched now";
  text += ": try --map '" + h.map_rule + "'";
  if (after_other_maps) text += " after your --map rules";
  return text;
}

}  // namespace weightdiff::match
