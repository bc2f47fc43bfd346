// The --map suggestion for unmatched names (src/match/prefix_hint): what it
// suggests, when it stays silent, and that every rule it prints really pairs
// the names when given to the matcher (parse_map_rule + match_tensors).
#include <gtest/gtest.h>

#include <algorithm>

#include "match/match.hpp"
#include "match/prefix_hint.hpp"
#include "test_files.hpp"

namespace wdtest {
namespace {

using weightdiff::match::hint_text;
using weightdiff::match::suggest_prefix_map;
using Names = std::vector<std::string>;


struct Pairing {
  size_t pairs = 0, only_a = 0, only_b = 0;
};

// What the real matcher does with `rules` (none: as the names are).
Pairing pair_with(const Names& a, const Names& b, const Names& rules) {
  const auto ma = model_of_names("A", a), mb = model_of_names("B", b);
  weightdiff::DiffOptions opt;
  for (const auto& r : rules) opt.map.push_back(weightdiff::parse_map_rule(r));
  Pairing p;
  for (const auto& e : weightdiff::match::match_tensors(ma, mb, opt)) {
    if (e.a && e.b) ++p.pairs;
    else if (e.a) ++p.only_a;
    else ++p.only_b;
  }
  return p;
}

// Names as the matcher sees them after `rules` (what the engine passes).
Names mapped(const Names& b, const Names& rules) {
  Names out;
  const auto ma = model_of_names("A", {}), mb = model_of_names("B", b);
  weightdiff::DiffOptions opt;
  for (const auto& r : rules) opt.map.push_back(weightdiff::parse_map_rule(r));
  for (const auto& e : weightdiff::match::match_tensors(ma, mb, opt)) out.push_back(e.name);
  return out;
}

Names layers(const std::string& prefix, int n) {
  Names out;
  for (int i = 0; i < n; ++i)
    for (const char* p : {"q_proj.weight", "k_proj.weight", "v_proj.weight"})
      out.push_back(prefix + "layers." + std::to_string(i) + ".self_attn." + p);
  return out;
}

Names plus(Names a, const Names& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST(PrefixHint, RenamedPrefixWithTheExactRuleAndCounts) {
  const Names a = plus(layers("model.", 80), {"model.a_only.0", "model.a_only.1", "model.a_only.2"});
  const Names b = plus(layers("transformer.", 80), {"transformer.wte", "transformer.wpe", "extra"});
  const auto h = suggest_prefix_map(a, b);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->from, "transformer.");
  EXPECT_EQ(h->to, "model.");
  EXPECT_EQ(h->map_rule, "^transformer\\.=model.");
  EXPECT_EQ(h->newly_matched, 240u);
  EXPECT_EQ(h->unmatched_b, 243u);
  EXPECT_EQ(h->broken, 0u);
  EXPECT_EQ(hint_text(*h, false),
            "240 of 243 tensors only in B match a tensor of A after renaming B's prefix "
            "'transformer.' to 'model.': try --map '^transformer\\.=model.'");
  EXPECT_EQ(pair_with(a, b, {}).pairs, 0u);
  const Pairing p = pair_with(a, b, {h->map_rule});
  EXPECT_EQ(p.pairs, 240u);
  EXPECT_EQ(p.only_b, 3u);
}

TEST(PrefixHint, NothingWhenTheNamesAlreadyMatch) {
  const Names names = plus(layers("model.", 4), {"lm_head.weight"});
  EXPECT_FALSE(suggest_prefix_map(names, names));
  // Extra tensors on one side only: nothing a rename of B could pair.
  EXPECT_FALSE(suggest_prefix_map(plus(names, {"model.extra"}), names));
  EXPECT_FALSE(suggest_prefix_map(names, plus(names, {"model.extra"})));
  EXPECT_FALSE(suggest_prefix_map({}, names));
  EXPECT_FALSE(suggest_prefix_map(names, {}));
}

TEST(PrefixHint, AddedPrefixLeavesAloneWhatAlreadyMatches) {
  // B lacks `model.` but shares lm_head.weight: a plain '^=model.' would
  // unpair it; the rule excepts that component.
  const Names a = plus(layers("model.", 3), {"model.norm.weight", "lm_head.weight"});
  const Names b = plus(layers("", 3), {"norm.weight", "lm_head.weight"});
  const auto h = suggest_prefix_map(a, b);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->from, "");
  EXPECT_EQ(h->to, "model.");
  EXPECT_EQ(h->except, Names{"lm_head"});
  // RE2 has no lookahead: "any first component but lm_head", spelled out.
  EXPECT_EQ(h->map_rule,
            "^((?:[^./l][^./]*|l(?:[^./m][^./]*|m(?:[^./_][^./]*|_(?:[^./h][^./]*|"
            "h(?:[^./e][^./]*|e(?:[^./a][^./]*|a(?:[^./d][^./]*|d[^./]+)?)?)?)?)?)?)?"
            "(?:[./]|$))=model.$1");
  EXPECT_EQ(h->broken, 0u);
  EXPECT_EQ(h->newly_matched, 10u);
  const Pairing p = pair_with(a, b, {h->map_rule});
  EXPECT_EQ(p.pairs, a.size());
  EXPECT_EQ(p.only_a + p.only_b, 0u);
  EXPECT_NE(hint_text(*h, false).find("prefixing B's names with 'model.' (except 'lm_head…')"),
            std::string::npos);
}

// Several exceptions sharing a start ('lm', 'lm-x', 'lm_head'): the rule,
// written without lookahead, still renames every other component, those
// that merely begin like an exception ('lmx', 'lm_heads') included.
TEST(PrefixHint, ExceptionsSharingAStartLeaveOnlyThemselvesAlone) {
  const Names kept = {"lm.bias", "lm-x.weight", "lm_head.weight"};
  const Names renamed = {"lmx.w", "lm_heads.w", "l.w", "lm-.w", "lm_hea.w", "norm"};
  Names a = plus(layers("model.", 2), kept), b = plus(layers("", 2), kept);
  for (const auto& n : renamed) a.push_back("model." + n), b.push_back(n);
  const auto h = suggest_prefix_map(a, b);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->except, (Names{"lm", "lm-x", "lm_head"}));
  const Pairing p = pair_with(a, b, {h->map_rule});
  EXPECT_EQ(p.pairs, a.size()) << h->map_rule;
  EXPECT_EQ(p.only_a + p.only_b, 0u) << h->map_rule;
}

TEST(PrefixHint, RemovedPrefixAndSlashSeparators) {
  const Names a = {"dense/kernel", "dense/bias", "out/kernel", "out/bias"};
  const Names b = {"tf/dense/kernel", "tf/dense/bias", "tf/out/kernel", "tf/out/bias"};
  const auto h = suggest_prefix_map(a, b);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->map_rule, "^tf/=");
  EXPECT_EQ(h->newly_matched, 4u);
  EXPECT_NE(hint_text(*h, false).find("removing B's prefix 'tf/'"), std::string::npos);
  EXPECT_EQ(pair_with(a, b, {h->map_rule}).pairs, 4u);
}

TEST(PrefixHint, RegexCharactersInTheRestOfTheNames) {
  // Only the prefix goes into the regex; the rest may hold anything.
  const Names a = {"model.w[0]", "model.w(1)*", "model.a+b?", "model.$x\\y"};
  const Names b = {"base_model.model.w[0]", "base_model.model.w(1)*", "base_model.model.a+b?",
                   "base_model.model.$x\\y"};
  const auto h = suggest_prefix_map(a, b);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->map_rule, "^base_model\\.=");  // shorter than base_model.model. -> model.
  EXPECT_EQ(pair_with(a, b, {h->map_rule}).pairs, 4u);
}

TEST(PrefixHint, NoRuleThatSendsTwoNamesToOne) {
  // transformer.a -> model.a would collide with B's own model.a: --map
  // would fail (exit 2), so nothing is suggested.
  const Names a = {"model.a", "model.b", "model.c"};
  const Names b = {"model.a", "transformer.a", "transformer.b", "transformer.c"};
  EXPECT_FALSE(suggest_prefix_map(a, b));
  expect_error([&] { pair_with(a, b, {"^transformer\\.=model."}); }, weightdiff::Errc::conflict,
               {"model.a"});
}

TEST(PrefixHint, NothingWhenFewNamesAreExplained) {
  Names a, b;
  for (int i = 0; i < 10; ++i) {
    a.push_back("enc.block" + std::to_string(i) + ".w");
    b.push_back("dec.unit" + std::to_string(i) + ".w");
  }
  b[0] = "x.block0.w";  // one name out of ten: a coincidence, not a prefix
  EXPECT_FALSE(suggest_prefix_map(a, b));
}

TEST(PrefixHint, NothingForOneOrTwoPairs) {
  // encoder.* vs decoder.*: two pairs are as likely a coincidence.
  EXPECT_FALSE(suggest_prefix_map({"encoder.weight", "encoder.bias"}, {"decoder.weight", "decoder.bias"}));
  EXPECT_TRUE(suggest_prefix_map({"encoder.weight", "encoder.bias", "encoder.scale"},
                                 {"decoder.weight", "decoder.bias", "decoder.scale"}));
}

TEST(PrefixHint, NoPrefixWithCharactersThatNeedQuoting) {
  const Names a = {"my model.a", "my model.b", "my model.c"};
  const Names b = {"a", "b", "c"};
  EXPECT_FALSE(suggest_prefix_map(a, b));
  EXPECT_FALSE(suggest_prefix_map({"it's.a", "it's.b", "it's.c"}, {"a", "b", "c"}));
  EXPECT_TRUE(suggest_prefix_map({"its.a", "its.b", "its.c"}, {"a", "b", "c"}));
}

TEST(PrefixHint, ChainsAfterTheUsersRules) {
  // The engine passes B's names after the user's --map; the suggestion is
  // appended to those rules.
  const Names a = layers("model.", 2);
  const Names b = layers("module.transformer.", 2);
  const Names user = {"^module\\.="};
  const auto h = suggest_prefix_map(a, mapped(b, user));
  ASSERT_TRUE(h);
  EXPECT_EQ(h->map_rule, "^transformer\\.=model.");
  EXPECT_NE(hint_text(*h, true).find("after your --map rules"), std::string::npos);
  EXPECT_EQ(pair_with(a, b, plus(user, {h->map_rule})).pairs, a.size());
}

TEST(PrefixHint, ManyNamesStayFast) {
  // 60k names sharing short rests ("weight"): bounded work per name.
  Names a, b;
  for (int i = 0; i < 20000; ++i)
    for (const char* p : {".weight", ".bias", ".scale"}) {
      // Appended, not concatenated: GCC 12 warns falsely (-Wrestrict) on "l" + std::string.
      std::string name = "l";
      name += std::to_string(i);
      name += p;
      a.push_back("model." + name);
      b.push_back(name);
    }
  const auto h = suggest_prefix_map(a, b);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->map_rule, "^=model.");
  EXPECT_EQ(h->newly_matched, a.size());
}

}  // namespace
}  // namespace wdtest
