// Name matching (SPEC §2): --map rules, include/exclude filters, pairing and
// order. Pure: catalogs are built in memory, no files.
#include <gtest/gtest.h>

#include "match/match.hpp"
#include "test_files.hpp"
#include "weightdiff/error.hpp"

namespace wdtest {
namespace {

using weightdiff::Errc;
using weightdiff::match::match_tensors;


weightdiff::DiffOptions with_map(const std::vector<std::string>& rules) {
  weightdiff::DiffOptions opt;
  for (const auto& r : rules) opt.map.push_back(weightdiff::parse_map_rule(r));
  return opt;
}

// "name<-name_b" for pairs, "name<-" for only A, "<-name_b" style for only B.
std::vector<std::string> describe(const std::vector<weightdiff::match::Entry>& entries) {
  std::vector<std::string> out;
  for (const auto& e : entries) {
    std::string s = e.a ? e.name : "(none)";
    s += " <- ";
    s += e.b ? e.name_b : "(none)";
    if (e.a && e.a->name != e.name) s += " [a name differs]";
    if (e.b && e.b->name != e.name_b) s += " [b name differs]";
    if (!e.a) s += " as " + e.name;
    out.push_back(s);
  }
  return out;
}

TEST(Match, PairsByNameSortedBytewise) {
  const auto a = model_of_names("A", {"b", "B", "a.b", "a_b", "_x", "only_a"});
  const auto b = model_of_names("B", {"b", "B", "a.b", "a_b", "_x", "only_b"});
  const auto entries = match_tensors(a, b, {});
  EXPECT_EQ(describe(entries),
            (std::vector<std::string>{"B <- B", "_x <- _x", "a.b <- a.b", "a_b <- a_b", "b <- b",
                                      "only_a <- (none)", "(none) <- only_b as only_b"}));
  EXPECT_EQ(entries[5].name_b, "");  // only in A: no B name
}

TEST(Match, ParseMapRuleSplitsAtTheFirstEquals) {
  const auto r = weightdiff::parse_map_rule("a=b=c");
  EXPECT_EQ(r.pattern, "a");
  EXPECT_EQ(r.replacement, "b=c");
  const auto empty = weightdiff::parse_map_rule("^model\\.=");
  EXPECT_EQ(empty.pattern, "^model\\.");
  EXPECT_EQ(empty.replacement, "");
  expect_error([] { weightdiff::parse_map_rule("no equals sign"); }, Errc::usage, {"no equals sign"});
}

TEST(Match, MapRenamesBWithCaptureGroups) {
  const auto a = model_of_names("A", {"layers.0.weight", "layers.1.weight"});
  const auto b = model_of_names("B", {"model.layers.0.weight", "model.layers.1.weight"});
  const auto entries = match_tensors(a, b, with_map({"^model\\.(.*)$=$1"}));
  EXPECT_EQ(describe(entries),
            (std::vector<std::string>{"layers.0.weight <- model.layers.0.weight",
                                      "layers.1.weight <- model.layers.1.weight"}));
}

TEST(Match, MapReplacesEveryMatchAndKnowsDollarAmpersand) {
  const auto a = model_of_names("A", {"x/y/z", "layers"});
  const auto b = model_of_names("B", {"x.y.z", "layer"});
  const auto entries = match_tensors(a, b, with_map({"\\.=/", "^layer$=$&s"}));
  EXPECT_EQ(describe(entries), (std::vector<std::string>{"layers <- layer", "x/y/z <- x.y.z"}));
}

TEST(Match, MapRulesApplyInOrderAndLeaveNonMatchesAlone) {
  const auto a = model_of_names("A", {"c", "keep"});
  const auto b = model_of_names("B", {"a", "keep"});
  EXPECT_EQ(describe(match_tensors(a, b, with_map({"a=b", "b=c"}))),
            (std::vector<std::string>{"c <- a", "keep <- keep"}));
  // In the other order the second rule sees "b" only after the first ran: no chain.
  EXPECT_EQ(describe(match_tensors(a, b, with_map({"b=c", "a=b"}))),
            (std::vector<std::string>{"(none) <- a as b", "c <- (none)", "keep <- keep"}));
}

TEST(Match, TwoBTensorsMappedToOneNameConflict) {
  const auto a = model_of_names("A", {"w"});
  const auto b = model_of_names("B", {"x.w", "y.w"});
  const std::string msg =
      expect_error([&] { match_tensors(a, b, with_map({"^[xy]\\.="})); }, Errc::conflict, {"B"});
  EXPECT_NE(msg.find("x.w"), std::string::npos) << msg;
  EXPECT_NE(msg.find("y.w"), std::string::npos) << msg;
  // Mapping onto an unmapped B name collides too.
  const auto c = model_of_names("C", {"w", "old.w"});
  expect_error([&] { match_tensors(a, c, with_map({"^old\\.="})); }, Errc::conflict, {"C"});
}

TEST(Match, FiltersApplyToANameAndBMappedName) {
  const auto a = model_of_names("A", {"enc.w", "dec.w", "enc.b"});
  const auto b = model_of_names("B", {"model.enc.w", "model.dec.w", "model.enc.b"});
  auto opt = with_map({"^model\\.="});
  opt.include = {"^enc\\."};
  EXPECT_EQ(describe(match_tensors(a, b, opt)),
            (std::vector<std::string>{"enc.b <- model.enc.b", "enc.w <- model.enc.w"}));
  // Exclude sees the mapped name, not the original: "^model" drops nothing.
  opt.include.clear();
  opt.exclude = {"^model"};
  EXPECT_EQ(match_tensors(a, b, opt).size(), 3u);
  // Any include may match; an exclude wins over an include.
  opt.include = {"\\.w$", "^enc"};
  opt.exclude = {"^dec"};
  EXPECT_EQ(describe(match_tensors(a, b, opt)),
            (std::vector<std::string>{"enc.b <- model.enc.b", "enc.w <- model.enc.w"}));
}

TEST(Match, FiltersLeavingNothingAreAUsageError) {
  const auto a = model_of_names("A", {"w", "b"});
  const auto b = model_of_names("B", {"w", "b"});
  weightdiff::DiffOptions opt;
  opt.include = {"nothing matches this"};
  expect_error([&] { match_tensors(a, b, opt); }, Errc::usage, {});
  opt.include.clear();
  opt.exclude = {"."};
  expect_error([&] { match_tensors(a, b, opt); }, Errc::usage, {});
  // Only B left empty by the filter (after mapping).
  auto mapped = with_map({"^=zz_"});
  mapped.exclude = {"^zz_"};
  expect_error([&] { match_tensors(a, b, mapped); }, Errc::usage, {"B"});
}

TEST(Match, ModelsWithoutTensorsAreValid) {
  const auto none = model_of_names("A", {});
  EXPECT_TRUE(match_tensors(none, model_of_names("B", {}), {}).empty());
  // A filter on an empty side is not "leaving nothing".
  weightdiff::DiffOptions opt;
  opt.include = {"^w$"};
  EXPECT_EQ(describe(match_tensors(none, model_of_names("B", {"w", "x"}), opt)),
            (std::vector<std::string>{"(none) <- w as w"}));
}

TEST(Match, BadRegexIsAUsageError) {
  const auto a = model_of_names("A", {"w"});
  weightdiff::DiffOptions opt;
  opt.include = {"("};
  expect_error([&] { match_tensors(a, a, opt); }, Errc::usage, {"("});
  opt.include.clear();
  opt.exclude = {"[z-a]"};
  expect_error([&] { match_tensors(a, a, opt); }, Errc::usage, {"[z-a]"});
  expect_error([&] { match_tensors(a, a, with_map({"(=x"})); }, Errc::usage, {"("});
}

}  // namespace
}  // namespace wdtest
