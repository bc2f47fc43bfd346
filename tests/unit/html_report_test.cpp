// The HTML report's escaping and embedded data (issue 5). Names, paths and
// metadata come from model files that may be hostile: nothing in them may
// end the page's <script> elements or add markup. The page itself is tested
// in a real browser by tests/python/test_html_report.py.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "report/html_charts.hpp"
#include "report/html_data.hpp"
#include "report/html_script.hpp"
#include "report/html_style.hpp"
#include "weightdiff/report.hpp"

namespace wdtest {
namespace {

namespace html = weightdiff::html;
using weightdiff::Status;

const std::string kHostile = "w.</script><script>alert(1)</script><!--<img src=x onerror=alert(2)>&amp;";

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// A report with one compared tensor and one only in A, both hostile names.
struct Fixture {
  weightdiff::Model a, b;
  weightdiff::DiffResult result;
  weightdiff::HistRange hist;
  Fixture() {
    a.path = "/models/<b>a</b>.safetensors";
    b.path = "/models/b\"'&.safetensors";
    a.format = b.format = "safetensors";
    a.metadata["note"] = kHostile;
    result.metadata_diffs.push_back({"note", kHostile, std::nullopt});
    result.summary.seconds = 0.25;
    result.summary.failed = {"global"};
    result.threads = 3;
    weightdiff::TensorDiff t;
    t.name = t.name_b = kHostile;
    t.status = Status::different;
    t.dtype_a = t.dtype_b = "f32";
    t.shape_a = t.shape_b = {2, 3};
    t.stats.emplace(hist);
    t.stats->numel = t.stats->n_finite = 6;
    t.stats->hist_abs_diff.counts[10] = 4;
    t.stats->hist_abs_diff.counts[12] = 2;
    t.stats->hist_a.pos[30] = 5;
    t.stats->hist_a.neg[33] = 1;
    t.stats->hist_b.pos[31] = 6;
    result.tensors.push_back(t);
    weightdiff::TensorDiff only;
    only.name = "only." + kHostile;
    only.status = Status::only_in_a;
    only.dtype_a = "bf16";
    only.shape_a = {4};
    result.tensors.push_back(only);
    result.backend = "cpu";
  }
  std::string page() const {
    std::ostringstream out;
    weightdiff::write_html(out, {&a, &b, &result});
    return out.str();
  }
};

TEST(HtmlEscape, MakesTextInertInHtml) {
  EXPECT_EQ(html::escape_html("a<b>&\"'c"), "a&lt;b&gt;&amp;&quot;&#39;c");
  EXPECT_EQ(html::escape_html("plain.name_0"), "plain.name_0");
}

TEST(HtmlEscape, ScriptJsonHasNoMarkupAndParsesBack) {
  const nlohmann::json j = {{"name", kHostile}, {"x", 1.5}};
  const std::string safe = html::escape_script_json(j.dump());
  EXPECT_EQ(safe.find_first_of("<>&"), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(safe), j);
}

TEST(HtmlReport, HostileTextNeverBecomesMarkup) {
  const std::string page = Fixture().page();
  // Only the page's own two scripts close; no comment can open.
  EXPECT_EQ(count(page, "</script"), 2u);
  EXPECT_EQ(count(page, "<script"), 2u);
  EXPECT_EQ(count(page, "<!--"), 0u);
  EXPECT_EQ(count(page, "<img"), 0u);
  EXPECT_NE(page.find("<title>weightdiff: /models/&lt;b&gt;a&lt;/b&gt;.safetensors vs "
                      "/models/b&quot;&#39;&amp;.safetensors</title>"),
            std::string::npos);
}

TEST(HtmlReport, EmbedsEveryTensorWithTrimmedHistograms) {
  const std::string page = Fixture().page();
  const std::string open = "<script type=\"application/json\" id=\"wd-data\">";
  const size_t from = page.find(open) + open.size();
  const auto data = nlohmann::json::parse(page.substr(from, page.find("</script>", from) - from));
  // The header is --json's top level, whatever fields that gains.
  std::ostringstream json_report;
  const Fixture f;
  weightdiff::write_json(json_report, {&f.a, &f.b, &f.result});
  auto expected = nlohmann::json::parse(json_report.str());
  expected.erase("tensors");
  EXPECT_EQ(data["header"], expected);
  EXPECT_EQ(data["header"]["a"]["path"], "/models/<b>a</b>.safetensors");
  EXPECT_EQ(data["header"]["a"]["metadata"]["note"], kHostile);
  EXPECT_EQ(data["header"]["backend"]["name"], "cpu");
  EXPECT_FALSE(data["header"].contains("tensors"));
  const auto& cols = data["columns"];
  const auto col = [&](const char* name) {
    for (size_t i = 0; i < cols.size(); ++i)
      if (cols[i] == name) return i;
    ADD_FAILURE() << "no column " << name;
    return size_t{0};
  };
  ASSERT_EQ(data["rows"].size(), 2u);
  const auto& row = data["rows"][0];
  ASSERT_EQ(row.size(), cols.size());
  EXPECT_EQ(row[col("name")], kHostile);
  EXPECT_EQ(row[col("status")], "different");
  EXPECT_EQ(row[col("shape_a")], nlohmann::json({2, 3}));
  EXPECT_EQ(row[col("numel")], 6);
  // Histograms keep only their nonzero span: s is its first bin.
  EXPECT_EQ(row[col("hist_abs_diff")], nlohmann::json::parse(R"({"z":0,"u":0,"o":0,"s":10,"c":[4,0,2]})"));
  EXPECT_EQ(row[col("hist_a")],
            nlohmann::json::parse(R"({"z":0,"u":0,"o":0,"s":30,"p":[5,0,0,0],"n":[0,0,0,1]})"));
  EXPECT_EQ(row[col("hist_b")], nlohmann::json::parse(R"({"z":0,"u":0,"o":0,"s":31,"p":[6],"n":[0]})"));
  // Unmatched tensors carry name, status, dtypes and shapes only.
  const auto& only = data["rows"][1];
  EXPECT_EQ(only[col("status")], "only_in_a");
  EXPECT_EQ(only[col("dtype_a")], "bf16");
  EXPECT_TRUE(only[col("dtype_b")].is_null());
  EXPECT_TRUE(only[col("numel")].is_null());
  EXPECT_TRUE(only[col("hist_a")].is_null());
}

TEST(HtmlReport, AssetsCannotEndTheirElementOrReachTheNetwork) {
  for (const std::string asset : {html::kStyle, html::kBody, html::kScriptData, html::kScriptCharts,
                                  html::kScriptPage}) {
    EXPECT_EQ(count(asset, "</script"), 0u);
    EXPECT_EQ(count(asset, "</style"), 0u);
    EXPECT_EQ(count(asset, "<!--"), 0u);
    EXPECT_EQ(count(asset, "https://"), 0u);
    EXPECT_EQ(count(asset, "@import"), 0u);
    EXPECT_EQ(count(asset, "url("), 0u);
    // The SVG namespace is a name, not a request; it is the only http:// text.
    EXPECT_EQ(count(asset, "http://"), count(asset, "http://www.w3.org/2000/svg"));
  }
}

}  // namespace
}  // namespace wdtest
