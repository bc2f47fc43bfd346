// Metadata differences (safetensors __metadata__, ONNX producer/opset/
// metadata_props): computed by the engine, shown by the table and the JSON
// report, never part of the exit code.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "test_files.hpp"
#include "weightdiff/gates.hpp"
#include "weightdiff/report.hpp"

namespace wdtest {
namespace {

using Meta = std::map<std::string, std::string>;

struct Run {
  TempDir dir;
  DiffRun run;
  weightdiff::DiffOptions opt;
};

// Two files with the same tensor and the given metadata (a map, or the raw
// JSON text of __metadata__ for values with control characters).
template <typename M>
std::unique_ptr<Run> diff_metadata(const M& a, const M& b, bool structure_only = false) {
  auto r = std::make_unique<Run>();
  StFile fa = st_file({st_f32("w", {3}, {1, 2, 3})}), fb = fa;
  if constexpr (std::is_same_v<M, Meta>) {
    fa.metadata = a;
    fb.metadata = b;
  } else {
    fa.metadata_json = a;
    fb.metadata_json = b;
  }
  write_safetensors(r->dir / "a.safetensors", fa);
  write_safetensors(r->dir / "b.safetensors", fb);
  r->opt.structure_only = structure_only;
  r->run = diff_files(r->dir / "a.safetensors", r->dir / "b.safetensors", r->opt);
  return r;
}

std::string table_of(const Run& r) {
  const weightdiff::ReportContext ctx{&r.run.a, &r.run.b, &r.run.result};
  std::ostringstream out;
  weightdiff::print_table(out, ctx, {});
  return out.str();
}

TEST(MetadataDiff, EveryDifferingKeySortedWithAbsentSides) {
  const auto r = diff_metadata(Meta{{"format", "pt"}, {"same", "1"}, {"only_a", "x"}},
                               Meta{{"format", "np"}, {"same", "1"}, {"b_only", "y"}});
  const auto& d = r->run.result.metadata_diffs;
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0].key, "b_only");
  EXPECT_FALSE(d[0].a.has_value());
  EXPECT_EQ(d[0].b, "y");
  EXPECT_EQ(d[1].key, "format");
  EXPECT_EQ(d[1].a, "pt");
  EXPECT_EQ(d[1].b, "np");
  EXPECT_EQ(d[2].key, "only_a");
  EXPECT_EQ(d[2].a, "x");
  EXPECT_FALSE(d[2].b.has_value());
}

TEST(MetadataDiff, NothingWhenEqualOrBothEmpty) {
  EXPECT_TRUE(diff_metadata(Meta{{"format", "pt"}}, Meta{{"format", "pt"}})->run.result.metadata_diffs.empty());
  EXPECT_TRUE(diff_metadata(Meta{}, Meta{})->run.result.metadata_diffs.empty());
  // An empty value is a value: differs from an absent key.
  EXPECT_EQ(diff_metadata(Meta{{"k", ""}}, Meta{})->run.result.metadata_diffs.size(), 1u);
}

TEST(MetadataDiff, NeverChangesTheExitCode) {
  for (const bool structure_only : {false, true}) {
    SCOPED_TRACE(structure_only);
    const auto r = diff_metadata(Meta{{"format", "pt"}}, Meta{{"format", "np"}, {"extra", "1"}}, structure_only);
    EXPECT_EQ(r->run.result.metadata_diffs.size(), 2u);
    EXPECT_EQ(weightdiff::exit_code(r->run.result, false), 0);
    EXPECT_EQ(weightdiff::exit_code(r->run.result, true), 0);
  }
}

TEST(MetadataDiff, TableShowsKeyAndBothValuesPrintable) {
  const std::string long_value(200, 'v');
  const auto r = diff_metadata(
      R"({"format":"pt","note":"\u001b[31mred\nline","config":")" + long_value + R"("})",
      R"({"format":"np","config":")" + long_value + R"(w"})");
  const std::string t = table_of(*r);
  EXPECT_NE(t.find("metadata  format  A 'pt'  B 'np'\n"), std::string::npos) << t;
  EXPECT_NE(t.find("metadata  note  A '?[31mred?line'  B (absent)\n"), std::string::npos) << t;
  EXPECT_EQ(t.find('\x1b'), std::string::npos);
  // Long values are cut, their size given.
  EXPECT_NE(t.find("metadata  config  A '" + std::string(60, 'v') + "… (200 bytes)'  B '" +
                   std::string(60, 'v') + "… (201 bytes)'\n"),
            std::string::npos)
      << t;
  // After the structural differences, before the summary line.
  EXPECT_LT(t.find("metadata  "), t.find("compared 1:"));
}

TEST(MetadataDiff, JsonListsThemAfterTheSummary) {
  const auto r = diff_metadata(Meta{{"format", "pt"}}, Meta{{"format", "np"}, {"extra", "1"}});
  const weightdiff::ReportContext ctx{&r->run.a, &r->run.b, &r->run.result};
  std::ostringstream out;
  weightdiff::write_json(out, ctx);
  const auto j = nlohmann::ordered_json::parse(out.str());
  EXPECT_EQ(j["metadata_diffs"], nlohmann::ordered_json::parse(
                                     R"([{"key":"extra","a":null,"b":"1"},{"key":"format","a":"pt","b":"np"}])"));
  std::vector<std::string> keys;
  for (auto it = j.begin(); it != j.end(); ++it) keys.push_back(it.key());
  const auto at = std::find(keys.begin(), keys.end(), "metadata_diffs");
  ASSERT_NE(at, keys.end());
  EXPECT_EQ(*(at - 1), "summary");
  EXPECT_EQ(j["a"]["metadata"]["format"], "pt");
}

}  // namespace
}  // namespace wdtest
