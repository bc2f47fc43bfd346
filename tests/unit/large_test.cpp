// Index arithmetic past 2^31 (and 2^32) elements: chunk planning on fake
// tensors (nothing allocated), one end-to-end diff of two sparse files of
// 3e9 u8 elements that differ only near the end, and tensors that lie past
// 4 GiB in a sparse file (safetensors and ONNX external data).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <onnx/onnx_pb.h>

#include <chrono>
#include <cstdio>
#include <cstring>

#include "engine/chunk_plan.hpp"
#include "test_files.hpp"

namespace wdtest {
namespace {

using weightdiff::engine::Batch;
using weightdiff::engine::ChunkPlanner;
using weightdiff::engine::kChunkElements;
using weightdiff::engine::PlannedPair;

weightdiff::TensorRef fake(uint64_t numel) {
  weightdiff::TensorRef t;
  t.name = "fake";
  t.dtype = weightdiff::DType::u8;
  t.shape = {numel};
  t.numel = numel;
  t.nbytes = numel;  // no file: the planner never reads data
  return t;
}

TEST(ChunkPlanner, CoversThreeBillionElementsWithoutOverflow) {
  const uint64_t n = 3'000'000'000;
  const weightdiff::TensorRef big = fake(n), empty = fake(0), small = fake(5);
  const std::vector<PlannedPair> pairs{
      {&big, &big, 0.5, 0.25}, {&empty, &empty, 0, 0}, {&small, &small, 0, 0}};
  ChunkPlanner planner(pairs);
  Batch batch;
  std::vector<uint64_t> chunks(pairs.size()), covered(pairs.size());
  std::vector<uint64_t> last_first(pairs.size()), last_count(pairs.size());
  uint64_t batches = 0;
  while (planner.next(batch)) {
    ++batches;
    ASSERT_EQ(batch.tasks.size(), batch.pair_of_task.size());
    ASSERT_LE(batch.tasks.size(), 4096u);
    for (size_t i = 0; i < batch.tasks.size(); ++i) {
      const auto& t = batch.tasks[i];
      const size_t p = batch.pair_of_task[i];
      ASSERT_LT(p, pairs.size());
      ASSERT_EQ(t.a, pairs[p].a);
      ASSERT_EQ(t.first, covered[p]) << "chunks of a pair are contiguous and in order";
      ASSERT_GT(t.count, 0u);
      ASSERT_LE(t.count, kChunkElements);
      ASSERT_EQ(t.atol, pairs[p].atol);
      ASSERT_EQ(t.rtol, pairs[p].rtol);
      covered[p] += t.count;
      ++chunks[p];
      last_first[p] = t.first;
      last_count[p] = t.count;
    }
  }
  EXPECT_GT(batches, 1u);
  EXPECT_EQ(covered[0], n);
  EXPECT_EQ(chunks[0], (n + kChunkElements - 1) / kChunkElements);  // 2862
  EXPECT_EQ(last_first[0], 2861 * kChunkElements);                   // 2999975936 > 2^31
  EXPECT_EQ(last_count[0], n - 2861 * kChunkElements);                // 24064
  EXPECT_EQ(chunks[1], 0u) << "an empty tensor has no chunk";
  EXPECT_EQ(chunks[2], 1u);
  EXPECT_EQ(last_count[2], 5u);
  EXPECT_FALSE(planner.next(batch));
}

TEST(ChunkPlanner, LastChunkPast2To40) {
  const uint64_t n = (uint64_t{1} << 40) + 3;
  const weightdiff::TensorRef big = fake(n);
  const std::vector<PlannedPair> pairs{{&big, &big, 0, 0}};
  // Large chunks keep the task count small; the arithmetic is the same.
  ChunkPlanner planner(pairs, uint64_t{1} << 30, uint64_t{1} << 36, 64);
  Batch batch;
  uint64_t covered = 0, last_first = 0, last_count = 0, chunks = 0;
  while (planner.next(batch))
    for (const auto& t : batch.tasks) {
      ASSERT_EQ(t.first, covered);
      covered += t.count, last_first = t.first, last_count = t.count, ++chunks;
    }
  EXPECT_EQ(covered, n);
  EXPECT_EQ(chunks, 1025u);
  EXPECT_EQ(last_first, uint64_t{1} << 40);
  EXPECT_EQ(last_count, 3u);
}

// Two sparse files: only the header and a few bytes near the end are written.
// "Slow": the engine still reads 2 x 2.8 GiB of zero pages (seconds, not ms);
// skip it with `ctest -E Slow` or --gtest_filter=-Slow*.
class SlowSparse : public FileTest {
 protected:
  static constexpr uint64_t kN = 3'000'000'000;  // past 2^31: int32 indices would wrap

  void write_sparse(const fs::path& p, const std::vector<std::pair<uint64_t, uint8_t>>& bytes) {
    StFile f;
    f.tensors.push_back(StTensor{"big", "U8", {2, kN / 2}, {}, {}, {}, {}});
    f.tensors[0].offsets_json = std::string("[0,") += std::to_string(kN) += "]";
    const std::string head = build_safetensors(f);  // header only: data left out
    const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, head.data(), head.size()), static_cast<ssize_t>(head.size()));
    ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(head.size() + kN)), 0);
    for (const auto& [index, value] : bytes)
      ASSERT_EQ(::pwrite(fd, &value, 1, static_cast<off_t>(head.size() + index)), 1);
    ASSERT_EQ(::close(fd), 0);
  }
};

TEST_F(SlowSparse, ThreeGigaElementU8DiffFindsTheEnd) {
  write_sparse(file("a.safetensors"), {{kN - 500, 9}, {kN - 3, 5}, {kN - 2, 1}});
  write_sparse(file("b.safetensors"), {{kN - 1000, 9}, {kN - 3, 7}, {kN - 2, 1}});
  const auto t0 = std::chrono::steady_clock::now();
  const DiffRun r = diff_files(file("a.safetensors"), file("b.safetensors"));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  RecordProperty("diff_seconds", std::to_string(seconds));
  const auto& t = r.tensor("big");
  ASSERT_TRUE(t.stats.has_value());
  const auto& s = *t.stats;
  EXPECT_EQ(t.status, weightdiff::Status::different);
  EXPECT_EQ(s.numel, kN);
  EXPECT_EQ(s.n_finite, kN);
  EXPECT_EQ(s.equal, kN - 3);
  EXPECT_EQ(s.mismatched, 3u);
  EXPECT_EQ(s.max_abs, 9.0);
  EXPECT_EQ(s.max_abs_index, kN - 1000);  // ties with kN - 500: the smaller index
  EXPECT_EQ(weightdiff::unravel_index(s.max_abs_index, t.shape_a),
            (std::vector<uint64_t>{1, kN / 2 - 1000}));
  EXPECT_EQ(s.a_at_max_abs, 0.0);
  EXPECT_EQ(s.b_at_max_abs, 9.0);
  EXPECT_EQ(s.sum_abs, 20.0);
  EXPECT_EQ(s.sum_sq_diff, 166.0);
  EXPECT_EQ(s.dot, 36.0);
  EXPECT_EQ(s.sum_sq_a, 107.0);
  EXPECT_EQ(s.max_a, 9.0);
  EXPECT_EQ(s.min_b, 0.0);
  EXPECT_EQ(s.hist_a.zero, kN - 3);
  EXPECT_EQ(s.hist_abs_diff.zero, kN - 3);
  EXPECT_EQ(r.result.summary.elements, kN);
  std::printf("sparse diff of 2 x %llu elements: %.2f s\n", static_cast<unsigned long long>(kN),
              seconds);
}

// A sparse file with one byte range written: the rest is a hole.
void write_sparse_file(const fs::path& p, uint64_t size, uint64_t at, const std::string& bytes,
                       const std::string& head = {}) {
  const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0);
  if (!head.empty()) {
    ASSERT_EQ(::write(fd, head.data(), head.size()), static_cast<ssize_t>(head.size()));
  }
  ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(size)), 0);
  ASSERT_EQ(::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(at)), static_cast<ssize_t>(bytes.size()));
  ASSERT_EQ(::close(fd), 0);
}

std::string f32_bytes(std::vector<float> v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

constexpr uint64_t kPast4GiB = 4'500'000'000;  // > 2^32

// A 4.5 GB tensor that is never read, then a small one whose offsets do not
// fit in 32 bits: only the small one is compared (--include).
TEST_F(FileTest, SafetensorsTensorPast4GiB) {
  StFile f;
  f.tensors.push_back(StTensor{"big", "U8", {kPast4GiB}, {}, {}, {}, {}});
  f.tensors.push_back(StTensor{"tail", "F32", {4}, {}, {}, {}, {}});
  f.tensors[0].offsets_json = "[0," + std::to_string(kPast4GiB) + "]";
  f.tensors[1].offsets_json = "[" + std::to_string(kPast4GiB) + "," + std::to_string(kPast4GiB + 16) + "]";
  const std::string head = build_safetensors(f);
  write_sparse_file(file("a.safetensors"), head.size() + kPast4GiB + 16, head.size() + kPast4GiB,
                    f32_bytes({1, 2, 3, 4}), head);
  write_sparse_file(file("b.safetensors"), head.size() + kPast4GiB + 16, head.size() + kPast4GiB,
                    f32_bytes({1, 2, 3.5f, 4}), head);
  weightdiff::DiffOptions opt;
  opt.include = {"^tail$"};
  const DiffRun r = diff_files(file("a.safetensors"), file("b.safetensors"), opt);
  EXPECT_EQ(r.a.bytes, kPast4GiB + 16);
  EXPECT_EQ(r.a.tensors[0].offset, head.size());
  EXPECT_EQ(r.a.tensors[1].offset, head.size() + kPast4GiB);
  const auto& t = r.tensor("tail");
  ASSERT_TRUE(t.stats.has_value());
  EXPECT_EQ(t.stats->max_abs, 0.5);
  EXPECT_EQ(t.stats->max_abs_index, 2u);
  EXPECT_EQ(t.stats->equal, 3u);
  EXPECT_EQ(r.result.summary.compared, 1u);
}

TEST_F(FileTest, OnnxExternalDataPast4GiB) {
  write_sparse_file(file("huge.bin"), kPast4GiB + 16, kPast4GiB, f32_bytes({-1, 0.25f, 8, 3}));
  onnx::ModelProto m;
  m.set_ir_version(10);
  auto* t = m.mutable_graph()->add_initializer();
  t->set_name("w");
  t->set_data_type(onnx::TensorProto::FLOAT);
  t->add_dims(4);
  t->set_data_location(onnx::TensorProto::EXTERNAL);
  for (auto [k, v] : {std::pair<std::string, std::string>{"location", "huge.bin"},
                      {"offset", std::to_string(kPast4GiB)}, {"length", "16"}}) {
    auto* e = t->add_external_data();
    e->set_key(k);
    e->set_value(v);
  }
  write_bytes(file("model.onnx"), m.SerializeAsString());
  const weightdiff::Model model = weightdiff::open_model(path("model.onnx"));
  ASSERT_EQ(model.tensors.size(), 1u);
  EXPECT_EQ(model.tensors[0].offset, kPast4GiB);
  EXPECT_EQ(std::memcmp(model.tensors[0].data(), f32_bytes({-1, 0.25f, 8, 3}).data(), 16), 0);
  // One past the end of the 4.5 GB file is refused, as for small files.
  t->mutable_external_data(1)->set_value(std::to_string(kPast4GiB + 1));
  write_bytes(file("bad.onnx"), m.SerializeAsString());
  expect_error([&] { weightdiff::open_model(path("bad.onnx")); }, weightdiff::Errc::malformed,
               {"huge.bin", "'w'", "runs past the end"});
}

}  // namespace
}  // namespace wdtest
