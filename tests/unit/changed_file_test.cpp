// A file truncated or rewritten while it is being read: Error(changed)
// naming the file (the CLI exits 2), never a SIGBUS (SPEC §7).
#include <gtest/gtest.h>
#include <unistd.h>

#include <vector>

#include "test_files.hpp"

namespace wdtest {
namespace {

class ChangedFileTest : public FileTest {
 protected:
  void write_pair() {
    std::vector<float> values(1 << 20);
    for (size_t i = 0; i < values.size(); ++i) values[i] = 0.001f * static_cast<float>(i % 997);
    write_safetensors(file("a.safetensors"), st_file({st_f32("w", {values.size()}, values)}));
    write_safetensors(file("b.safetensors"), st_file({st_f32("w", {values.size()}, values)}));
  }
};

TEST_F(ChangedFileTest, TruncatedAfterOpeningIsAnErrorNotASignal) {
  write_pair();
  const auto a = weightdiff::open_model(path("a.safetensors"));
  const auto b = weightdiff::open_model(path("b.safetensors"));
  // The mapping now extends past the end of the file: reading the vanished
  // pages raises SIGBUS.
  ASSERT_EQ(::truncate(path("b.safetensors").c_str(), 4096), 0);
  expect_error([&] { weightdiff::diff_models(a, b, {}); }, weightdiff::Errc::changed,
               {path("b.safetensors"), "changed"});
}

TEST_F(ChangedFileTest, RewrittenInPlaceIsDetected) {
  write_pair();
  const auto a = weightdiff::open_model(path("a.safetensors"));
  const auto b = weightdiff::open_model(path("b.safetensors"));
  // Same size, new bytes: no signal, but the file is not the one opened.
  const std::vector<float> other(1 << 20, 0.5f);
  write_safetensors(file("a.safetensors"), st_file({st_f32("w", {other.size()}, other)}));
  expect_error([&] { weightdiff::diff_models(a, b, {}); }, weightdiff::Errc::changed,
               {path("a.safetensors")});
}

TEST_F(ChangedFileTest, UnchangedFilesStillDiff) {
  write_pair();
  const auto r = diff_files(file("a.safetensors"), file("b.safetensors"));
  EXPECT_EQ(r.tensor("w").status, weightdiff::Status::identical);
}

}  // namespace
}  // namespace wdtest
