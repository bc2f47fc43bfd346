#include "cuda_compare.hpp"

#include "backend/partial_stats.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "encode.hpp"
#include "reference_quant.hpp"
#include "io/mapped_file.hpp"

namespace wdtest {

using weightdiff::DType;

namespace {

// A 1-D tensor over a copy of `bytes` in memory, with its decoded values.
MemTensor mem_tensor(DType t, const std::vector<uint8_t>& bytes, std::vector<double> values,
                     const std::string& name) {
  MemTensor m;
  const uint64_t n = values.size();
  m.values = std::move(values);
  std::vector<std::byte> raw(bytes.size());
  std::memcpy(raw.data(), bytes.data(), bytes.size());
  m.ref.name = name;
  m.ref.dtype = t;
  m.ref.shape = {n};
  m.ref.numel = n;
  m.ref.nbytes = bytes.size();
  m.ref.storage = weightdiff::MappedFile::from_bytes(std::move(raw), name);
  return m;
}

}  // namespace

MemTensor random_tensor(DType t, uint64_t n, uint64_t seed, const MemTensor* like,
                        const std::string& name) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_int_distribution<int> pick(0, 999);
  const bool is_float = weightdiff::dtype_is_float(t);
  double scale = 0.05;
  if (!is_float) scale = t == DType::boolean ? 1.0 : (t == DType::i4 || t == DType::u4) ? 3.0 : 40.0;
  std::vector<double> v(n);
  for (uint64_t i = 0; i < n; ++i) {
    double x = like ? like->values[i] + scale * 0.1 * normal(rng) : scale * normal(rng);
    if (!is_float) x = std::round(x);
    if (t == DType::u4 || t == DType::u8 || t == DType::u16 || t == DType::u32 || t == DType::u64)
      x = std::fabs(x);
    const int r = pick(rng);
    if (like && r < 150 && std::isfinite(like->values[i])) x = like->values[i];  // exact ties
    if (r >= 150 && r < 160) x = (r % 2) ? 0.0 : -0.0;
    if (is_float) {
      if (r == 160 || r == 161) x = std::numeric_limits<double>::quiet_NaN();
      if (r == 162) x = INFINITY;
      if (r == 163) x = -INFINITY;
      if (r == 164) x = (t == DType::f64 ? 1e150 : t == DType::f32 ? 1e30 : 1e4) * normal(rng);
      if (r == 165) x = (t == DType::f64 ? 1e-310 : t == DType::f32 ? 1e-40 : 1e-6) * normal(rng);
    }
    v[i] = x;
  }
  const std::vector<uint8_t> bytes = encode_values(t, v);
  return mem_tensor(t, bytes, decode_values(t, bytes, n), name);
}

MemTensor random_block_tensor(DType t, uint64_t n, uint64_t seed, const MemTensor* like,
                              const std::string& name) {
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> like_bytes;
  if (like && like->ref.dtype == t && like->ref.nbytes > 0) {
    const auto* p = reinterpret_cast<const uint8_t*>(like->ref.data());
    like_bytes.assign(p, p + like->ref.nbytes);
  }
  const std::vector<uint8_t> bytes = random_blocks(t, n, rng, like_bytes.empty() ? nullptr : &like_bytes);
  return mem_tensor(t, bytes, reference_dequantize(t, bytes, n), name);
}

std::vector<weightdiff::backend::ChunkTask> chunk_tasks(const MemTensor& a, const MemTensor& b,
                                                        uint64_t chunk) {
  const auto ta = weightdiff::default_tolerance(a.ref.dtype), tb = weightdiff::default_tolerance(b.ref.dtype);
  std::vector<weightdiff::backend::ChunkTask> out;
  for (uint64_t f = 0; f < a.ref.numel; f += chunk)
    out.push_back({&a.ref, &b.ref, f, std::min(chunk, a.ref.numel - f), std::max(ta.atol, tb.atol),
                   std::max(ta.rtol, tb.rtol)});
  return out;
}

std::vector<weightdiff::backend::ChunkTask> one_sided_tasks(const MemTensor& a, uint64_t chunk) {
  auto tasks = chunk_tasks(a, a, chunk);
  for (auto& t : tasks) t.one_sided = true;
  return tasks;
}

std::vector<weightdiff::PairStats> reduce_stats(weightdiff::backend::Backend& backend,
                                                std::span<const weightdiff::backend::ChunkTask> tasks,
                                                const weightdiff::HistRange& hist) {
  namespace be = weightdiff::backend;
  const size_t H = be::hist_layout(hist).total();
  std::vector<be::Partial> partials(tasks.size(), be::empty_partial());
  std::vector<uint64_t> slots(tasks.size() * H, 0);
  backend.reduce(tasks, hist, partials, slots);
  std::vector<weightdiff::PairStats> out;
  for (size_t i = 0; i < tasks.size(); ++i)
    out.push_back(be::pair_stats_of(partials[i], slots.data() + i * H, hist, tasks[i].count));
  return out;
}

std::vector<weightdiff::PairStats> cpu_stats(std::span<const weightdiff::backend::ChunkTask> tasks,
                                             const weightdiff::HistRange& hist) {
  return reduce_stats(*weightdiff::backend::make_cpu_backend(2), tasks, hist);
}

namespace {

void expect_sum(double got, const RefSum& ref, const char* what) {
  EXPECT_LE(std::fabs(static_cast<long double>(got) - ref.value()), 1e-9L * ref.abs + 1e-300L)
      << what << ": " << got << " vs " << static_cast<double>(ref.value());
}

bool same(double x, double y) { return x == y || (std::isnan(x) && std::isnan(y)); }

}  // namespace

void expect_matches_cpu(const weightdiff::PairStats& got, const weightdiff::PairStats& cpu,
                        const MemTensor& a, const MemTensor& b,
                        const weightdiff::backend::ChunkTask& task,
                        const weightdiff::HistRange& hist) {
  const std::vector<double> va(a.values.begin() + static_cast<long>(task.first),
                               a.values.begin() + static_cast<long>(task.first + task.count));
  const std::vector<double> vb(b.values.begin() + static_cast<long>(task.first),
                               b.values.begin() + static_cast<long>(task.first + task.count));
  const RefStats ref = reference_stats(va, vb, task.atol, task.rtol, hist.lo, hist.hi);
#define WD_EXACT(f) EXPECT_EQ(got.f, cpu.f) << #f
#define WD_SAME(f) EXPECT_TRUE(same(got.f, cpu.f)) << #f << ": " << got.f << " vs " << cpu.f
  WD_EXACT(numel);
  WD_EXACT(n_finite);
  WD_EXACT(equal);
  WD_EXACT(mismatched);
  WD_EXACT(nan_a);
  WD_EXACT(nan_b);
  WD_EXACT(inf_a);
  WD_EXACT(inf_b);
  EXPECT_EQ(got.n_finite, ref.n_finite);
  EXPECT_EQ(got.mismatched, ref.mismatched);
  if (cpu.n_finite > 0) {
    WD_SAME(min_a);
    WD_SAME(max_a);
    WD_SAME(min_b);
    WD_SAME(max_b);
    WD_SAME(max_abs);
    WD_EXACT(max_abs_index);
    WD_SAME(a_at_max_abs);
    WD_SAME(b_at_max_abs);
    EXPECT_EQ(got.max_abs_index, task.first + ref.max_abs_index);
  }
  WD_SAME(max_rel);
  WD_EXACT(hist_abs_diff.zero);
  WD_EXACT(hist_abs_diff.under);
  WD_EXACT(hist_abs_diff.over);
  WD_EXACT(hist_abs_diff.counts);
  WD_EXACT(hist_a.zero);
  WD_EXACT(hist_a.under);
  WD_EXACT(hist_a.over);
  WD_EXACT(hist_a.pos);
  WD_EXACT(hist_a.neg);
  WD_EXACT(hist_b.zero);
  WD_EXACT(hist_b.under);
  WD_EXACT(hist_b.over);
  WD_EXACT(hist_b.pos);
  WD_EXACT(hist_b.neg);
  EXPECT_EQ(got.hist_abs_diff.counts, ref.hist_abs_diff.counts);
  EXPECT_EQ(got.hist_a.pos, ref.hist_a.pos);
  EXPECT_EQ(got.hist_b.neg, ref.hist_b.neg);
#undef WD_EXACT
#undef WD_SAME
  expect_sum(got.sum_abs, ref.sum_abs, "sum_abs");
  expect_sum(got.sum_sq_diff, ref.sum_sq_diff, "sum_sq_diff");
  expect_sum(got.dot, ref.dot, "dot");
  expect_sum(got.sum_sq_a, ref.sum_sq_a, "sum_sq_a");
  expect_sum(got.sum_sq_b, ref.sum_sq_b, "sum_sq_b");
  EXPECT_EQ(got.mom_a.n, cpu.mom_a.n);
  EXPECT_EQ(got.mom_b.n, cpu.mom_b.n);
  if (got.n_finite > 0) {
    const long double n = static_cast<long double>(got.n_finite);
    for (auto [m, sum, var, name] :
         {std::tuple{&got.mom_a, &ref.sum_a, ref.var_a, "a"}, std::tuple{&got.mom_b, &ref.sum_b, ref.var_b, "b"}}) {
      const long double mean = sum->value() / n;
      EXPECT_LE(std::fabs(m->mean - mean), 1e-9L * sum->abs / n + 1e-300L) << "mean_" << name;
      // M2/n against the two-pass variance, relative to the second moment.
      EXPECT_LE(std::fabs(m->m2 / n - var), 1e-9L * (var + mean * mean) + 1e-300L) << "var_" << name;
    }
  }
}

std::vector<weightdiff::backend::ChunkTask> SparsePair::tasks() const {
  return {{&a, &b, (uint64_t{1} << 31) - 3000, 9001, 0, 0},
          {&a, &b, (uint64_t{1} << 32) - 2999, 9001, 0, 0}};
}

SparsePair sparse_pair_past_2to32(const std::filesystem::path& dir) {
  const auto check = [](bool ok, const std::string& what) {
    if (!ok) throw std::runtime_error(std::string("sparse test file: ").append(what).append(" failed"));
  };
  std::mt19937_64 rng(31);
  SparsePair pair;
  for (int side = 0; side < 2; ++side) {
    const std::string p = (dir / (side == 0 ? "s0" : "s1")).string();
    const int fd = ::open(p.c_str(), O_CREAT | O_RDWR | O_TRUNC, 0600);
    check(fd >= 0, "open");
    check(::ftruncate(fd, static_cast<off_t>(SparsePair::kSize)) == 0, "ftruncate");
    for (uint64_t at : {(uint64_t{1} << 31) - 4096, (uint64_t{1} << 32) - 4096}) {
      std::vector<uint8_t> bytes(12288);
      for (auto& x : bytes) x = static_cast<uint8_t>(rng() % 200);
      check(::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(at)) == 12288, "pwrite");
    }
    const uint8_t big = side == 0 ? 0 : 255;
    check(::pwrite(fd, &big, 1, static_cast<off_t>(SparsePair::kPlanted)) == 1, "pwrite");
    ::close(fd);
    weightdiff::TensorRef& t = side == 0 ? pair.a : pair.b;
    t.name = "big";
    t.dtype = weightdiff::DType::u8;
    t.shape = {SparsePair::kSize};
    t.numel = SparsePair::kSize;
    t.nbytes = SparsePair::kSize;
    t.storage = weightdiff::MappedFile::open(p, p);
  }
  return pair;
}

}  // namespace wdtest
