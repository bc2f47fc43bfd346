// Models of many files (ONNX external data, one file per tensor): files are
// mapped while read and unmapped to stay within a bound (io/mapping_budget),
// so any number of files works, with the same results as all mapped, and a
// file replaced after it was catalogued is reported when it is mapped again.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <onnx/onnx_pb.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>

#include "io/mapping_budget.hpp"
#include "test_files.hpp"
#include "weightdiff/model.hpp"

namespace wdtest {
namespace {

using weightdiff::Errc;

// Lowers the process's mapping limit for one test.
class LimitMappings {
 public:
  explicit LimitMappings(size_t n) : old_(weightdiff::io::MappingBudget::instance().set_limit(n)) {}
  ~LimitMappings() { weightdiff::io::MappingBudget::instance().set_limit(old_); }

 private:
  size_t old_;
};

// Lines of /proc/self/maps naming a file under `dir`: the mappings that exist.
size_t mappings_under(const fs::path& dir) {
  std::ifstream maps("/proc/self/maps");
  const std::string want = dir.string() + "/";
  size_t n = 0;
  for (std::string line; std::getline(maps, line);) n += line.find(want) != std::string::npos;
  return n;
}

// An ONNX model in `dir` with `n` FLOAT tensors of 4 elements, tensor i in
// its own external file; `bump` tensors get +1 on their first element.
void write_model(const fs::path& dir, int n, int bump_every) {
  fs::create_directories(dir / "data");
  onnx::ModelProto m;
  m.set_ir_version(10);
  m.add_opset_import()->set_version(21);
  auto* graph = m.mutable_graph();
  for (int i = 0; i < n; ++i) {
    char name[32], loc[32];
    std::snprintf(name, sizeof name, "t%06d", i);
    std::snprintf(loc, sizeof loc, "data/%06d.bin", i);
    float v[4] = {0.5f * static_cast<float>(i % 97), 1.0f, -2.0f, static_cast<float>(i)};
    if (bump_every > 0 && i % bump_every == 0) v[0] += 1.0f;
    // open/write/close: no stdio buffer per file (70,000 of them below).
    const int fd = ::open((dir / loc).c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, v, sizeof v), static_cast<ssize_t>(sizeof v));
    ::close(fd);
    onnx::TensorProto* t = graph->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    t->add_dims(4);
    t->set_data_location(onnx::TensorProto::EXTERNAL);
    auto* e = t->add_external_data();
    e->set_key("location");
    e->set_value(loc);
  }
  std::string bytes;
  ASSERT_TRUE(m.SerializeToString(&bytes));
  write_bytes(dir / "model.onnx", bytes);
}

struct CountedRun {
  weightdiff::DiffResult result;
  size_t most_mappings = 0;  // seen from the progress callback
};

CountedRun diff_counting(const fs::path& dir, const fs::path& a, const fs::path& b) {
  CountedRun run;
  const weightdiff::Model ma = weightdiff::open_model(a.string());
  const weightdiff::Model mb = weightdiff::open_model(b.string());
  run.most_mappings = mappings_under(dir);  // after the catalogs
  weightdiff::DiffOptions opt;
  opt.backend = weightdiff::BackendKind::cpu;
  opt.threads = 2;
  opt.on_progress = [&](const weightdiff::Progress&) {
    run.most_mappings = std::max(run.most_mappings, mappings_under(dir));
  };
  run.result = weightdiff::diff_models(ma, mb, opt);
  return run;
}

class ManyFilesTest : public FileTest {};

TEST_F(ManyFilesTest, BoundedMappingsGiveTheSameResultsAsAllMapped) {
  constexpr int kFiles = 2000;
  write_model(dir_.path() / "a", kFiles, 0);
  write_model(dir_.path() / "b", kFiles, 7);
  const auto a = dir_.path() / "a" / "model.onnx", b = dir_.path() / "b" / "model.onnx";
  CountedRun all, bounded;
  {
    const LimitMappings unbounded(100'000);
    all = diff_counting(dir_.path(), a, b);
  }
  {
    const LimitMappings few(16);
    bounded = diff_counting(dir_.path(), a, b);
  }
  // The count is of real mappings: all of both models' files in the first run.
  EXPECT_GE(all.most_mappings, 2u * kFiles);
  EXPECT_LE(bounded.most_mappings, 16u);
  EXPECT_GT(bounded.most_mappings, 0u);
  ASSERT_EQ(bounded.result.tensors.size(), size_t{kFiles});
  EXPECT_EQ(bounded.result.summary.different, (kFiles + 6u) / 7);
  EXPECT_EQ(bounded.result.summary.identical, kFiles - (kFiles + 6u) / 7);
  for (size_t i = 0; i < all.result.tensors.size(); ++i) {
    const auto& x = all.result.tensors[i];
    const auto& y = bounded.result.tensors[i];
    ASSERT_EQ(x.name, y.name);
    EXPECT_EQ(x.status, y.status) << x.name;
    ASSERT_TRUE(x.stats && y.stats);
    EXPECT_EQ(x.stats->max_abs, y.stats->max_abs) << x.name;
    EXPECT_EQ(x.stats->sum_sq_diff, y.stats->sum_sq_diff) << x.name;
    EXPECT_EQ(x.stats->dot, y.stats->dot) << x.name;
    EXPECT_EQ(x.stats->min_b, y.stats->min_b) << x.name;
    EXPECT_EQ(x.stats->max_b, y.stats->max_b) << x.name;
  }
  EXPECT_EQ(all.result.summary.sum_sq_diff, bounded.result.summary.sum_sq_diff);
}

// Catalogs a 40-file model twice with room for 4 mappings (so most files are
// unmapped when the diff starts), lets `alter` edit its data folder, and
// expects the diff to fail with Error(changed) naming `must_name`, before
// the pass ends: when the file is mapped again, not only by the check after.
template <typename Alter>
void expect_changed_when_mapped_again(const fs::path& dir, Alter&& alter,
                                      const std::vector<std::string>& must_name) {
  const LimitMappings few(4);
  write_model(dir, 40, 0);
  const weightdiff::Model ma = weightdiff::open_model((dir / "model.onnx").string());
  const weightdiff::Model mb = weightdiff::open_model((dir / "model.onnx").string());
  alter(dir / "data");
  weightdiff::DiffOptions opt;
  opt.backend = weightdiff::BackendKind::cpu;
  bool finished = false;  // the pass's last progress report
  opt.on_progress = [&](const weightdiff::Progress& p) { finished = finished || p.current.empty(); };
  expect_error([&] { weightdiff::diff_models(ma, mb, opt); }, Errc::changed, must_name);
  EXPECT_FALSE(finished);
}

TEST_F(ManyFilesTest, FileReplacedWhileUnmappedIsChanged) {
  expect_changed_when_mapped_again(
      dir_.path() / "a",
      [](const fs::path& data) {  // same size, new inode: what the catalog described is gone
        write_bytes(data / "000003.bin.new", std::string(16, '\x01'));
        fs::rename(data / "000003.bin.new", data / "000003.bin");
      },
      {"000003.bin", "file changed while reading"});
}

TEST_F(ManyFilesTest, FileDeletedWhileUnmappedIsChanged) {
  expect_changed_when_mapped_again(
      dir_.path() / "a", [](const fs::path& data) { fs::remove(data / "000005.bin"); },
      {"000005.bin", "file changed while reading", "file not found"});
}

// Beyond the kernel's default limit of 65,530 mappings per process (two
// models of 70,000 files), which mapping every file at once exceeded. The
// files go to a tmpfs where there is one: creating 70,000 files on a disk
// file system takes most of this test's time.
TEST_F(ManyFilesTest, SeventyThousandFilesWork) {
  constexpr int kFiles = 70'000;
  const auto t0 = std::chrono::steady_clock::now();
  std::error_code ec;
  const bool shm = fs::is_directory("/dev/shm", ec) && ::access("/dev/shm", W_OK) == 0;
  const TempDir dir(shm ? fs::path("/dev/shm") : fs::temp_directory_path());
  write_model(dir.path() / "a", kFiles, 0);
  const auto a = dir.path() / "a" / "model.onnx";
  const CountedRun run = diff_counting(dir.path(), a, a);
  EXPECT_EQ(run.result.summary.identical, size_t{kFiles});
  EXPECT_LE(run.most_mappings, weightdiff::io::kDefaultMappingLimit);
  EXPECT_GT(run.most_mappings, 0u);
  std::printf("70,000 files in %s: %.1f s (writing included), at most %zu mappings\n",
              dir.path().c_str(),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
              run.most_mappings);
}

}  // namespace
}  // namespace wdtest
