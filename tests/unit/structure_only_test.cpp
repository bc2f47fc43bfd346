// --structure-only: names, dtypes, shapes and metadata, no tensor byte read
// and no backend made. The models here are catalogs whose tensors point at
// no file: reading any of them would dereference null.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "test_files.hpp"
#include "weightdiff/gates.hpp"
#include "weightdiff/report.hpp"

namespace wdtest {
namespace {

using weightdiff::DType;
using weightdiff::Status;

weightdiff::TensorRef ref(const std::string& name, DType dtype, std::vector<uint64_t> shape) {
  weightdiff::TensorRef t;
  t.name = name;
  t.dtype = dtype;
  t.shape = std::move(shape);
  t.numel = 1;
  for (const auto d : t.shape) t.numel *= d;
  t.nbytes = t.numel * weightdiff::dtype_bits(dtype) / 8;  // no file behind it
  t.offset = 1 << 20;
  return t;
}

weightdiff::Model model(const std::string& path, std::vector<weightdiff::TensorRef> tensors) {
  weightdiff::Model m;
  m.path = path;
  m.format = "safetensors";
  std::sort(tensors.begin(), tensors.end(), [](const auto& x, const auto& y) { return x.name < y.name; });
  m.tensors = std::move(tensors);
  for (const auto& t : m.tensors) m.bytes += t.nbytes;
  return m;
}

weightdiff::DiffOptions structure_only() {
  weightdiff::DiffOptions opt;
  opt.structure_only = true;
  // A backend that this build may lack: none must be made.
  opt.backend = weightdiff::BackendKind::cuda;
  return opt;
}

const weightdiff::TensorDiff& find(const weightdiff::DiffResult& r, const std::string& name) {
  for (const auto& t : r.tensors)
    if (t.name == name) return t;
  throw std::runtime_error("no tensor " + name);
}

class StructureOnly : public ::testing::Test {
 protected:
  void SetUp() override {
    auto odd = ref("odd", DType::u8, {2});
    odd.unsupported_dtype = "STRING";
    a = model("A", {ref("same", DType::bf16, {4096, 4096}), ref("recast", DType::f32, {8, 8}),
                    ref("reshaped", DType::f32, {4, 2}), ref("gone", DType::f16, {3}),
                    ref("scalar", DType::f64, {}), odd});
    b = model("B", {ref("same", DType::bf16, {4096, 4096}), ref("recast", DType::bf16, {8, 8}),
                    ref("reshaped", DType::f32, {8}), ref("new", DType::i8, {5}),
                    ref("scalar", DType::f64, {}), ref("odd", DType::u8, {2})});
  }
  weightdiff::Model a, b;
};

TEST_F(StructureOnly, StatusesWithoutReadingOrABackend) {
  const auto r = weightdiff::diff_models(a, b, structure_only());
  EXPECT_EQ(r.backend, "none");
  ASSERT_EQ(r.tensors.size(), 7u);
  EXPECT_EQ(find(r, "same").status, Status::matched);
  EXPECT_EQ(find(r, "scalar").status, Status::matched);
  EXPECT_EQ(find(r, "recast").status, Status::dtype_mismatch);
  EXPECT_EQ(find(r, "recast").dtype_a, "f32");
  EXPECT_EQ(find(r, "recast").dtype_b, "bf16");
  EXPECT_EQ(find(r, "reshaped").status, Status::shape_mismatch);
  EXPECT_EQ(find(r, "gone").status, Status::only_in_a);
  EXPECT_EQ(find(r, "new").status, Status::only_in_b);
  EXPECT_EQ(find(r, "odd").status, Status::unsupported_dtype);
  for (const auto& t : r.tensors) EXPECT_FALSE(t.stats.has_value()) << t.name;

  const auto& s = r.summary;
  EXPECT_TRUE(s.structure_only);
  EXPECT_EQ(s.matched, 2u);
  EXPECT_EQ(s.dtype_mismatch, 1u);
  EXPECT_EQ(s.shape_mismatch, 1u);
  EXPECT_EQ(s.only_in_a, 1u);
  EXPECT_EQ(s.only_in_b, 1u);
  EXPECT_EQ(s.unsupported_dtype, 1u);
  EXPECT_EQ(s.compared + s.identical + s.close + s.different + s.elements, 0u);
  EXPECT_EQ(s.bytes_read, 0u);
  EXPECT_FALSE(s.max_abs.has_value());
}

TEST_F(StructureOnly, ExitCodes) {
  using weightdiff::exit_code;
  EXPECT_EQ(exit_code(weightdiff::diff_models(a, b, structure_only()), false), 1);
  // Same structure: 0, whatever the values (they are not read).
  EXPECT_EQ(exit_code(weightdiff::diff_models(a, a, structure_only()), false), 0);
  // A dtype change alone decides.
  const auto f32 = model("A", {ref("t", DType::f32, {2})});
  const auto bf16 = model("B", {ref("t", DType::bf16, {2})});
  const auto r = weightdiff::diff_models(f32, bf16, structure_only());
  EXPECT_EQ(r.summary.dtype_mismatch, 1u);
  EXPECT_EQ(exit_code(r, false), 1);
  // unsupported_dtype never decides.
  auto s1 = ref("s", DType::u8, {2}), s2 = s1;
  s1.unsupported_dtype = "STRING";
  EXPECT_EQ(exit_code(weightdiff::diff_models(model("A", {s1}), model("B", {s2}), structure_only()), false), 0);
}

TEST_F(StructureOnly, MatchedCountersOnlyInThisMode) {
  auto names = [](const weightdiff::Summary& s) {
    return weightdiff::numeric_field_names(weightdiff::summary_numeric_fields(s));
  };
  weightdiff::Summary normal;
  const auto plain = names(normal);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), "matched"), 0);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), "dtype_mismatch"), 0);
  const auto r = weightdiff::diff_models(a, b, structure_only());
  const auto fields = weightdiff::summary_numeric_fields(r.summary);
  EXPECT_EQ(weightdiff::numeric_field(fields, "matched"), 2.0);
  EXPECT_EQ(weightdiff::numeric_field(fields, "dtype_mismatch"), 1.0);
}

TEST_F(StructureOnly, ReportsWork) {
  const auto opt = structure_only();
  const auto r = weightdiff::diff_models(a, b, opt);
  const weightdiff::ReportContext ctx{&a, &b, &r};

  std::ostringstream json;
  weightdiff::write_json(json, ctx);
  const auto j = nlohmann::json::parse(json.str());
  EXPECT_EQ(j["options"]["structure_only"], true);
  EXPECT_EQ(j["backend"]["name"], "none");
  EXPECT_EQ(j["summary"]["matched"], 2);
  EXPECT_EQ(j["summary"]["dtype_mismatch"], 1);
  EXPECT_EQ(j["summary"]["bytes_read"], 0);
  for (const auto& t : j["tensors"]) {
    EXPECT_FALSE(t.contains("numel")) << t.dump();
    EXPECT_FALSE(t.contains("hist_a")) << t.dump();
  }
  EXPECT_EQ(j["tensors"][0]["name"], "gone");
  EXPECT_EQ(j["tensors"][3]["status"], "dtype_mismatch");

  std::ostringstream csv;
  weightdiff::write_csv(csv, ctx);
  EXPECT_NE(csv.str().find("\r\nrecast,recast,,dtype_mismatch,f32,bf16,8x8,8x8,,"), std::string::npos)
      << csv.str();
  EXPECT_NE(csv.str().find("\r\nsame,same,,matched,bf16,bf16,4096x4096,4096x4096,,"), std::string::npos);

  std::ostringstream table;
  weightdiff::print_table(table, ctx, {});
  const std::string t = table.str();
  EXPECT_NE(t.find("dtype_mismatch  recast  f32 / bf16\n"), std::string::npos) << t;
  EXPECT_NE(t.find("shape_mismatch  reshaped  [4x2] vs [8]\n"), std::string::npos) << t;
  EXPECT_EQ(t.find("matched  same"), std::string::npos) << t;  // not a difference
  EXPECT_NE(t.find("structure only: 2 matched, 1 dtype mismatch; only in A 1; only in B 1; "
                   "shape mismatch 1; unsupported 1 | no tensor data read\n"),
            std::string::npos)
      << t;
}

TEST(StructureOnlyFiles, SameAnswerAsTheFullDiffOnStructure) {
  // Real files: identical structure, different values. The full diff finds
  // the values different; --structure-only does not look.
  TempDir dir;
  write_safetensors(dir / "a.safetensors", st_file({st_f32("w", {2, 2}, {1, 2, 3, 4}), st_f32("x", {1}, {5})}));
  write_safetensors(dir / "b.safetensors", st_file({st_f32("w", {2, 2}, {1, 2, 3, 9}), st_f32("x", {1}, {5})}));
  const DiffRun full = diff_files(dir / "a.safetensors", dir / "b.safetensors");
  EXPECT_EQ(full.tensor("w").status, Status::different);
  EXPECT_EQ(weightdiff::exit_code(full.result, false), 1);
  weightdiff::DiffOptions opt;
  opt.structure_only = true;
  const DiffRun st = diff_files(dir / "a.safetensors", dir / "b.safetensors", opt);
  EXPECT_EQ(st.tensor("w").status, Status::matched);
  EXPECT_EQ(st.tensor("x").status, Status::matched);
  EXPECT_EQ(st.result.summary.bytes_read, 0u);
  EXPECT_EQ(weightdiff::exit_code(st.result, false), 0);
}

}  // namespace
}  // namespace wdtest
