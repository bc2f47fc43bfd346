// model_from_buffers: arrays in memory are diffed without a file or a copy,
// with the same bits as the same arrays read from safetensors files.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "test_files.hpp"
#include "weightdiff/diff.hpp"
#include "weightdiff/model.hpp"

namespace wdtest {
namespace {

using weightdiff::BufferTensor;
using weightdiff::DType;

class BuffersTest : public FileTest {
 protected:
  void SetUp() override {
    FileTest::SetUp();
    std::mt19937_64 rng(20261203);
    std::normal_distribution<float> n(0.0f, 1.0f);
    a_.resize(3000);
    b_.resize(3000);
    for (size_t i = 0; i < a_.size(); ++i) a_[i] = n(rng), b_[i] = a_[i] + 1e-3f * n(rng);
  }
  std::vector<BufferTensor> buffers(const std::vector<float>& v) const {
    return {{"w", DType::f32, {30, 100}, v.data(), v.size() * sizeof(float)},
            {"bias", DType::f32, {7}, v.data() + 100, 7 * sizeof(float)}};
  }
  std::vector<float> a_, b_;
};

TEST_F(BuffersTest, SameBitsAsTheSameArraysInFiles) {
  const auto ma = weightdiff::model_from_buffers("a", buffers(a_));
  const auto mb = weightdiff::model_from_buffers("b", buffers(b_));
  ASSERT_EQ(ma.tensors.size(), 2u);
  EXPECT_EQ(ma.tensors[0].name, "bias");  // sorted as a loader's catalog
  EXPECT_EQ(ma.tensors[1].data(), reinterpret_cast<const std::byte*>(a_.data()))
      << "the buffer was copied";
  weightdiff::DiffOptions opt;
  opt.backend = weightdiff::BackendKind::cpu;
  const auto mem = weightdiff::diff_models(ma, mb, opt);

  write_safetensors(file("a.safetensors"),
                    st_file({st_f32("bias", {7}, {a_.begin() + 100, a_.begin() + 107}),
                             st_f32("w", {30, 100}, a_)}));
  write_safetensors(file("b.safetensors"),
                    st_file({st_f32("bias", {7}, {b_.begin() + 100, b_.begin() + 107}),
                             st_f32("w", {30, 100}, b_)}));
  const auto disk = diff_files(file("a.safetensors"), file("b.safetensors"));
  ASSERT_EQ(mem.tensors.size(), disk.result.tensors.size());
  for (size_t i = 0; i < mem.tensors.size(); ++i) {
    const auto& x = *mem.tensors[i].stats;
    const auto& y = *disk.result.tensors[i].stats;
    EXPECT_EQ(x.dot, y.dot);
    EXPECT_EQ(x.sum_sq_diff, y.sum_sq_diff);
    EXPECT_EQ(x.max_abs, y.max_abs);
    EXPECT_EQ(x.max_abs_index, y.max_abs_index);
    EXPECT_EQ(x.hist_abs_diff.counts, y.hist_abs_diff.counts);
  }
  // And against a float64 reference on the big tensor.
  double max_abs = 0;
  for (size_t i = 0; i < a_.size(); ++i)
    max_abs = std::max(max_abs, std::fabs(double(b_[i]) - double(a_[i])));
  EXPECT_EQ(mem.tensors[1].stats->max_abs, max_abs);
  EXPECT_EQ(mem.summary.compared, 2u);
}

TEST_F(BuffersTest, WrongSizeIsMalformedNamingTheTensor) {
  auto bad = buffers(a_);
  bad[1].nbytes -= 1;
  expect_error([&] { weightdiff::model_from_buffers("mine", bad); }, weightdiff::Errc::malformed,
               {"mine", "bias", "needs 28"});
}

TEST_F(BuffersTest, NullDataIsMalformed) {
  auto bad = buffers(a_);
  bad[0].data = nullptr;
  expect_error([&] { weightdiff::model_from_buffers("mine", bad); }, weightdiff::Errc::malformed,
               {"mine", "w", "null"});
}

TEST_F(BuffersTest, ANameGivenTwiceIsAConflict) {
  auto bad = buffers(a_);
  bad[1].name = bad[0].name;  // (a literal here trips GCC 12's -Wrestrict)
  bad[1].shape = {30, 100};
  bad[1].nbytes = a_.size() * sizeof(float);
  expect_error([&] { weightdiff::model_from_buffers("mine", bad); }, weightdiff::Errc::conflict,
               {"mine", "w"});
}

TEST_F(BuffersTest, ShapeOverflowIsMalformed) {
  auto bad = buffers(a_);
  bad[0].shape = {uint64_t{1} << 40, uint64_t{1} << 40};
  expect_error([&] { weightdiff::model_from_buffers("mine", bad); }, weightdiff::Errc::malformed,
               {"overflows"});
}

}  // namespace
}  // namespace wdtest
