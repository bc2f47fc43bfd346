// --fail-if gates and exit codes (SPEC §6): parsing, which metrics they may
// name, null/NaN triggering, global gates, and the exit code rules.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "test_files.hpp"
#include "weightdiff/gates.hpp"

namespace wdtest {
namespace {

using weightdiff::Errc;
using weightdiff::Status;

// Per-tensor scalar fields of SPEC §5 that are numbers.
const std::vector<std::string> kTensorMetrics{
    "numel",    "n_finite", "equal",       "mismatched",  "atol",        "rtol",
    "nan_a",    "nan_b",    "inf_a",       "inf_b",       "max_abs",     "a_at_max_abs",
    "b_at_max_abs", "mean_abs", "rmse",    "max_rel",     "dot",         "sum_sq_a",
    "sum_sq_b", "sum_sq_diff", "norm_a",   "norm_b",      "norm_diff",   "cosine",
    "rel_l2",   "snr_db",   "mean_a",      "mean_b",      "std_a",       "std_b",
    "min_a",    "max_a",    "min_b",       "max_b"};
const std::vector<std::string> kSummaryMetrics{
    "compared", "identical", "close", "different", "only_in_a", "only_in_b", "shape_mismatch",
    "unsupported_dtype", "elements", "mismatched", "max_abs", "cosine", "rel_l2", "seconds",
    "bytes_read"};

TEST(ParseGate, ReadsMetricOperatorAndValue) {
  const auto g = weightdiff::parse_gate("cosine<0.9999");
  EXPECT_EQ(g.text, "cosine<0.9999");
  EXPECT_FALSE(g.global);
  EXPECT_EQ(g.metric, "cosine");
  EXPECT_EQ(g.op, "<");
  EXPECT_EQ(g.value, 0.9999);
  const auto s = weightdiff::parse_gate(" max_abs  >=  1e-3 ");
  EXPECT_EQ(s.metric, "max_abs");
  EXPECT_EQ(s.op, ">=");
  EXPECT_EQ(s.value, 1e-3);
  const auto gl = weightdiff::parse_gate("global.rel_l2>1e-3");
  EXPECT_TRUE(gl.global);
  EXPECT_EQ(gl.metric, "rel_l2");
  EXPECT_EQ(gl.op, ">");
  EXPECT_EQ(weightdiff::parse_gate("mismatched<=0").op, "<=");
  EXPECT_EQ(weightdiff::parse_gate("snr_db<-inf").value, -std::numeric_limits<double>::infinity());
}

TEST(ParseGate, EverySpecMetricIsAccepted) {
  for (const auto& m : kTensorMetrics)
    EXPECT_NO_THROW(weightdiff::parse_gate(m + ">0")) << m;
  for (const auto& m : kSummaryMetrics)
    EXPECT_NO_THROW(weightdiff::parse_gate("global." + m + ">0")) << m;
}

TEST(ParseGate, MalformedIsAUsageError) {
  for (const char* text : {"", "cosine", "cosine<", "<1", "cosine=1", "cosine==1", "cosine<abc",
                           "cosine<nan", "cosine<1 2", "cosine<<1", "cosine!1", "global.",
                           "global.cosine", "cosine<1e", "cosine < 0x", "cos ine<1"}) {
    SCOPED_TRACE(text);
    expect_error([&] { weightdiff::parse_gate(text); }, Errc::usage, {});
  }
}

// A long metric, value or run of spaces crashed the regex parser (one stack
// frame per character); the scanner is linear and the message quotes an
// excerpt of the gate.
TEST(ParseGate, HugeGatesAreAUsageErrorWithAShortMessage) {
  const std::string big(10'000'000, 'x');
  const std::string spaces(10'000'000, ' ');
  for (const std::string& text :
       {big + "<1", "cosine<" + std::string(10'000'000, '9') + "x", "cosine<" + big,
        spaces + "cosine" + spaces + "<" + spaces + "1" + spaces + "2", spaces,
        "global." + big + ">1"}) {
    const std::string line = expect_error([&] { weightdiff::parse_gate(text); }, Errc::usage, {"--fail-if '"});
    EXPECT_LT(line.size(), 700u);
  }
  // Long but valid: spaces everywhere, a long number.
  const auto g = weightdiff::parse_gate(spaces + "cosine" + spaces + "<" + spaces + "0." +
                                        std::string(100'000, '9') + spaces);
  EXPECT_EQ(g.metric, "cosine");
  EXPECT_EQ(g.value, 1.0);
}

TEST(ParseGate, MessagesNameWhatIsWrong) {
  expect_error([] { weightdiff::parse_gate("cosine=1"); }, Errc::usage,
               {"--fail-if 'cosine=1': expected 'METRIC OP VALUE' with OP one of < <= > >="});
  expect_error([] { weightdiff::parse_gate("cosine<abc"); }, Errc::usage,
               {"--fail-if 'cosine<abc': 'abc' is not a number"});
  expect_error([] { weightdiff::parse_gate("cosine<="); }, Errc::usage,
               {"--fail-if 'cosine<=': '=' is not a number"});
  expect_error([] { weightdiff::parse_gate("global.foo<1"); }, Errc::usage,
               {"--fail-if 'global.foo<1': unknown summary metric 'foo'"});
  EXPECT_EQ(weightdiff::parse_gate("\tcosine\n>=\v+0x10\f").value, 16.0);
}

TEST(ParseGate, UnknownOrNonNumericMetricIsAUsageError) {
  for (const char* text : {"foo<1", "global.foo<1", "name<1", "name_b<1", "status<1",
                           "dtype_a<1", "shape_a<1", "max_abs_index<1", "failed<1",
                           "global.max_abs_tensor<1", "global.failed<1", "global.numel<1",
                           "global.snr_db<1", "hist_abs_diff<1"}) {
    SCOPED_TRACE(text);
    expect_error([&] { weightdiff::parse_gate(text); }, Errc::usage, {text});
  }
}

weightdiff::PairStats stats(uint64_t n, double dot, double ssa, double ssb, double ssd) {
  weightdiff::PairStats s;
  s.numel = s.n_finite = s.equal = n;
  s.dot = dot, s.sum_sq_a = ssa, s.sum_sq_b = ssb, s.sum_sq_diff = ssd;
  s.mom_a.n = s.mom_b.n = n;
  s.max_abs = std::sqrt(ssd);
  s.max_rel = 0.5;
  return s;
}

weightdiff::TensorDiff tensor(const std::string& name, Status status,
                              std::optional<weightdiff::PairStats> s = {}) {
  weightdiff::TensorDiff t;
  t.name = t.name_b = name;
  t.status = status;
  t.dtype_a = t.dtype_b = "f32";
  t.shape_a = t.shape_b = {4};
  t.stats = std::move(s);
  return t;
}

std::vector<weightdiff::Gate> gates(const std::vector<std::string>& texts) {
  std::vector<weightdiff::Gate> out;
  for (const auto& t : texts) out.push_back(weightdiff::parse_gate(t));
  return out;
}

TEST(ApplyGates, MarksTriggeredTensorsAndNotUncompared) {
  weightdiff::DiffResult r;
  r.tensors.push_back(tensor("bad", Status::close, stats(4, 0.5, 1, 1, 0.25)));   // cosine 0.5
  r.tensors.push_back(tensor("good", Status::close, stats(4, 1, 1, 1, 0)));      // cosine 1
  r.tensors.push_back(tensor("gone", Status::only_in_a));
  weightdiff::apply_gates(r, gates({"cosine<0.9", "max_abs>0.1", "rel_l2>10"}));
  EXPECT_EQ(r.tensors[0].failed, (std::vector<std::string>{"cosine<0.9", "max_abs>0.1"}));
  EXPECT_TRUE(r.tensors[1].failed.empty());
  EXPECT_TRUE(r.tensors[2].failed.empty());
  EXPECT_EQ(r.summary.failed, (std::vector<std::string>{"bad"}));
}

TEST(ApplyGates, NullOrNanMetricTriggers) {
  weightdiff::DiffResult r;
  weightdiff::PairStats empty;  // n_finite = 0: max_abs, mean_abs, ... are null
  empty.max_rel = -1;           // no nonzero a: max_rel is null
  r.tensors.push_back(tensor("empty", Status::identical, empty));
  weightdiff::apply_gates(r, gates({"max_abs>1", "max_rel<1", "mean_a>0", "cosine<0.5"}));
  EXPECT_EQ(r.tensors[0].failed, (std::vector<std::string>{"max_abs>1", "max_rel<1", "mean_a>0"}));
  EXPECT_EQ(r.summary.failed, (std::vector<std::string>{"empty"}));

  weightdiff::DiffResult n;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  n.tensors.push_back(tensor("nan", Status::close, stats(4, nan, 1, 1, 0)));  // cosine NaN
  weightdiff::apply_gates(n, gates({"cosine<0.5", "cosine>0.5", "rel_l2>0.5"}));
  EXPECT_EQ(n.tensors[0].failed, (std::vector<std::string>{"cosine<0.5", "cosine>0.5"}));
}

TEST(ApplyGates, GlobalGatesReadTheSummary) {
  weightdiff::DiffResult r;
  r.tensors.push_back(tensor("t", Status::close, stats(4, 1, 1, 1, 0.01)));
  r.summary.rel_l2 = 0.1;
  r.summary.cosine = 0.999;
  weightdiff::apply_gates(r, gates({"global.rel_l2>0.5", "global.cosine>0.99999"}));
  EXPECT_TRUE(r.summary.failed.empty());
  weightdiff::apply_gates(r, gates({"global.rel_l2>0.01", "global.cosine<0.9999"}));
  EXPECT_EQ(r.summary.failed, (std::vector<std::string>{"global"}));  // once, not per gate
  EXPECT_TRUE(r.tensors[0].failed.empty());
  // A null summary metric triggers too.
  weightdiff::DiffResult none;
  weightdiff::apply_gates(none, gates({"global.max_abs>1"}));
  EXPECT_EQ(none.summary.failed, (std::vector<std::string>{"global"}));
}

// NaN/Inf that appeared or vanished is invisible to the metrics over the
// finite pairs: it fails every gate on that tensor, and every global gate.
TEST(ApplyGates, NonFiniteChangeTriggersEveryGate) {
  weightdiff::DiffResult r;
  auto changed = stats(4, 1, 1, 1, 0);  // cosine 1, rel_l2 0 over the 3 finite pairs
  changed.numel = 4, changed.n_finite = 3, changed.inf_b = 1;
  r.tensors.push_back(tensor("inf", Status::different, changed));
  r.tensors.push_back(tensor("fine", Status::close, stats(4, 1, 1, 1, 0)));
  r.summary.cosine = 1, r.summary.rel_l2 = 0;
  r.summary.nonfinite_tensors = 1, r.summary.nonfinite_introduced = 1;
  weightdiff::apply_gates(r, gates({"cosine<0.5", "rel_l2>1", "global.rel_l2>1"}));
  EXPECT_EQ(r.tensors[0].failed, (std::vector<std::string>{"cosine<0.5", "rel_l2>1"}));
  EXPECT_TRUE(r.tensors[1].failed.empty());
  EXPECT_EQ(r.summary.failed, (std::vector<std::string>{"inf", "global"}));
  // Both sides the same non-finite value: not a change.
  weightdiff::DiffResult same;
  auto both = stats(4, 1, 1, 1, 0);
  both.numel = 4, both.n_finite = 3, both.inf_a = 1, both.inf_b = 1;
  same.tensors.push_back(tensor("both", Status::identical, both));
  same.summary.rel_l2 = 0;
  weightdiff::apply_gates(same, gates({"cosine<0.5", "global.rel_l2>1"}));
  EXPECT_TRUE(same.summary.failed.empty());
}

TEST(DeriveMetrics, NonFiniteIntroducedAndRemovedFromTheCounts) {
  weightdiff::PairStats s;
  // 10 elements: 5 finite pairs; A non-finite at 3 (one NaN, two Inf), B at
  // 4 (two NaN, two Inf), both non-finite at 2: 2 introduced, 1 removed.
  s.numel = 10, s.n_finite = 5, s.nan_a = 1, s.inf_a = 2, s.nan_b = 2, s.inf_b = 2;
  const auto m = weightdiff::derive_metrics(s);
  EXPECT_EQ(m.nonfinite_introduced, 2u);
  EXPECT_EQ(m.nonfinite_removed, 1u);
}

weightdiff::DiffResult result_with(std::initializer_list<Status> statuses) {
  weightdiff::DiffResult r;
  for (const Status s : statuses) {
    switch (s) {
      case Status::identical: ++r.summary.identical; break;
      case Status::close: ++r.summary.close; break;
      case Status::different: ++r.summary.different; break;
      case Status::only_in_a: ++r.summary.only_in_a; break;
      case Status::only_in_b: ++r.summary.only_in_b; break;
      case Status::shape_mismatch: ++r.summary.shape_mismatch; break;
      case Status::unsupported_dtype: ++r.summary.unsupported_dtype; break;
      case Status::matched: ++r.summary.matched; break;
      case Status::dtype_mismatch: ++r.summary.dtype_mismatch; break;
    }
    r.summary.compared += weightdiff::is_compared(s);
    std::string name = "t";
    name += std::to_string(r.tensors.size());
    r.tensors.push_back(tensor(name, s));
  }
  return r;
}

TEST(ExitCode, FollowsDiff) {
  using weightdiff::exit_code;
  EXPECT_EQ(exit_code(result_with({}), false), 0);
  EXPECT_EQ(exit_code(result_with({Status::identical, Status::close}), false), 0);
  EXPECT_EQ(exit_code(result_with({Status::identical, Status::different}), false), 1);
  EXPECT_EQ(exit_code(result_with({Status::identical, Status::only_in_a}), false), 1);
  EXPECT_EQ(exit_code(result_with({Status::only_in_b}), false), 1);
  EXPECT_EQ(exit_code(result_with({Status::close, Status::shape_mismatch}), false), 1);
  // unsupported_dtype is reported, never decides.
  EXPECT_EQ(exit_code(result_with({Status::identical, Status::unsupported_dtype}), false), 0);
  EXPECT_EQ(exit_code(result_with({Status::unsupported_dtype}), true), 0);
}

TEST(ExitCode, WithGatesOnlyConditionsAndStructureDecide) {
  using weightdiff::exit_code;
  auto different = result_with({Status::different});
  EXPECT_EQ(exit_code(different, true), 0);  // no gate triggered
  different.summary.failed = {"t0"};
  EXPECT_EQ(exit_code(different, true), 1);
  auto close = result_with({Status::close});
  close.summary.failed = {"global"};
  EXPECT_EQ(exit_code(close, true), 1);
  EXPECT_EQ(exit_code(result_with({Status::close, Status::only_in_a}), true), 1);
  EXPECT_EQ(exit_code(result_with({Status::identical, Status::shape_mismatch}), true), 1);
}

// --exact: a dtype change or a byte difference decides, gates or not.
TEST(ExitCode, ExactDecidesByBytesAndDtypes) {
  using weightdiff::exit_code;
  auto r = result_with({Status::identical});
  r.summary.dtype_changed = 1, r.summary.bytes_differ = 1;
  EXPECT_EQ(exit_code(r, false), 0);  // by values: equal
  r.summary.exact = true;
  EXPECT_EQ(exit_code(r, false), 1);
  EXPECT_EQ(exit_code(r, true), 1);
  r.summary.dtype_changed = 0;  // -0 vs +0: equal values, other bytes
  EXPECT_EQ(exit_code(r, false), 1);
  r.summary.bytes_differ = 0;
  EXPECT_EQ(exit_code(r, false), 0);
}

TEST(ParseGate, NewSummaryCountsAreGateable) {
  for (const char* m : {"float_tensors", "float_elements", "int_tensors", "int_tensors_changed",
                        "dtype_changed", "nonfinite_introduced", "nonfinite_removed",
                        "nonfinite_tensors", "bytes_differ"}) {
    std::string text = "global.";
    text += m;
    text += ">0";
    EXPECT_NO_THROW(weightdiff::parse_gate(text)) << m;
  }
  EXPECT_NO_THROW(weightdiff::parse_gate("nonfinite_introduced>0"));
  // A flag is not a metric.
  EXPECT_THROW(weightdiff::parse_gate("bytes_equal<1"), weightdiff::Error);
}

}  // namespace
}  // namespace wdtest
