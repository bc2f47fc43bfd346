#include "match/match.hpp"

#include <map>
#include <regex>

#include "match/deep_stack.hpp"
#include "weightdiff/error.hpp"

namespace weightdiff {

MapRule parse_map_rule(const std::string& spec) {
  const auto eq = spec.find('=');
  if (eq == std::string::npos || eq == 0)
    throw Error(Errc::usage, "--map '" + spec + "': expected 'REGEX=REPLACEMENT'");
  return MapRule{spec.substr(0, eq), spec.substr(eq + 1)};
}

namespace match {
namespace {

std::regex compile(const std::string& pattern, const char* option) {
  try {
    return std::regex(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    throw Error(Errc::usage, std::string(option) + " '" + pattern + "': invalid regex: " + e.what());
  }
}

class Filter {
 public:
  explicit Filter(const DiffOptions& opt) {
    for (const auto& p : opt.include) include_.push_back(compile(p, "--include"));
    for (const auto& p : opt.exclude) exclude_.push_back(compile(p, "--exclude"));
  }
  bool keep(const std::string& name) const {
    auto hit = [&](const std::regex& r) { return std::regex_search(name, r); };
    if (!include_.empty() && std::none_of(include_.begin(), include_.end(), hit)) return false;
    return std::none_of(exclude_.begin(), exclude_.end(), hit);
  }

 private:
  std::vector<std::regex> include_, exclude_;
};

}  // namespace

namespace {

std::vector<Entry> match_on_this_stack(const Model& a, const Model& b, const DiffOptions& opt) {
  const Filter filter(opt);
  std::vector<std::pair<std::regex, std::string>> rules;
  for (const auto& r : opt.map) rules.emplace_back(compile(r.pattern, "--map"), r.replacement);

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
    for (const auto& [re, repl] : rules) name = std::regex_replace(name, re, repl);
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

}  // namespace

std::vector<Entry> match_tensors(const Model& a, const Model& b, const DiffOptions& opt) {
  return on_deep_stack([&] { return match_on_this_stack(a, b, opt); });
}

}  // namespace match
}  // namespace weightdiff
