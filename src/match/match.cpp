#include "match/match.hpp"

#include <algorithm>
#include <map>

#include "formats/limits.hpp"
#include "match/pattern.hpp"
#include "match/preset.hpp"
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
  // `also`: the name the tensor is matched as, when it has another one
  // (ONNX derived names): a filter may name either of the names a report shows.
  bool keep(const std::string& name, const std::string& also = {}) const {
    auto hit = [&](const Pattern& p) { return p.search(name) || (!also.empty() && p.search(also)); };
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
  // Mapped names are held to the loaders' limit: '(.*)=$1$1' would
  // otherwise double a name per rule.
  const auto mapped = [&](const std::string& name) {
    std::string out = name;
    for (const auto& [re, repl] : rules) out = replace_all(re, out, repl, formats::kMaxTensorName);
    return out;
  };

  // Keyed by the name each side is matched as; `name` is what reports show.
  std::map<std::string, Entry> by_key;
  bool any_derived = false;
  size_t kept_a = 0, kept_b = 0;
  // A preset's name is a side's derived name (a GGUF file has none of its own).
  const auto preset_a = preset_names(a, opt.map_preset);
  const auto preset_b = preset_names(b, opt.map_preset);
  const auto derived_name = [](const auto& preset, size_t i, const TensorRef& t) -> const std::string& {
    return i < preset.size() && preset[i] ? preset[i]->name : t.matched_as;
  };
  const auto rope_heads = [](const auto& preset, size_t i) -> uint32_t {
    return i < preset.size() && preset[i] ? preset[i]->rope_heads : 0;
  };
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    const TensorRef& t = a.tensors[i];
    const std::string& as = derived_name(preset_a, i, t);
    if (!filter.keep(t.name, as)) continue;
    ++kept_a;
    const std::string& key = as.empty() ? t.name : as;
    Entry& e = by_key[key];
    if (e.a)  // two preset names alike: cannot happen for distinct GGUF names
    {
      std::string msg = "two tensors are matched as '";  // += only: GCC 12's -Wrestrict
      msg += key;
      msg += "'";
      throw Error(Errc::conflict, msg, a.path);
    }
    e.a = &t;
    e.name = t.name;
    e.rope_heads_a = rope_heads(preset_a, i);
    if (!as.empty()) e.matched_as = key, any_derived = true;
  }
  std::map<std::string, const std::string*> mapped_from;
  for (size_t i = 0; i < b.tensors.size(); ++i) {
    const TensorRef& t = b.tensors[i];
    const std::string& as = derived_name(preset_b, i, t);
    std::string shown = mapped(t.name);
    // A --map rule that renames the file's name is explicit and wins;
    // otherwise the derived name is matched, after --map too.
    const bool derived = !as.empty() && shown == t.name;
    std::string key = derived ? mapped(as) : shown;
    auto [it, fresh] = mapped_from.emplace(key, &t.name);
    if (!fresh)
      throw Error(Errc::conflict, "--map sends both '" + *it->second + "' and '" + t.name +
                                      "' to '" + key + "'",
                  b.path);
    if (!filter.keep(shown, derived ? key : std::string())) continue;
    ++kept_b;
    Entry& e = by_key[key];
    e.b = &t;
    e.name_b = t.name;
    if (derived) e.rope_heads_b = rope_heads(preset_b, i);
    if (!e.a) e.name = std::move(shown);
    if (derived) e.matched_as = key, any_derived = true;
  }
  if (!a.tensors.empty() && kept_a == 0)
    throw Error(Errc::usage, "the filters leave no tensor of A", a.path);
  if (!b.tensors.empty() && kept_b == 0)
    throw Error(Errc::usage, "the filters leave no tensor of B", b.path);

  std::vector<Entry> out;
  out.reserve(by_key.size());
  for (auto& [key, e] : by_key) out.push_back(std::move(e));
  // Without derived names every name is its key: already in order.
  if (any_derived)
    std::stable_sort(out.begin(), out.end(), [](const Entry& x, const Entry& y) {
      return x.name != y.name ? x.name < y.name : x.matched_as < y.matched_as;
    });
  return out;
}

std::vector<const TensorRef*> select_tensors(const Model& m, const MatchOptions& opt) {
  const Filter filter(opt);
  std::vector<const TensorRef*> out;
  for (const auto& t : m.tensors)
    if (filter.keep(t.name, t.matched_as)) out.push_back(&t);
  if (!m.tensors.empty() && out.empty())
    throw Error(Errc::usage, "the filters leave no tensor of A", m.path);
  return out;
}

}  // namespace weightdiff::match
