#include "match/match.hpp"

#include <algorithm>
#include <map>

#include "formats/limits.hpp"
#include "match/pattern.hpp"
#include "match/replace.hpp"
#include "weightdiff/error.hpp"

namespace weightdiff::match {
namespace {

class Filter {
 public:
  explicit Filter(const MatchOptions& opt) {
    for (const auto& p : opt.include) include_.emplace_back(p, "--include");
    for (const auto& p : opt.exclude) exclude_.emplace_back(p, "--exclude");
  }
  bool keep(const std::string& name) const {
    auto hit = [&](const Pattern& p) { return p.search(name); };
    if (!include_.empty() && std::none_of(include_.begin(), include_.end(), hit)) return false;
    return std::none_of(exclude_.begin(), exclude_.end(), hit);
  }

 private:
  std::vector<Pattern> include_, exclude_;
};

}  // namespace

std::vector<Entry> match_tensors(const Model& a, const Model& b, const MatchOptions& opt) {
  const Filter filter(opt);
  std::vector<std::pair<Pattern, std::string>> rules;
  for (const auto& r : opt.map) rules.emplace_back(Pattern(r.pattern, "--map"), r.replacement);

  std::map<std::string, Entry> by_name;
  size_t kept_a = 0, kept_b = 0;
  for (const auto& t : a.tensors) {
    if (!filter.keep(t.name)) continue;
    ++kept_a;
    by_name[t.name].a = &t;
  }
  std::map<std::string, const std::string*> mapped_from;
  for (const auto& t : b.tensors) {
    std::string name = t.name;
    // Mapped names are held to the loaders' limit: '(.*)=$1$1' would
    // otherwise double a name per rule.
    for (const auto& [re, repl] : rules)
      name = replace_all(re, name, repl, formats::kMaxTensorName);
    auto [it, fresh] = mapped_from.emplace(name, &t.name);
    if (!fresh)
      throw Error(Errc::conflict, "--map sends both '" + *it->second + "' and '" + t.name +
                                      "' to '" + name + "'",
                  b.path);
    if (!filter.keep(name)) continue;
    ++kept_b;
    Entry& e = by_name[name];
    e.b = &t;
    e.name_b = t.name;
  }
  if (!a.tensors.empty() && kept_a == 0)
    throw Error(Errc::usage, "the filters leave no tensor of A", a.path);
  if (!b.tensors.empty() && kept_b == 0)
    throw Error(Errc::usage, "the filters leave no tensor of B", b.path);

  std::vector<Entry> out;
  out.reserve(by_name.size());
  for (auto& [name, e] : by_name) {
    e.name = name;
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<const TensorRef*> select_tensors(const Model& m, const MatchOptions& opt) {
  const Filter filter(opt);
  std::vector<const TensorRef*> out;
  for (const auto& t : m.tensors)
    if (filter.keep(t.name)) out.push_back(&t);
  if (!m.tensors.empty() && out.empty())
    throw Error(Errc::usage, "the filters leave no tensor of A", m.path);
  return out;
}

}  // namespace weightdiff::match
