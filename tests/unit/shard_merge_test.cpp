// --shard K/N and merge_parts (issue 13 item 1): the partition, and the
// merged result against the single run's, field by field (every report's
// bytes but the timing); parts that do not belong together, a missing or
// repeated part, and files that are no part, each with its error class.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <fstream>
#include <numeric>
#include <random>
#include <sstream>

#include "test_files.hpp"
#include "weightdiff/gates.hpp"
#include "weightdiff/merge.hpp"
#include "weightdiff/report.hpp"
#include "weightdiff/shard.hpp"

namespace weightdiff {
namespace {

using wdtest::expect_error;

TEST(Shard, ParsesKOfN) {
  EXPECT_EQ(parse_shard("1/1"), (Shard{1, 1}));
  EXPECT_EQ(parse_shard("3/7"), (Shard{3, 7}));
  EXPECT_EQ(parse_shard("65536/65536"), (Shard{65536, 65536}));
  for (const char* bad : {"", "1", "0/3", "4/3", "1/0", "a/b", "1/3x", "-1/3", "1/65537", "1//3", " 1/3"})
    expect_error([&] { parse_shard(bad); }, Errc::usage, {"--shard"});
}

TEST(Shard, BalancedByBytesAndDeterministic) {
  std::mt19937_64 rng(13);
  std::vector<uint64_t> bytes(200);
  for (auto& b : bytes) b = 1 + rng() % 100000;
  for (const uint32_t n : {1u, 2u, 3u, 7u, 300u}) {
    const auto part = assign_shards(bytes, n);
    EXPECT_EQ(part, assign_shards(bytes, n));  // no hidden state
    std::vector<uint64_t> load(n, 0);
    for (size_t i = 0; i < bytes.size(); ++i) {
      ASSERT_LT(part[i], n);
      load[part[i]] += bytes[i];
    }
    // Greedy largest-first: no part exceeds the mean by more than one pair.
    const uint64_t total = std::accumulate(bytes.begin(), bytes.end(), uint64_t{0});
    const uint64_t largest = *std::max_element(bytes.begin(), bytes.end());
    for (const uint64_t l : load) EXPECT_LE(l, total / n + largest) << n;
    if (n == 300) {  // more parts than pairs: one pair each, parts 200.. empty
      EXPECT_EQ(std::count(load.begin(), load.end(), uint64_t{0}), 100);
    }
  }
  // Ties go to the lower part; equal sizes fill parts in order.
  EXPECT_EQ(assign_shards({5, 5, 5, 5}, 2), (std::vector<uint32_t>{0, 1, 0, 1}));
  EXPECT_EQ(assign_shards({1, 9, 5}, 2), (std::vector<uint32_t>{1, 0, 1}));
}

class ShardMerge : public wdtest::FileTest {
 protected:
  void SetUp() override {
    std::mt19937 rng(1306);
    std::normal_distribution<float> nd;
    auto values = [&](size_t n, float scale) {
      std::vector<float> v(n);
      for (auto& x : v) x = nd(rng) * scale;
      return v;
    };
    std::vector<wdtest::StTensor> a, b;
    for (int i = 0; i < 9; ++i) {
      const size_t cols = 8 * static_cast<size_t>(i + 1);
      auto v = values(16 * cols, 1.0f);
      auto w = v;
      if (i % 3 == 1)
        for (auto& x : w) x += nd(rng) * 1e-3f;
      if (i == 4) w[7] = NAN;
      const std::string name = "layer." + std::to_string(i) + ".weight";
      a.push_back(wdtest::st_f32(name, {16, cols}, v));
      b.push_back(wdtest::st_f32(name, {16, cols}, w));
    }
    a.push_back(wdtest::st_f32("only_a", {3}, {1, 2, 3}));
    b.push_back(wdtest::st_f32("only_b", {2}, {1, 2}));
    a.push_back(wdtest::st_f32("shape", {2, 3}, {1, 2, 3, 4, 5, 6}));
    b.push_back(wdtest::st_f32("shape", {3, 2}, {1, 2, 3, 4, 5, 6}));
    std::sort(a.begin(), a.end(), [](auto& x, auto& y) { return x.name < y.name; });
    std::sort(b.begin(), b.end(), [](auto& x, auto& y) { return x.name < y.name; });
    wdtest::write_safetensors(file("a.safetensors"), wdtest::st_file(a));
    wdtest::write_safetensors(file("b.safetensors"), wdtest::st_file(b));
    opt_.backend = BackendKind::cpu;
    opt_.transpose = TransposeMode::never;
  }

  // Each part's JSON report in its own file; returns their paths.
  std::vector<std::string> write_parts(uint32_t n, DiffOptions opt, const std::string& b = "b.safetensors",
                                       const std::string& prefix = "part") {
    std::vector<std::string> paths;
    for (uint32_t k = 1; k <= n; ++k) {
      opt.shard = Shard{k, n};
      auto run = wdtest::diff_files(file("a.safetensors"), file(b), opt);
      paths.push_back(path(prefix + std::to_string(k) + "of" + std::to_string(n) + ".json"));
      std::ofstream out(paths.back());
      write_json(out, ReportContext{&run.a, &run.b, &run.result});
    }
    return paths;
  }

  static std::string without_timing(std::string json) {
    // "seconds": the only field a merge may not reproduce.
    const size_t at = json.find("\"seconds\":");
    if (at != std::string::npos) json.erase(at, json.find_first_of(",}", at) - at);
    return json;
  }

  template <typename Write>
  static std::string text(const Model& a, const Model& b, const DiffResult& r, Write write) {
    std::ostringstream out;
    write(out, ReportContext{&a, &b, &r});
    return out.str();
  }

  DiffOptions opt_;
};

TEST_F(ShardMerge, MergedReportsEqualTheSingleRun) {
  const auto single = wdtest::diff_files(file("a.safetensors"), file("b.safetensors"), opt_);
  const size_t entries = single.result.tensors.size();
  for (const uint32_t n : {1u, 2u, 3u, 7u, 20u}) {
    SCOPED_TRACE(n);
    const auto parts = write_parts(n, opt_);
    std::vector<std::string> shuffled(parts.rbegin(), parts.rend());  // any order
    const MergedRun m = merge_parts(shuffled);
    ASSERT_EQ(m.result.tensors.size(), entries);
    EXPECT_EQ(without_timing(text(m.a, m.b, m.result, write_json)),
              without_timing(text(single.a, single.b, single.result, write_json)));
    EXPECT_EQ(text(m.a, m.b, m.result, write_csv), text(single.a, single.b, single.result, write_csv));
    EXPECT_EQ(m.result.summary.bytes_read, single.result.summary.bytes_read);
    EXPECT_EQ(exit_code(m.result, false), exit_code(single.result, false));
    // Bits, not text: the global sums are the single run's.
    EXPECT_EQ(std::bit_cast<uint64_t>(m.result.summary.sum_sq_diff),
              std::bit_cast<uint64_t>(single.result.summary.sum_sq_diff));
  }
}

TEST_F(ShardMerge, EveryPairInExactlyOnePartAndStructureInPartOne) {
  DiffOptions opt = opt_;
  size_t compared = 0;
  for (uint32_t k = 1; k <= 3; ++k) {
    opt.shard = Shard{k, 3};
    const auto run = wdtest::diff_files(file("a.safetensors"), file("b.safetensors"), opt);
    ASSERT_TRUE(run.result.part);
    EXPECT_EQ(run.result.part->entries, 12u);
    for (const auto& t : run.result.tensors) {
      if (is_compared(t.status)) ++compared;
      else EXPECT_EQ(k, 1u) << t.name;
    }
  }
  EXPECT_EQ(compared, 9u);
}

TEST_F(ShardMerge, ThePartsGatesOrOthers) {
  DiffOptions opt = opt_;
  const auto parts = write_parts(3, opt);
  MergedRun m = merge_parts(parts);
  auto single = wdtest::diff_files(file("a.safetensors"), file("b.safetensors"), opt_);
  const std::vector<Gate> gates{parse_gate("rel_l2>1e-4")};
  apply_gates(m.result, gates);
  apply_gates(single.result, gates);
  EXPECT_EQ(m.result.summary.failed, single.result.summary.failed);
  EXPECT_FALSE(single.result.summary.failed.empty());
  EXPECT_EQ(exit_code(m.result, true), exit_code(single.result, true));
  EXPECT_EQ(without_timing(text(m.a, m.b, m.result, write_json)),
            without_timing(text(single.a, single.b, single.result, write_json)));
}

TEST_F(ShardMerge, RefusesPartsThatDoNotBelongTogether) {
  const auto parts = write_parts(3, opt_);
  expect_error([&] { merge_parts({}); }, Errc::usage, {"no part"});
  expect_error([&] { merge_parts({parts[0], parts[2]}); }, Errc::usage, {"part 2/3 is missing"});
  expect_error([&] { merge_parts({parts[0], parts[1], parts[1], parts[2]}); }, Errc::conflict,
               {"part 2/3 given twice"});
  // Another number of parts.
  const auto halves = write_parts(2, opt_);
  expect_error([&] { merge_parts({parts[0], parts[1], parts[2], halves[1]}); }, Errc::conflict,
               {"another number of parts"});
  // Other options.
  DiffOptions tight = opt_;
  tight.atol = 0.5;
  const auto other = write_parts(3, tight, "b.safetensors", "tight");
  expect_error([&] { merge_parts({parts[0], other[1], parts[2]}); }, Errc::conflict, {"other options"});
  // Other inputs: B rewritten (another size) after parts 1 and 2 were written.
  const auto before = parts;
  wdtest::fs::copy_file(file("b.safetensors"), file("b2.safetensors"));
  const auto with_b2 = write_parts(3, opt_, "b2.safetensors", "b2");
  expect_error([&] { merge_parts({before[0], before[1], with_b2[2]}); }, Errc::conflict, {"input"});
}

TEST_F(ShardMerge, RefusesFilesThatAreNoPart) {
  const auto parts = write_parts(2, opt_);
  const auto single = wdtest::diff_files(file("a.safetensors"), file("b.safetensors"), opt_);
  {
    std::ofstream out(path("single.json"));
    write_json(out, ReportContext{&single.a, &single.b, &single.result});
  }
  expect_error([&] { merge_parts({path("single.json")}); }, Errc::malformed, {"single.json", "--shard"});
  wdtest::write_bytes(file("junk.json"), "{\"part\": [1, 2");
  expect_error([&] { merge_parts({parts[0], path("junk.json")}); }, Errc::malformed, {"junk.json", "not JSON"});
  expect_error([&] { merge_parts({path("absent.json")}); }, Errc::io, {"absent.json"});
  // A part whose raw sums were cut out.
  std::ifstream in(parts[1]);
  std::stringstream all;
  all << in.rdbuf();
  std::string t = all.str();
  const size_t raw = t.find("\"raw\":");
  ASSERT_NE(raw, std::string::npos);
  t.replace(raw, 6, "\"wax\":");
  wdtest::write_bytes(file("noraw.json"), t);
  expect_error([&] { merge_parts({parts[0], path("noraw.json")}); }, Errc::malformed, {"noraw.json", "raw"});
  // Nesting without end (copying or comparing it would recurse): refused while parsing.
  std::string deep = all.str();
  const size_t graph_at = deep.find("\"metadata_diffs\":");
  ASSERT_NE(graph_at, std::string::npos);
  deep.insert(graph_at, "\"graph\": " + std::string(100000, '[') + std::string(100000, ']') + ",\n");
  wdtest::write_bytes(file("deep.json"), deep);
  expect_error([&] { merge_parts({parts[0], path("deep.json")}); }, Errc::malformed, {"deep.json", "nested"});
  // A graph whose opsets lack a side: malformed, never an internal error.
  const auto whole = write_parts(1, opt_, "b.safetensors", "whole");
  std::ifstream whole_in(whole[0]);
  std::stringstream whole_text;
  whole_text << whole_in.rdbuf();
  std::string g = whole_text.str();
  g.insert(g.find("\"metadata_diffs\":"),
           "\"graph\": {\"ir_version\": {\"a\": 8, \"b\": 8}, \"opsets\": [{\"domain\": \"ai.onnx\"}]},\n");
  wdtest::write_bytes(file("g.json"), g);
  expect_error([&] { merge_parts({path("g.json")}); }, Errc::malformed, {"g.json"});
  // A part of a later layout version.
  std::string v = all.str();
  const size_t ver = v.find("\"version\":1");
  ASSERT_NE(ver, std::string::npos);
  v.replace(ver, 11, "\"version\":9");
  wdtest::write_bytes(file("v9.json"), v);
  expect_error([&] { merge_parts({parts[0], path("v9.json")}); }, Errc::malformed, {"version 9"});
}

}  // namespace
}  // namespace weightdiff
