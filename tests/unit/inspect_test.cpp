// inspect_model against a single-side float64 reference written here, typed
// over dtypes: random data (fixed seeds, never all zeros) with NaN and Inf
// where the dtype has them, at sizes around the block and chunk boundaries,
// written as real safetensors files; then the filters, unsupported dtypes,
// the exit code, thread determinism and the report writers.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "encode.hpp"
#include "reference.hpp"
#include "test_files.hpp"
#include "weightdiff/inspect.hpp"
#include "weightdiff/inspect_report.hpp"

namespace wdtest {
namespace {

using weightdiff::DType;
using weightdiff::InspectResult;
using weightdiff::InspectTensor;

// --------------------------------------------------------------- reference

// SPEC §2–4 for one tensor: counts, extremes and histogram exact; sums in
// long double; the variance two-pass.
struct RefValues {
  uint64_t nan = 0, inf = 0, n_finite = 0;
  double min = 0, max = 0;
  RefSum sum, sum_sq;
  long double var = 0;
  RefValueHist hist;
};

RefValues reference_values(const std::vector<double>& x, int lo = -40, int hi = 16) {
  RefValues r;
  r.hist.pos.assign(static_cast<size_t>(hi - lo), 0);
  r.hist.neg.assign(static_cast<size_t>(hi - lo), 0);
  for (const double v : x) {
    if (std::isnan(v)) { ++r.nan; continue; }
    if (std::isinf(v)) { ++r.inf; continue; }
    r.min = r.n_finite ? std::min(r.min, v) : v;
    r.max = r.n_finite ? std::max(r.max, v) : v;
    ++r.n_finite;
    r.sum.add(v);
    r.sum_sq.add(static_cast<long double>(v) * v);
    if (v == 0) { ++r.hist.zero; continue; }
    int e = 0;
    std::frexp(std::fabs(v), &e);  // |v| in [2^(e-1), 2^e)
    const int bin = e - 1 - lo;
    if (bin < 0) ++r.hist.under;
    else if (e - 1 >= hi) ++r.hist.over;
    else ++(v > 0 ? r.hist.pos : r.hist.neg)[static_cast<size_t>(bin)];
  }
  if (r.n_finite) {
    const long double mean = r.sum.value() / r.n_finite;
    long double m2 = 0;
    for (const double v : x)
      if (std::isfinite(v)) m2 += (v - mean) * (v - mean);
    r.var = m2 / r.n_finite;
  }
  return r;
}

void expect_matches(const InspectTensor& t, const RefValues& r) {
  ASSERT_TRUE(t.stats.has_value());
  const auto& s = *t.stats;
  EXPECT_EQ(s.nan, r.nan);
  EXPECT_EQ(s.inf, r.inf);
  EXPECT_EQ(s.n_finite, r.n_finite);
  EXPECT_EQ(s.hist.zero, r.hist.zero);
  EXPECT_EQ(s.hist.under, r.hist.under);
  EXPECT_EQ(s.hist.over, r.hist.over);
  EXPECT_EQ(s.hist.pos, r.hist.pos);
  EXPECT_EQ(s.hist.neg, r.hist.neg);
  EXPECT_EQ(t.nonfinite(), r.nan + r.inf > 0);
  if (r.n_finite == 0) {
    EXPECT_FALSE(s.min || s.max || s.mean || s.std);
    return;
  }
  ASSERT_TRUE(s.min && s.max && s.mean && s.std);
  EXPECT_EQ(*s.min, r.min);
  EXPECT_EQ(*s.max, r.max);
  const long double n = r.n_finite;
  EXPECT_LE(std::fabs(*s.mean - r.sum.value() / n), 1e-9 * r.sum.abs / n) << "mean";
  EXPECT_LE(std::fabs(static_cast<long double>(*s.std) * *s.std - r.var), 1e-9 * r.sum_sq.abs / n)
      << "std";
}

// --------------------------------------------------------------- data

class Rng {  // splitmix64
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  double uniform() { return static_cast<double>(next() >> 11) * 0x1p-53; }
  double normal() {
    return (uniform() + uniform() + uniform() + uniform() - 2.0) * 1.7320508075688772;
  }

 private:
  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint64_t state_;
};

constexpr uint64_t kChunk = uint64_t{1} << 20;

struct Case {
  std::string name;
  std::vector<uint64_t> shape;
  bool specials;  // NaN / Inf inserted (float dtypes only)
};

const std::vector<Case>& cases() {
  static const std::vector<Case> c{
      {"c0_scalar", {}, false},
      {"c1_empty", {0, 4}, false},
      {"c2_seven", {7}, true},
      {"c3_block_plus_1", {5, 205}, false},
      {"c4_blocks_odd", {3, 1000}, true},
      {"c5_chunk_plus_13", {kChunk + 13}, true},
      {"c6_clean", {64, 33}, false},
  };
  return c;
}

uint64_t numel_of(const std::vector<uint64_t>& shape) {
  uint64_t n = 1;
  for (const auto d : shape) n *= d;
  return n;
}

// Mostly N(0, s) with zeros, tiny (histogram `under`) and huge (`over`, or
// the dtype's overflow) values; NaN and ±Inf sprinkled in when asked.
std::vector<double> generate(DType t, uint64_t n, bool specials, uint64_t seed) {
  Rng rng(seed);
  const bool is_float = weightdiff::dtype_is_float(t);
  std::vector<double> x(n);
  for (uint64_t i = 0; i < n; ++i) {
    const double u = rng.uniform();
    double v = rng.normal();
    if (!is_float) v = std::nearbyint(40 * v);
    else if (u < 0.02) v = 0;
    else if (u < 0.03) v *= 1e-13;
    else if (u < 0.035) v *= 1e6;
    if (specials && is_float) {
      if (u > 0.997) v = std::numeric_limits<double>::quiet_NaN();
      else if (u > 0.994) v = u > 0.9955 ? INFINITY : -INFINITY;
    }
    x[i] = v;
  }
  if (n > 0) x[0] = is_float ? -2.75 : 3;  // never all zeros
  return x;
}

// --------------------------------------------------------------- typed suite

template <DType T>
struct Of {
  static constexpr DType value = T;
};
using DTypes = ::testing::Types<Of<DType::f32>, Of<DType::bf16>, Of<DType::f16>,
                                Of<DType::f8e4m3fn>, Of<DType::f8e5m2>, Of<DType::f64>,
                                Of<DType::i8>, Of<DType::boolean>>;
struct DTypeNames {
  template <typename P>
  static std::string GetName(int) {
    return std::string(weightdiff::dtype_name(P::value));
  }
};

template <typename P>
class InspectReference : public ::testing::Test {
 protected:
  struct Data {
    TempDir dir;
    std::vector<std::vector<double>> values;  // decoded, per case
  };
  static void SetUpTestSuite() {
    data_ = std::make_unique<Data>();
    StFile f;
    uint64_t seed = 7000 + static_cast<uint64_t>(P::value) * 64;
    for (const auto& c : cases()) {
      const uint64_t n = numel_of(c.shape);
      auto bytes = encode_values(P::value, generate(P::value, n, c.specials, seed++));
      data_->values.push_back(decode_values(P::value, bytes, n));
      f.tensors.push_back(st_tensor(c.name, P::value, c.shape, std::move(bytes)));
    }
    write_safetensors(data_->dir / "m.safetensors", f);
  }
  static void TearDownTestSuite() { data_.reset(); }

  static InspectResult run(unsigned threads, const weightdiff::HistRange& hist = {}) {
    weightdiff::InspectOptions opt;
    opt.backend = weightdiff::BackendKind::cpu;
    opt.threads = threads;
    opt.hist = hist;
    return weightdiff::inspect_model(weightdiff::open_model(path()), opt);
  }
  static std::string path() { return (data_->dir / "m.safetensors").string(); }

  static inline std::unique_ptr<Data> data_;
};
TYPED_TEST_SUITE(InspectReference, DTypes, DTypeNames);

TYPED_TEST(InspectReference, EveryTensorMatchesReference) {
  const InspectResult r = this->run(2);
  ASSERT_EQ(r.tensors.size(), cases().size());
  const unsigned bits = weightdiff::dtype_bits(TypeParam::value);
  uint64_t elements = 0, nan = 0, inf = 0, with_nan = 0, with_inf = 0;
  for (size_t i = 0; i < cases().size(); ++i) {
    const auto& c = cases()[i];
    const InspectTensor& t = r.tensors[i];
    SCOPED_TRACE(c.name);
    EXPECT_EQ(t.name, c.name);  // sorted by name; the cases are named in order
    EXPECT_EQ(t.dtype, weightdiff::dtype_name(TypeParam::value));
    EXPECT_EQ(t.shape, c.shape);
    EXPECT_EQ(t.numel, numel_of(c.shape));
    EXPECT_EQ(t.bytes, numel_of(c.shape) * bits / 8);
    const RefValues ref = reference_values(this->data_->values[i]);
    expect_matches(t, ref);
    elements += t.numel, nan += ref.nan, inf += ref.inf;
    with_nan += ref.nan > 0, with_inf += ref.inf > 0;
  }
  const auto& s = r.summary;
  EXPECT_EQ(s.tensors, cases().size());
  EXPECT_EQ(s.inspected, cases().size());
  EXPECT_EQ(s.unsupported_dtype, 0u);
  EXPECT_EQ(s.elements, elements);
  EXPECT_EQ(s.nan, nan);
  EXPECT_EQ(s.inf, inf);
  EXPECT_EQ(s.tensors_with_nan, with_nan);
  EXPECT_EQ(s.tensors_with_inf, with_inf);
  EXPECT_EQ(s.bytes_read, elements * bits / 8);  // each byte counted once
  const bool is_float = weightdiff::dtype_is_float(TypeParam::value);
  EXPECT_EQ(nan + inf > 0, is_float) << "the fixture must hold NaN/Inf exactly for float dtypes";
  EXPECT_EQ(weightdiff::inspect_exit_code(r), is_float ? 1 : 0);
}

TYPED_TEST(InspectReference, CustomHistRangeMatchesReference) {
  const InspectResult r = this->run(2, {-3, 5});
  for (size_t i = 0; i < cases().size(); ++i) {
    SCOPED_TRACE(cases()[i].name);
    ASSERT_EQ(r.tensors[i].stats->hist.pos.size(), 8u);
    expect_matches(r.tensors[i], reference_values(this->data_->values[i], -3, 5));
  }
}

TYPED_TEST(InspectReference, SameBitsForOneAndThreeThreads) {
  const InspectResult r1 = this->run(1), r3 = this->run(3);
  EXPECT_EQ(r3.threads, 3u);
  const auto bits = [](const std::optional<double>& v) {
    return v ? std::bit_cast<uint64_t>(*v) : uint64_t{1};
  };
  for (size_t i = 0; i < cases().size(); ++i) {
    const auto &x = *r1.tensors[i].stats, &y = *r3.tensors[i].stats;
    EXPECT_EQ(bits(x.mean), bits(y.mean)) << cases()[i].name;
    EXPECT_EQ(bits(x.std), bits(y.std)) << cases()[i].name;
  }
}

// --------------------------------------------------------------- behaviour

class Inspect : public FileTest {
 protected:
  InspectResult run(const std::string& name, weightdiff::InspectOptions opt = {}) {
    opt.backend = weightdiff::BackendKind::cpu;
    model_ = weightdiff::open_model(path(name));
    return weightdiff::inspect_model(model_, opt);
  }
  weightdiff::Model model_;
};

TEST_F(Inspect, UnsupportedDtypeIsListedWithoutStatsAndNeverDecides) {
  write_safetensors(file("m.safetensors"),
                    st_file({st_f32("w", {3}, {1, -2, 0.5f}),
                             StTensor{"scale", "F8_E8M0", {2, 2}, {1, 2, 3, 4}, {}, {}, {}}}));
  const InspectResult r = run("m.safetensors");
  ASSERT_EQ(r.tensors.size(), 2u);
  const InspectTensor& odd = r.tensors[0];
  EXPECT_EQ(odd.name, "scale");
  EXPECT_EQ(odd.dtype, "F8_E8M0");
  EXPECT_EQ(odd.shape, (std::vector<uint64_t>{2, 2}));
  EXPECT_EQ(odd.numel, 4u);
  EXPECT_EQ(odd.bytes, 4u);
  EXPECT_FALSE(odd.stats.has_value());
  EXPECT_STREQ(weightdiff::inspect_status(odd), "unsupported_dtype");
  EXPECT_STREQ(weightdiff::inspect_status(r.tensors[1]), "ok");
  EXPECT_EQ(r.summary.tensors, 2u);
  EXPECT_EQ(r.summary.inspected, 1u);
  EXPECT_EQ(r.summary.unsupported_dtype, 1u);
  EXPECT_EQ(r.summary.elements, 3u);
  EXPECT_EQ(r.summary.bytes, 16u);
  EXPECT_EQ(r.summary.bytes_read, 12u);
  ASSERT_TRUE(r.summary.min && r.summary.max);
  EXPECT_EQ(*r.summary.min, -2.0);
  EXPECT_EQ(*r.summary.max, 1.0);
  EXPECT_EQ(weightdiff::inspect_exit_code(r), 0);
}

TEST_F(Inspect, AllNanTensorHasNullStatsAndFails) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  write_safetensors(file("m.safetensors"),
                    st_file({st_f32("bad", {3}, {nan, nan, nan}), st_f32("good", {2}, {1, 3})}));
  const InspectResult r = run("m.safetensors");
  const auto& bad = *r.tensors[0].stats;
  EXPECT_EQ(bad.nan, 3u);
  EXPECT_EQ(bad.n_finite, 0u);
  EXPECT_FALSE(bad.min || bad.max || bad.mean || bad.std);
  EXPECT_STREQ(weightdiff::inspect_status(r.tensors[0]), "nonfinite");
  EXPECT_EQ(*r.tensors[1].stats->mean, 2.0);
  EXPECT_EQ(*r.tensors[1].stats->std, 1.0);
  EXPECT_EQ(r.summary.tensors_with_nan, 1u);
  EXPECT_EQ(weightdiff::inspect_exit_code(r), 1);
}

TEST_F(Inspect, FiltersSelectTensorsAndMayNotLeaveNothing) {
  write_safetensors(file("m.safetensors"),
                    st_file({st_f32("enc.w", {1}, {1}), st_f32("enc.b", {1}, {2}),
                             st_f32("dec.w", {1}, {INFINITY})}));
  weightdiff::InspectOptions opt;
  opt.include = {"^enc\\."};
  opt.exclude = {"\\.b$"};
  const InspectResult r = run("m.safetensors", opt);
  ASSERT_EQ(r.tensors.size(), 1u);
  EXPECT_EQ(r.tensors[0].name, "enc.w");
  EXPECT_EQ(weightdiff::inspect_exit_code(r), 0);  // dec.w's Inf is filtered out

  opt.include = {"nothing_matches"};
  expect_error([&] { run("m.safetensors", opt); }, weightdiff::Errc::usage,
               {path("m.safetensors"), "filters"});
}

// --------------------------------------------------------------- reports

class InspectReports : public Inspect {
 protected:
  void SetUp() override {
    const StTensor c64{"c64", "C64", {1}, std::vector<uint8_t>(8, 0), {}, {}, {}};
    write_safetensors(file("m.safetensors"),
                      st_file({st_f32("a,\"quoted\"", {2, 2}, {1, -0.25f, 0, 1e-30f}),
                               st_f32("z_inf", {2}, {-INFINITY, 2}), c64}));
    opt_.hist = {-4, 4};
    result_ = run("m.safetensors", opt_);
  }
  weightdiff::InspectReportContext ctx() const { return {&model_, &result_}; }
  weightdiff::InspectOptions opt_;
  InspectResult result_;
};

TEST_F(InspectReports, JsonHasTheSpecFieldsInOrder) {
  std::ostringstream out;
  weightdiff::write_inspect_json(out, ctx());
  const auto j = nlohmann::ordered_json::parse(out.str());
  EXPECT_EQ(j["schema_version"], 1);
  EXPECT_EQ(j["a"]["path"], path("m.safetensors"));
  EXPECT_EQ(j["a"]["tensors"], 3);
  EXPECT_FALSE(j.contains("b"));
  EXPECT_EQ(j["backend"]["name"], "cpu");
  EXPECT_EQ(j["options"]["hist_range"], nlohmann::ordered_json::array({-4, 4}));
  EXPECT_EQ(j["summary"]["inf"], 1);
  EXPECT_EQ(j["summary"]["tensors_with_inf"], 1);
  EXPECT_EQ(j["summary"]["unsupported_dtype"], 1);
  const auto& t = j["tensors"];
  ASSERT_EQ(t.size(), 3u);
  std::vector<std::string> keys;
  for (auto it = t[0].begin(); it != t[0].end(); ++it) keys.push_back(it.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"name", "status", "dtype", "shape", "numel", "bytes",
                                            "nan", "inf", "n_finite", "min", "max", "mean", "std",
                                            "hist"}));
  EXPECT_EQ(t[0]["name"], "a,\"quoted\"");
  EXPECT_EQ(t[0]["shape"], nlohmann::ordered_json::array({2, 2}));
  EXPECT_EQ(t[0]["min"], -0.25);
  EXPECT_EQ(t[0]["mean"], (1 - 0.25 + 0 + static_cast<double>(1e-30f)) / 4);
  EXPECT_EQ(t[0]["hist"]["under"], 1);  // 1e-30 < 2^-4
  EXPECT_EQ(t[0]["hist"]["zero"], 1);
  EXPECT_EQ(t[0]["hist"]["pos"].size(), 8u);
  EXPECT_EQ(t[1]["name"], "c64");
  EXPECT_EQ(t[1]["status"], "unsupported_dtype");
  EXPECT_FALSE(t[1].contains("min") || t[1].contains("hist"));
  EXPECT_EQ(t[2]["status"], "nonfinite");
  EXPECT_EQ(t[2]["inf"], 1);
  EXPECT_EQ(t[2]["std"], 0.0);
}

TEST_F(InspectReports, CsvHasHeaderAndOneQuotedRowPerTensor) {
  std::ostringstream out;
  weightdiff::write_inspect_csv(out, ctx());
  EXPECT_EQ(out.str(),
            "name,status,dtype,shape,numel,bytes,nan,inf,n_finite,min,max,mean,std\r\n"
            "\"a,\"\"quoted\"\"\",ok,f32,2x2,4,16,0,0,4,-0.25,1,0.1875,0.480071609241788\r\n"
            "c64,unsupported_dtype,C64,1,1,8,,,,,,,\r\n"
            "z_inf,nonfinite,f32,2,2,8,0,1,1,2,2,2,0\r\n");
}

TEST_F(InspectReports, TableShowsNonFiniteFirstThenUnsupportedAndASummary) {
  std::ostringstream out;
  weightdiff::print_inspect_table(out, ctx(), {});
  const std::string s = out.str();
  const auto inf_row = s.find("z_inf"), ok_row = s.find("a,\"quoted\""), odd = s.find("c64");
  ASSERT_NE(inf_row, std::string::npos) << s;
  ASSERT_NE(ok_row, std::string::npos) << s;
  EXPECT_LT(inf_row, ok_row) << s;
  EXPECT_LT(ok_row, odd) << s;
  EXPECT_NE(s.find("unsupported_dtype  c64  C64"), std::string::npos) << s;
  EXPECT_NE(s.find("inspected 2 tensors, 6 elements: 0 with NaN (0), 1 with Inf (1)"),
            std::string::npos)
      << s;

  std::ostringstream top1;
  weightdiff::print_inspect_table(top1, ctx(), {1, false});
  EXPECT_EQ(top1.str().find("a,\"quoted\""), std::string::npos) << top1.str();
  EXPECT_NE(top1.str().find("… 1 more"), std::string::npos) << top1.str();
}

}  // namespace
}  // namespace wdtest
