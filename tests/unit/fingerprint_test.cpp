// The content-fingerprint hint's pieces (src/match/fingerprint): the
// fingerprint is order-blind but value-exact, the transposed compare at tile
// edges, and rules that rename exactly one name whatever it holds.
#include <gtest/gtest.h>

#include <numeric>
#include <random>

#include "match/fingerprint.hpp"
#include "match/match.hpp"
#include "test_files.hpp"

namespace wdtest {
namespace {

using weightdiff::match::equal_transposed;
using weightdiff::match::exact_rename_rule;
using weightdiff::match::Fingerprint;

const std::byte* bytes(const std::vector<float>& v) { return reinterpret_cast<const std::byte*>(v.data()); }

std::vector<float> random_floats(size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> d(0.5f, 2.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(gen);
  return v;
}

std::vector<float> transpose(const std::vector<float>& a, size_t rows, size_t cols) {
  std::vector<float> t(a.size());
  for (size_t r = 0; r < rows; ++r)
    for (size_t c = 0; c < cols; ++c) t[c * rows + r] = a[r * cols + c];
  return t;
}

Fingerprint fp_of(const std::vector<float>& v) {
  Fingerprint f;
  f.add(bytes(v), v.size(), 4);
  return f;
}

TEST(Fingerprint, OrderBlindValueExact) {
  const auto a = random_floats(1000, 7);
  auto shuffled = a;
  std::shuffle(shuffled.begin(), shuffled.end(), std::mt19937(3));
  EXPECT_EQ(fp_of(a), fp_of(shuffled));
  EXPECT_EQ(fp_of(a), fp_of(transpose(a, 40, 25)));
  auto changed = a;
  changed[999] = std::nextafter(changed[999], 1e9f);  // one ulp
  EXPECT_FALSE(fp_of(a) == fp_of(changed));
  // Chunked as the hint reads it: the same fingerprint.
  Fingerprint parts;
  parts.add(bytes(a), 300, 4);
  parts.add(bytes(a) + 300 * 4, 700, 4);
  EXPECT_EQ(parts, fp_of(a));
}

TEST(Fingerprint, TransposedCompareAcrossTileEdges) {
  for (const auto& [rows, cols] : {std::pair<size_t, size_t>{1, 1}, {63, 65}, {64, 64}, {130, 7}, {1, 200}}) {
    const auto a = random_floats(rows * cols, static_cast<unsigned>(rows * 1000 + cols));
    auto t = transpose(a, rows, cols);
    EXPECT_TRUE(equal_transposed(bytes(a), bytes(t), rows, cols, 4)) << rows << "x" << cols;
    t.back() += 1.0f;  // the last element: past every full tile
    EXPECT_FALSE(equal_transposed(bytes(a), bytes(t), rows, cols, 4)) << rows << "x" << cols;
  }
}

TEST(Fingerprint, ExactRenameRulesPairOnlyTheirName) {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"onnx::MatMul_12", "model.layers.0.mlp.up_proj.weight"},
      {"a=b.c$1(x)[y]*+?^|{2}\\", "cost$1.weight"},
      {"val_7", "w"}};
  for (const auto& [from, to] : cases) {
    const auto rule = exact_rename_rule(from, to);
    std::string text = rule.pattern;
    text += '=';
    text += rule.replacement;
    weightdiff::MatchOptions opt;
    opt.map.push_back(weightdiff::parse_map_rule(text));  // as the user pastes it
    const auto a = model_of_names("A", {to});
    const auto b = model_of_names("B", {from, from + "x", "y" + from});
    const auto entries = weightdiff::match::match_tensors(a, b, opt);
    size_t pairs = 0;
    for (const auto& e : entries) pairs += e.a && e.b && e.name_b == from;
    EXPECT_EQ(pairs, 1u) << text;
    EXPECT_EQ(entries.size(), 3u) << text;  // the look-alikes left as they are
  }
}

TEST(Fingerprint, HintReadsOnlyUnderItsByteCap) {
  const auto w = random_floats(12, 11);
  const auto wt = transpose(w, 3, 4);
  const auto other = random_floats(12, 12), unrelated = random_floats(12, 13);
  const auto a = weightdiff::model_from_buffers(
      "A", {{"w", weightdiff::DType::f32, {3, 4}, w.data(), 48}, {"u", weightdiff::DType::f32, {12}, other.data(), 48}});
  const auto b = weightdiff::model_from_buffers(
      "B", {{"val_1", weightdiff::DType::f32, {4, 3}, wt.data(), 48}, {"val_2", weightdiff::DType::f32, {12}, unrelated.data(), 48}});
  const auto entries = weightdiff::match::match_tensors(a, b, {});
  const auto hint = weightdiff::match::suggest_content_map(entries, nullptr);
  ASSERT_TRUE(hint);
  // w = val_1ᵀ; val_2 equals nothing: one pair only.
  ASSERT_EQ(hint->pairs.size(), 1u);
  EXPECT_EQ(hint->pairs[0].a_key, "w");
  EXPECT_EQ(hint->pairs[0].b_key, "val_1");
  EXPECT_TRUE(hint->pairs[0].transposed);
  EXPECT_EQ(hint->rules[0].pattern, "^val_1$");
  // 4 unmatched tensors of 48 bytes: a cap below 192 reads nothing.
  EXPECT_FALSE(weightdiff::match::suggest_content_map(entries, nullptr, 191));
  EXPECT_TRUE(weightdiff::match::suggest_content_map(entries, nullptr, 192));
}

TEST(Fingerprint, ConstantAndRepeatedValuesNameNoOne) {
  const std::vector<float> ones(4, 1.0f);
  const auto x = random_floats(4, 21);
  using weightdiff::DType;
  // A fresh norm's ones in A and in B: equal, but as likely a coincidence.
  auto a = weightdiff::model_from_buffers("A", {{"norm.weight", DType::f32, {4}, ones.data(), 16}});
  auto b = weightdiff::model_from_buffers("B", {{"val_1", DType::f32, {4}, ones.data(), 16}});
  EXPECT_FALSE(weightdiff::match::suggest_content_map(weightdiff::match::match_tensors(a, b, {}), nullptr));
  // One value twice in B: which of them is A's?
  a = weightdiff::model_from_buffers("A", {{"x", DType::f32, {4}, x.data(), 16}});
  b = weightdiff::model_from_buffers("B", {{"val_1", DType::f32, {4}, x.data(), 16}, {"val_2", DType::f32, {4}, x.data(), 16}});
  EXPECT_FALSE(weightdiff::match::suggest_content_map(weightdiff::match::match_tensors(a, b, {}), nullptr));
  b = weightdiff::model_from_buffers("B", {{"val_1", DType::f32, {4}, x.data(), 16}});
  EXPECT_TRUE(weightdiff::match::suggest_content_map(weightdiff::match::match_tensors(a, b, {}), nullptr));
}

}  // namespace
}  // namespace wdtest
