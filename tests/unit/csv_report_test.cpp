// The CSV report (SPEC §5): header, one row per tensor in the JSON's order,
// the scalar fields in §5 order, null as an empty cell, non-finite numbers as
// words, finite ones round-tripping, RFC 4180 quoting. Parsed back here with
// a strict RFC 4180 reader written from the RFC.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "report/number_text.hpp"
#include "test_files.hpp"
#include "weightdiff/report.hpp"

namespace wdtest {
namespace {

using weightdiff::Status;
using Rows = std::vector<std::vector<std::string>>;

// RFC 4180 §2: CRLF-terminated records; a quoted field may hold commas,
// CR, LF and doubled quotes; an unquoted one none of them.
Rows parse_rfc4180(const std::string& text) {
  Rows rows;
  std::vector<std::string> row;
  std::string field;
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] == '"') {
      for (++i;; ++i) {
        if (i >= text.size()) {
          ADD_FAILURE() << "unterminated quoted field";
          return rows;
        }
        if (text[i] == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            field += '"';
            ++i;
          } else {
            ++i;
            break;
          }
        } else {
          field += text[i];
        }
      }
    } else {
      while (i < text.size() && text[i] != ',' && text[i] != '\r') {
        if (text[i] == '"' || text[i] == '\n') ADD_FAILURE() << "bare quote or LF at byte " << i;
        field += text[i++];
      }
    }
    row.push_back(std::move(field));
    field.clear();
    if (i < text.size() && text[i] == ',') {
      ++i;
      continue;
    }
    if (text.compare(i, 2, "\r\n") != 0) {
      ADD_FAILURE() << "record not ended by CRLF at byte " << i;
      return rows;
    }
    i += 2;
    rows.push_back(std::move(row));
    row.clear();
  }
  return rows;
}

// SPEC §5's scalar per-tensor fields, in order (with SPEC §8's matched_as
// after name_b), then `failed`.
const std::vector<std::string> kHeader = {
    "name", "name_b", "matched_as", "status", "dtype_a", "dtype_b", "shape_a", "shape_b", "numel", "n_finite",
    "equal", "mismatched", "atol", "rtol", "nan_a", "nan_b", "inf_a", "inf_b", "max_abs",
    "max_abs_index", "a_at_max_abs", "b_at_max_abs", "mean_abs", "rmse", "max_rel", "dot",
    "sum_sq_a", "sum_sq_b", "sum_sq_diff", "norm_a", "norm_b", "norm_diff", "cosine", "rel_l2",
    "snr_db", "mean_a", "mean_b", "std_a", "std_b", "min_a", "max_a", "min_b", "max_b", "failed"};

size_t col(const std::string& name) {
  return static_cast<size_t>(std::find(kHeader.begin(), kHeader.end(), name) - kHeader.begin());
}

weightdiff::TensorDiff compared(const std::string& name, std::vector<uint64_t> shape) {
  weightdiff::TensorDiff t;
  t.name = t.name_b = name;
  t.status = Status::different;
  t.dtype_a = "bf16";
  t.dtype_b = "f32";
  t.shape_a = t.shape_b = shape;
  t.atol = 1e-5;
  t.rtol = 0.016;
  weightdiff::PairStats s;
  s.numel = s.n_finite = 6;
  s.equal = 2;
  s.mismatched = 3;
  s.nan_b = 1;
  s.max_abs = 0.1;
  s.max_abs_index = 4;  // (1, 1) in 2x3
  s.a_at_max_abs = 1.0 / 3.0;
  s.b_at_max_abs = 1.0 / 3.0 + 0.1;
  s.sum_abs = 0.3;
  s.sum_sq_diff = 0.02;
  s.dot = 2.0000000000000004;
  s.sum_sq_a = 3;
  s.sum_sq_b = 1e-310;  // subnormal
  s.max_rel = 0.25;
  s.mom_a = {6, -1.5, 2};
  s.mom_b = {6, 1e300, 2};
  s.min_a = -0.0, s.max_a = 5e-324;
  s.min_b = -1.7976931348623157e308, s.max_b = 1.7976931348623157e308;
  t.stats = s;
  return t;
}

struct Fixture {
  weightdiff::Model a, b;
  weightdiff::DiffResult result;
  std::string csv() const {
    const weightdiff::ReportContext ctx{&a, &b, &result};
    std::ostringstream out;
    weightdiff::write_csv(out, ctx);
    return out.str();
  }
};

const std::vector<std::string> kHostile = {
    "plain.weight", "comma,name", "quote\"name\"", "line\nfeed", "cr\rname", "crlf\r\nname",
    " spaced ", "\"", ",", "ünïcödé.权重", "semi;colon", "", "x=\"a,b\"\r\n,\"\""};

TEST(CsvReport, HeaderIsSpecOrderAndEveryRowHasEveryColumn) {
  Fixture f;
  f.result.tensors.push_back(compared("w", {2, 3}));
  weightdiff::TensorDiff gone;
  gone.name = "gone";
  gone.status = Status::only_in_a;
  gone.dtype_a = "f16";
  gone.shape_a = {7};
  f.result.tensors.push_back(gone);
  const Rows rows = parse_rfc4180(f.csv());
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0], kHeader);
  for (const auto& r : rows) EXPECT_EQ(r.size(), kHeader.size());
}

double parse(const std::string& cell) {
  char* end = nullptr;
  const double v = std::strtod(cell.c_str(), &end);
  EXPECT_TRUE(!cell.empty() && *end == '\0') << "not a number: '" << cell << "'";
  return v;
}

// Bit-exact: a cell must parse back to the very double.
#define EXPECT_SAME_DOUBLE(cell, want) \
  EXPECT_EQ(std::bit_cast<uint64_t>(parse(cell)), std::bit_cast<uint64_t>(double(want))) << (cell)

TEST(CsvReport, ComparedRowCells) {
  Fixture f;
  auto t = compared("w", {2, 3});
  t.failed = {"cosine<0.9999", "max_abs>1e-3"};
  f.result.tensors.push_back(t);
  const Rows rows = parse_rfc4180(f.csv());
  ASSERT_EQ(rows.size(), 2u);
  const auto& r = rows[1];
  EXPECT_EQ(r[col("name")], "w");
  EXPECT_EQ(r[col("name_b")], "w");
  EXPECT_EQ(r[col("status")], "different");
  EXPECT_EQ(r[col("dtype_a")], "bf16");
  EXPECT_EQ(r[col("dtype_b")], "f32");
  EXPECT_EQ(r[col("shape_a")], "2x3");
  EXPECT_EQ(r[col("shape_b")], "2x3");
  EXPECT_EQ(r[col("numel")], "6");
  EXPECT_EQ(r[col("equal")], "2");
  EXPECT_EQ(r[col("mismatched")], "3");
  EXPECT_EQ(r[col("nan_a")], "0");
  EXPECT_EQ(r[col("nan_b")], "1");
  EXPECT_EQ(r[col("atol")], "1e-05");  // shortest round trip
  EXPECT_EQ(r[col("rtol")], "0.016");
  EXPECT_EQ(r[col("max_abs")], "0.1");
  EXPECT_EQ(r[col("max_abs_index")], "1;1");
  EXPECT_EQ(r[col("failed")], "cosine<0.9999;max_abs>1e-3");
  EXPECT_EQ(r[col("min_a")], "-0");
  EXPECT_SAME_DOUBLE(r[col("a_at_max_abs")], 1.0 / 3.0);
  EXPECT_SAME_DOUBLE(r[col("b_at_max_abs")], 1.0 / 3.0 + 0.1);
  EXPECT_SAME_DOUBLE(r[col("dot")], 2.0000000000000004);
  EXPECT_SAME_DOUBLE(r[col("sum_sq_b")], 1e-310);
  EXPECT_SAME_DOUBLE(r[col("max_a")], 5e-324);
  EXPECT_SAME_DOUBLE(r[col("min_b")], -1.7976931348623157e308);
  EXPECT_SAME_DOUBLE(r[col("max_b")], 1.7976931348623157e308);
  EXPECT_SAME_DOUBLE(r[col("mean_b")], 1e300);
  const weightdiff::Metrics m = weightdiff::derive_metrics(*t.stats);
  EXPECT_SAME_DOUBLE(r[col("rmse")], *m.rmse);
  EXPECT_SAME_DOUBLE(r[col("norm_a")], m.norm_a);
  EXPECT_SAME_DOUBLE(r[col("cosine")], m.cosine);
  EXPECT_SAME_DOUBLE(r[col("snr_db")], m.snr_db);
  EXPECT_SAME_DOUBLE(r[col("std_a")], *m.std_a);
}

TEST(CsvReport, NonFiniteAsWordsNullAsEmpty) {
  Fixture f;
  auto t = compared("t", {2, 3});
  t.stats->sum_sq_a = 0;  // rel_l2 +inf, snr_db -inf
  t.stats->dot = NAN;
  auto empty = compared("n_finite_0", {0});
  empty.stats = weightdiff::PairStats();  // nothing finite: SPEC §2's nulls
  f.result.tensors = {t, empty};
  const Rows rows = parse_rfc4180(f.csv());
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1][col("rel_l2")], "inf");
  EXPECT_EQ(rows[1][col("snr_db")], "-inf");
  EXPECT_EQ(rows[1][col("dot")], "nan");
  EXPECT_EQ(rows[1][col("cosine")], "0");  // exactly one norm is 0
  const auto& e = rows[2];
  EXPECT_EQ(e[col("shape_a")], "0");
  for (const char* null_field : {"max_abs", "max_abs_index", "a_at_max_abs", "b_at_max_abs",
                                 "mean_abs", "rmse", "max_rel", "mean_a", "std_b", "min_a", "max_b"})
    EXPECT_EQ(e[col(null_field)], "") << null_field;
  EXPECT_EQ(e[col("cosine")], "1");
  EXPECT_EQ(e[col("rel_l2")], "0");
  EXPECT_EQ(e[col("snr_db")], "inf");
  EXPECT_EQ(e[col("failed")], "");
}

TEST(CsvReport, UnmatchedRowsLeaveStatsEmpty) {
  Fixture f;
  weightdiff::TensorDiff only_a, only_b;
  only_a.name = "gone";
  only_a.status = Status::only_in_a;
  only_a.dtype_a = "f16";
  only_a.shape_a = {4096, 4096};
  only_b.name = "new";
  only_b.name_b = "B.new";
  only_b.status = Status::only_in_b;
  only_b.dtype_b = "i8";
  only_b.shape_b = {};  // a scalar
  f.result.tensors = {only_a, only_b};
  const Rows rows = parse_rfc4180(f.csv());
  ASSERT_EQ(rows.size(), 3u);
  const std::vector<std::string> a_row = {"gone", "", "", "only_in_a", "f16", "", "4096x4096", ""};
  const std::vector<std::string> b_row = {"new", "B.new", "", "only_in_b", "", "i8", "", ""};
  EXPECT_EQ(std::vector<std::string>(rows[1].begin(), rows[1].begin() + 8), a_row);
  EXPECT_EQ(std::vector<std::string>(rows[2].begin(), rows[2].begin() + 8), b_row);
  for (size_t c = 8; c < kHeader.size(); ++c) {
    EXPECT_EQ(rows[1][c], "") << kHeader[c];
    EXPECT_EQ(rows[2][c], "") << kHeader[c];
  }
}

TEST(CsvReport, ScalarShapeAndIndexAreEmptyCells) {
  Fixture f;
  auto t = compared("s", {});
  t.stats->max_abs_index = 0;
  f.result.tensors = {t};
  const Rows rows = parse_rfc4180(f.csv());
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1][col("shape_a")], "");
  EXPECT_EQ(rows[1][col("dtype_a")], "bf16");  // present: the empty shape is a scalar's
  EXPECT_EQ(rows[1][col("max_abs_index")], "");
  EXPECT_EQ(rows[1][col("max_abs")], "0.1");
}

TEST(CsvReport, HostileNamesRoundTripAndOnlyThoseAreQuoted) {
  Fixture f;
  for (const auto& n : kHostile) {
    auto t = compared(n, {2, 3});
    t.name_b = "b:" + n;
    f.result.tensors.push_back(t);
  }
  const std::string text = f.csv();
  const Rows rows = parse_rfc4180(text);
  ASSERT_EQ(rows.size(), kHostile.size() + 1);
  for (size_t i = 0; i < kHostile.size(); ++i) {
    EXPECT_EQ(rows[i + 1][col("name")], kHostile[i]);
    EXPECT_EQ(rows[i + 1][col("name_b")], "b:" + kHostile[i]);
    EXPECT_EQ(rows[i + 1].size(), kHeader.size());
  }
  EXPECT_NE(text.find("\r\nplain.weight,b:plain.weight,,different,"), std::string::npos);
  EXPECT_NE(text.find("\r\n\"comma,name\",\"b:comma,name\","), std::string::npos);
  EXPECT_NE(text.find("\r\n\"quote\"\"name\"\"\","), std::string::npos);
  EXPECT_NE(text.find("\r\n\"line\nfeed\","), std::string::npos);
  EXPECT_NE(text.find("\r\n\"cr\rname\","), std::string::npos);
  EXPECT_NE(text.find("\r\n\"\"\"\",\"b:\"\"\","), std::string::npos);
  EXPECT_NE(text.find("\r\n spaced ,b: spaced ,"), std::string::npos);  // spaces kept, unquoted
  EXPECT_NE(text.find("\r\nsemi;colon,"), std::string::npos);
  EXPECT_NE(text.find("\r\n,b:,,different,"), std::string::npos);  // an empty name
}

TEST(CsvReport, NoTensorsIsTheHeaderAlone) {
  Fixture f;
  std::string header;
  for (const auto& h : kHeader) header += (header.empty() ? "" : ",") + h;
  EXPECT_EQ(f.csv(), header + "\r\n");
}

TEST(NumberText, ShortestRoundTripAndWords) {
  using weightdiff::report::number_text;
  EXPECT_EQ(number_text(0.1), "0.1");
  EXPECT_EQ(number_text(1.0), "1");
  EXPECT_EQ(number_text(-0.0), "-0");
  EXPECT_EQ(number_text(1e-5), "1e-05");
  EXPECT_EQ(number_text(5e-324), "5e-324");
  EXPECT_EQ(number_text(NAN), "nan");
  EXPECT_EQ(number_text(-NAN), "nan");
  EXPECT_EQ(number_text(INFINITY), "inf");
  EXPECT_EQ(number_text(-INFINITY), "-inf");
  // Random bit patterns (fixed seed): every finite one parses back exactly.
  uint64_t state = 0x5EEDu;
  for (int i = 0; i < 100000; ++i) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    const double v = std::bit_cast<double>(state ^ (state >> 29));
    const std::string text = number_text(v);
    if (!std::isfinite(v)) continue;
    ASSERT_EQ(std::bit_cast<uint64_t>(std::strtod(text.c_str(), nullptr)), std::bit_cast<uint64_t>(v))
        << text;
    ASSERT_LE(text.size(), 24u);
  }
}

}  // namespace
}  // namespace wdtest
