// The streamed JSON writer (report::JsonText) against the DOM it replaced:
// every value, and every tensor row of the JSON report, must be the bytes
// nlohmann's dump of the same values gives (report::json_value, json_dump).
// The rows are compared generically over tensor_fields(), so a field added
// there (a bool, an optional) is covered without touching this file.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>

#include "report/json_text.hpp"
#include "encode.hpp"
#include "report/json_values.hpp"
#include "test_files.hpp"
#include "weightdiff/fields.hpp"
#include "weightdiff/report.hpp"

namespace wdtest {
namespace {

using weightdiff::DType;
using weightdiff::FieldValue;
using weightdiff::report::Json;
using weightdiff::report::json_dump;
using weightdiff::report::json_value;

std::string streamed(const FieldValue& v) {
  weightdiff::report::JsonText w;
  w.value(v);
  return w.take();
}

std::string dom(const FieldValue& v) { return json_dump(json_value(v)); }

const std::vector<std::string> kStrings = {
    "", "plain.weight", "quote\"back\\slash", "tab\tnew\nline\r", std::string("nul\0x", 5),
    "\x01\x1f\x7f", "é", "名前.层", "emoji 🙂", "\xff\xfe bad", "cut \xe5\x90", "\xc0\xaf",
    "/path/with spaces/model.safetensors"};

TEST(JsonText, FieldValuesAsTheDomWritesThem) {
  constexpr double inf = std::numeric_limits<double>::infinity();
  std::vector<FieldValue> values = {
      std::monostate{}, true, false, uint64_t{0}, uint64_t{1}, uint64_t{1} << 53,
      std::numeric_limits<uint64_t>::max(), 0.0, -0.0, 1.0, -1.0, 0.1, 1e-5, 1e-7, 123.456,
      1e16, 1e17, 1e21, 1e22, 1e300, -1e-300, 5e-324, std::numeric_limits<double>::min(),
      std::numeric_limits<double>::max(), std::numeric_limits<double>::lowest(),
      std::numeric_limits<double>::epsilon(), 1.0 / 3, 2.0 / 3, 9007199254740993.0,
      std::nan(""), -std::nan(""), inf, -inf, std::vector<uint64_t>{},
      std::vector<uint64_t>{0, 1, std::numeric_limits<uint64_t>::max()}};
  for (const auto& s : kStrings) values.emplace_back(s);
  for (const auto& v : values) EXPECT_EQ(streamed(v), dom(v)) << "variant index " << v.index();
}

TEST(JsonText, RandomDoublesAsTheDomWritesThem) {
  std::mt19937_64 rng(20261204);
  std::uniform_real_distribution<double> unit(-1, 1);
  std::uniform_int_distribution<int> exp10(-30, 30);
  for (int i = 0; i < 200000; ++i) {
    double v;
    if (i % 2) {
      const uint64_t bits = rng();
      std::memcpy(&v, &bits, sizeof v);
    } else {
      v = unit(rng) * std::pow(10.0, exp10(rng));
    }
    ASSERT_EQ(streamed(v), dom(v)) << "bits of " << v;
  }
}

TEST(JsonText, ContainersAndBinsAsTheDomWritesThem) {
  weightdiff::Bins bins(56);
  bins.set(3, 7);
  bins.set(40, uint64_t{1} << 40);
  weightdiff::report::JsonText w;
  w.begin_object();
  w.key("a").numbers(bins).key("empty").numbers(weightdiff::Bins(4));
  w.key("b").begin_array().null().boolean(true).boolean(false).end_array();
  w.key("c").begin_object().end_object().key("d").strings(kStrings);
  w.key("é\n").number(int64_t{-40}).key("u").number(uint64_t{16});
  w.end_object();
  const Json j = {{"a", bins.to_vector()}, {"empty", std::vector<uint64_t>(4, 0)},
                  {"b", {nullptr, true, false}}, {"c", Json::object()},
                  {"d", kStrings},           {"é\n", -40},
                  {"u", 16}};
  EXPECT_EQ(w.text(), json_dump(j));
}

// The report's tensor rows as they were written before JsonText: one
// ordered_json DOM per row, dumped.
std::string dom_row(const weightdiff::TensorDiff& t, const weightdiff::HistRange& r) {
  Json row;
  for (const auto& f : weightdiff::tensor_fields(t)) row[f.name] = json_value(f.value);
  if (t.stats) {
    const auto& h = t.stats->hist_abs_diff;
    row["hist_abs_diff"] = Json{{"lo", r.lo},       {"hi", r.hi},
                                {"zero", h.zero},   {"under", h.under},
                                {"counts", h.counts.to_vector()}, {"over", h.over}};
    row["hist_a"] = weightdiff::report::value_hist_json(t.stats->hist_a, r);
    row["hist_b"] = weightdiff::report::value_hist_json(t.stats->hist_b, r);
    row["failed"] = t.failed;
  }
  return json_dump(row);
}

// write_json, and the same report with every tensor row built as a DOM: the
// text before the rows is written through the DOM in both.
void expect_rows_as_dom(const weightdiff::Model& a, const weightdiff::Model& b,
                        const weightdiff::DiffResult& r) {
  std::ostringstream out;
  weightdiff::write_json(out, {&a, &b, &r});
  const std::string text = out.str();
  const std::string marker = "\"tensors\": [";
  const size_t at = text.find(marker);
  ASSERT_NE(at, std::string::npos);
  std::string want = text.substr(0, at + marker.size());
  for (size_t i = 0; i < r.tensors.size(); ++i) {
    want += i == 0 ? "\n" : ",\n";
    want += dom_row(r.tensors[i], r.settings.hist);
  }
  want += "\n]}\n";
  ASSERT_EQ(text.size(), want.size());
  EXPECT_EQ(text, want);
  EXPECT_TRUE(nlohmann::ordered_json::accept(text));  // no invalid UTF-8 in any case here
}

class JsonRows : public FileTest {
 protected:
  void SetUp() override {
    const std::vector<float> base = {1.0f, -2.5f, 0.0f, 3.25f, 1e-3f, -7.0f};
    std::vector<float> close = base, far = base, nonfinite = base;
    close[1] += 1e-7f;
    far[3] = 100.0f;
    nonfinite[0] = std::numeric_limits<float>::quiet_NaN();
    nonfinite[4] = std::numeric_limits<float>::infinity();
    const auto f16 = encode_values(DType::f16, {1.0, -2.5, 0.0, 3.25, 1e-3, -7.0});
    const auto ints = encode_values(DType::i32, {1, 2, 3, 4});
    const auto ints_b = encode_values(DType::i32, {1, 2, 5, 4});
    StFile fa = st_file({st_f32("same", {2, 3}, base), st_f32("close", {6}, base),
                         st_f32("far", {3, 2}, base), st_f32("nonfinite", {6}, base),
                         st_f32("restored", {6}, nonfinite), st_f32("to_f16", {6}, base),
                         st_tensor("ints", DType::i32, {4}, ints),
                         st_tensor("ints_changed", DType::i32, {4}, ints),
                         st_f32("empty", {0}, {}), st_f32("reshaped", {6}, base),
                         st_f32("only_a", {2}, {1, 2}), st_f32("名前.é \"q\"", {6}, base)});
    StFile fb = st_file({st_f32("same", {2, 3}, base), st_f32("close", {6}, close),
                         st_f32("far", {3, 2}, far), st_f32("nonfinite", {6}, nonfinite),
                         st_f32("restored", {6}, base),
                         st_tensor("to_f16", DType::f16, {6}, f16),
                         st_tensor("ints", DType::i32, {4}, ints),
                         st_tensor("ints_changed", DType::i32, {4}, ints_b),
                         st_f32("empty", {0}, {}), st_f32("reshaped", {2, 3}, base),
                         st_f32("only_b", {2}, {1, 2}), st_f32("名前.é \"q\"", {6}, far)});
    fa.metadata_json = R"({"format":"pt","名":"値\n\"x\"\u0001"})";
    fb.metadata = std::map<std::string, std::string>{{"format", "pt"}, {"名", "other"}};
    write_safetensors(file("a.safetensors"), fa);
    write_safetensors(file("b.safetensors"), fb);
  }
  DiffRun run(weightdiff::DiffOptions opt = {}) {
    return diff_files(file("a.safetensors"), file("b.safetensors"), std::move(opt));
  }
};

TEST_F(JsonRows, DefaultOptions) {
  const auto r = run();
  EXPECT_TRUE(r.result.summary.cosine.has_value());
  expect_rows_as_dom(r.a, r.b, r.result);
}

TEST_F(JsonRows, ExactWritesBoolsTrueAndFalse) {
  weightdiff::DiffOptions opt;
  opt.exact = true;
  const auto r = run(opt);
  bool seen_true = false, seen_false = false;
  for (const auto& t : r.result.tensors)
    if (t.bytes_equal) (*t.bytes_equal ? seen_true : seen_false) = true;
  EXPECT_TRUE(seen_true && seen_false);
  expect_rows_as_dom(r.a, r.b, r.result);
}

TEST_F(JsonRows, StructureOnlyAndNullGlobals) {
  weightdiff::DiffOptions opt;
  opt.structure_only = true;
  const auto r = run(opt);
  EXPECT_FALSE(r.result.summary.cosine.has_value());
  expect_rows_as_dom(r.a, r.b, r.result);
}

TEST_F(JsonRows, NothingComparedHasNullGlobals) {
  weightdiff::DiffOptions opt;
  opt.include = {"^only_"};
  const auto r = run(opt);
  EXPECT_FALSE(r.result.summary.cosine.has_value());
  expect_rows_as_dom(r.a, r.b, r.result);
}

// What no safetensors file gives: matched_as (ONNX), gate failures, names
// that are not UTF-8 (replaced in both), non-finite and undefined metrics,
// --exact flags on rows of every kind, GGUF-style metadata.
TEST_F(JsonRows, SyntheticRowsOfEveryKind) {
  auto r = run();
  r.a.format = "gguf";
  r.a.metadata["general.architecture"] = "llama";
  r.a.metadata["tokenizer.ggml.tokens"] = "[\"<s>\", \"\\u00e9\"]\t\x01";
  r.b.metadata["bad utf8 \xff"] = "\xfe";
  const std::vector<weightdiff::TensorDiff> rows = r.result.tensors;
  for (size_t i = 0; i < rows.size(); ++i) {
    weightdiff::TensorDiff t = rows[i];
    t.name += " \xff";
    t.matched_as = i % 2 ? "model.layers." + std::to_string(i) + ".weight" : "";
    t.failed = {"cosine<0.9999", "max_abs>0"};
    t.bytes_equal = i % 3 == 0 ? std::optional<bool>() : std::optional<bool>(i % 3 == 1);
    if (t.stats && i % 2) {
      t.stats->max_abs = std::numeric_limits<double>::infinity();
      t.stats->dot = std::nan("");
      t.stats->max_rel = -1;  // undefined: null
      t.stats->hist_a.pos.set(0, uint64_t{1} << 63);
    }
    r.result.tensors.push_back(std::move(t));
  }
  std::sort(r.result.tensors.begin(), r.result.tensors.end(),
            [](const auto& x, const auto& y) { return x.name < y.name; });
  std::ostringstream out;
  weightdiff::write_json(out, {&r.a, &r.b, &r.result});
  const std::string text = out.str();
  EXPECT_NE(text.find("\"bytes_equal\":true"), std::string::npos);
  EXPECT_NE(text.find("\"bytes_equal\":false"), std::string::npos);
  EXPECT_NE(text.find("\"matched_as\":"), std::string::npos);
  EXPECT_NE(text.find(":null"), std::string::npos);
  // Not UTF-8: compare as text, the parse check does not apply.
  const std::string marker = "\"tensors\": [";
  std::string want = text.substr(0, text.find(marker) + marker.size());
  for (size_t i = 0; i < r.result.tensors.size(); ++i) {
    want += i == 0 ? "\n" : ",\n";
    want += dom_row(r.result.tensors[i], r.result.settings.hist);
  }
  want += "\n]}\n";
  EXPECT_EQ(text, want);
}

TEST_F(JsonRows, WideHistogramRange) {
  weightdiff::DiffOptions opt;
  opt.hist = {-1021, 1023};
  opt.exact = true;
  const auto r = run(opt);
  expect_rows_as_dom(r.a, r.b, r.result);
}

}  // namespace
}  // namespace wdtest
