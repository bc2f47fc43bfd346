// User regexes (src/match/pattern, src/match/replace): RE2 search semantics
// for --include/--exclude, ECMAScript-format replacement for --map, errors
// for what RE2 refuses, and patterns that made std::regex backtrack for
// minutes (then overflow the stack) finishing on the longest names.
#include <gtest/gtest.h>

#include <string>

#include "formats/limits.hpp"
#include "match/match.hpp"
#include "match/pattern.hpp"
#include "match/replace.hpp"
#include "test_files.hpp"

namespace wdtest {
namespace {

using weightdiff::Errc;
using weightdiff::formats::kMaxTensorName;
using weightdiff::match::Pattern;

std::string sub(const std::string& pattern, const std::string& text, const std::string& format) {
  return weightdiff::match::replace_all(Pattern(pattern, "--map"), text, format, kMaxTensorName);
}

bool search(const std::string& pattern, const std::string& text) {
  return Pattern(pattern, "--include").search(text);
}

const std::string kLongAs(kMaxTensorName, 'a');

TEST(Regex, SearchFindsTheMatchAnywhere) {
  EXPECT_TRUE(search("b", "abc"));
  EXPECT_TRUE(search("c$", "abc"));
  EXPECT_FALSE(search("^b", "abc"));
  EXPECT_FALSE(search("^abc.", "abc"));
  EXPECT_TRUE(search("layers\\.[0-9]+\\.mlp", "model.layers.12.mlp.up_proj.weight"));
  EXPECT_TRUE(search("", "anything"));
}

TEST(Regex, NamesAreBytesNotUtf8) {
  // '.' is one byte, whatever it is (invalid UTF-8 and NUL included).
  EXPECT_TRUE(search("^a.b$", "a\xff" "b"));
  EXPECT_TRUE(search("^a.b$", std::string("a\0b", 3)));
  EXPECT_FALSE(search("^a.b$", "a\xc3\xa9" "b"));  // é in UTF-8 is two bytes
  EXPECT_EQ(sub("\\xff", "w\xff" "x", "_"), "w_x");
  // A UTF-8 pattern still matches its own bytes.
  EXPECT_EQ(sub("\xc3\xa9", "caf\xc3\xa9.w", "e"), "cafe.w");
}

TEST(Regex, ReplacementGroupsAndWholeMatch) {
  EXPECT_EQ(sub("^(\\w+)\\.(\\w+)$", "enc.w", "$2.$1"), "w.enc");
  EXPECT_EQ(sub("layer", "layer.0", "$&s"), "layers.0");
  EXPECT_EQ(sub("^model\\.(.*)$", "model.a.b", "$1"), "a.b");
  // A group that did not take part is empty.
  EXPECT_EQ(sub("(a)|(b)", "b", "[$1$2]"), "[b]");
}

TEST(Regex, ReplacementDollarSequences) {
  EXPECT_EQ(sub("x", "axb", "$$"), "a$b");
  EXPECT_EQ(sub("x", "axb", "$$1"), "a$1b");  // $$ first, then a plain '1'
  // $` is the text since the previous match, $' the rest of the name.
  EXPECT_EQ(sub("\\.", "a.b.c", "[$`|$']"), "a[a|b.c]b[b|c]c");
  // Anything else after '$' is itself.
  EXPECT_EQ(sub("x", "x", "$x$<n>$"), "$x$<n>$");
  EXPECT_EQ(sub("(x)", "x", "$0$2"), "$0$2");  // no $0; no group 2
}

TEST(Regex, ReplacementTwoDigitGroupsWhenTheyExist) {
  const std::string eleven = "(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)";
  EXPECT_EQ(sub(eleven, "abcdefghijk", "$11-$10-$1-$01"), "k-j-a-a");
  // One group: $10 is group 1 then '0', $12 group 1 then '2'.
  EXPECT_EQ(sub("(a)", "a", "$10|$12|$01"), "a0|a2|a");
}

TEST(Regex, EveryNonOverlappingMatchIsReplaced) {
  EXPECT_EQ(sub("\\.", "a.b.c", "/"), "a/b/c");
  EXPECT_EQ(sub("aa", "aaaaa", "b"), "bba");
  EXPECT_EQ(sub("z", "a.b", "y"), "a.b");  // no match: unchanged
  EXPECT_EQ(sub("^", "w", "model."), "model.w");
  EXPECT_EQ(sub("$", "w", ".weight"), "w.weight");
}

TEST(Regex, EmptyMatchesAdvanceOneByte) {
  EXPECT_EQ(sub("x*", "abc", "-"), "-a-b-c-");
  // After a non-empty match an empty one may follow right at its end.
  EXPECT_EQ(sub("x*", "axc", "-"), "-a--c-");
  EXPECT_EQ(sub("x*", "", "-"), "-");
  EXPECT_EQ(sub("\\b", "ab.cd", "|"), "|ab|.|cd|");
}

TEST(Regex, CatastrophicPatternsOnTheLongestNameFinish) {
  for (const char* p : {"(a*)*b", "(a|aa)*c", "^(a+)+$b", "(a|a)*(a|a)*(a|a)*x"}) {
    SCOPED_TRACE(p);
    EXPECT_FALSE(search(p, kLongAs));
    EXPECT_EQ(sub(p, kLongAs, "z"), kLongAs);
  }
  EXPECT_TRUE(search("^(a|aa)*$", kLongAs));
  EXPECT_EQ(sub("(a|aa)*", kLongAs, "$&"), kLongAs);
}

TEST(Regex, AReplacementPastTheNameLimitIsAUsageError) {
  // $' after every empty match would be quadratic: 16 Ki x 16 Ki bytes.
  const std::string msg = expect_error([] { sub("x*", kLongAs, "$'"); }, Errc::usage,
                                       {"--map 'x*=$''", "longer than 16384 bytes"});
  EXPECT_LT(msg.size(), 400u) << "the name is cut in the message";
  EXPECT_EQ(sub("x*", std::string(100, 'a'), "").size(), 100u);
}

TEST(Regex, InvalidPatternsAreUsageErrorsNamingOptionAndPattern) {
  expect_error([] { search("(", "a"); }, Errc::usage, {"--include '('", "invalid regex"});
  expect_error([] { Pattern("[z-a]", "--exclude"); }, Errc::usage, {"--exclude '[z-a]'"});
  expect_error([] { Pattern("a{2000}", "--map"); }, Errc::usage, {"--map 'a{2000}'"});
  // A long pattern is cut to 200 bytes in the message.
  const std::string long_bad = "(" + std::string(300, 'b');
  const std::string msg =
      expect_error([&] { Pattern(long_bad, "--include"); }, Errc::usage,
                   {"--include '(" + std::string(199, 'b') + "…'"});
  EXPECT_EQ(msg.find(std::string(250, 'b')), std::string::npos) << msg;
}

TEST(Regex, BackreferencesAndLookaroundSayRe2SyntaxIsUsed) {
  for (const char* p : {"(a)\\1", "a(?=b)", "^(?!lm_head)", "(?<=x)y", "(?<!x)y"}) {
    SCOPED_TRACE(p);
    expect_error([&] { Pattern(p, "--include"); }, Errc::usage,
                 {std::string("--include '") + p + "'", "RE2 syntax",
                  "no lookaround or backreferences"});
  }
  // An escaped backslash before a digit is no backreference: valid RE2.
  EXPECT_TRUE(search("a\\\\1", "a\\1"));
}

TEST(Regex, MapThenFilterOnALongName) {
  // B's 8 KiB name doubled by --map to the 16 KiB limit, then filtered by
  // patterns that backtrack without bound in std::regex.
  const auto a = model_of_names("A", {kLongAs});
  const auto b = model_of_names("B", {std::string(kMaxTensorName / 2, 'a')});
  weightdiff::DiffOptions opt;
  opt.map.push_back(weightdiff::parse_map_rule("^(a+)$=$1$1"));
  opt.include = {"^(a|aa)*$", "(a|aa)*c"};
  opt.exclude = {"(a*)*b"};
  const auto entries = weightdiff::match::match_tensors(a, b, opt);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_TRUE(entries[0].a && entries[0].b);
  EXPECT_EQ(entries[0].name, kLongAs);

  // One more doubling passes the limit: a usage error, not a 32 KiB name.
  weightdiff::DiffOptions twice = opt;
  twice.map.push_back(weightdiff::parse_map_rule("(.*)=$1$1"));
  expect_error([&] { weightdiff::match::match_tensors(a, b, twice); }, Errc::usage,
               {"--map '(.*)=$1$1'"});
}

}  // namespace
}  // namespace wdtest
