// Report files are written whole or not at all (SPEC §6: on exit 2 no
// report file is left behind unless it is complete).
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <stdexcept>
#include <thread>
#include <vector>

#include <unistd.h>

#include "cli/report_file.hpp"
#include "weightdiff/error.hpp"
#include "test_files.hpp"

namespace wdtest {
namespace {

TEST_F(FileTest, ReportWriterThatThrowsLeavesNoFile) {
  EXPECT_THROW(weightdiff::cli::write_report(path("r.json"),
                                             [](std::ostream& out) {
                                               out << "{\"partial\": ";
                                               throw std::runtime_error("writer failed");
                                             }),
               std::runtime_error);
  EXPECT_FALSE(fs::exists(file("r.json")));
  EXPECT_TRUE(fs::is_empty(dir_.path())) << "a temporary file was left behind";
}

TEST_F(FileTest, ReportIsWrittenWholeAndReplacesTheOldOne) {
  write_bytes(file("r.json"), "old");
  weightdiff::cli::write_report(path("r.json"), [](std::ostream& out) { out << "new report"; });
  std::ifstream in(file("r.json"));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "new report");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_.path()), fs::directory_iterator()), 1);
}

}  // namespace
}  // namespace wdtest

namespace wdtest {
namespace {

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The old scheme's name, <dest>.tmp-<pid>, planted as a link to a victim:
// the writer must neither follow it nor need it.
TEST_F(FileTest, PlantedTemporaryLinkIsNeverFollowed) {
  write_bytes(file("victim"), "precious");
  fs::create_symlink(file("victim"), file("r.json.tmp-" + std::to_string(::getpid())));
  weightdiff::cli::write_report(path("r.json"), [](std::ostream& out) { out << "report"; });
  EXPECT_EQ(read_all(file("victim")), "precious");
  EXPECT_EQ(read_all(file("r.json")), "report");
}

TEST_F(FileTest, ConcurrentWritersEachLeaveAWholeReport) {
  const std::string big(1 << 20, 'x');
  std::vector<std::thread> writers;
  for (char c : {'a', 'b', 'c', 'd'})
    writers.emplace_back([&, c] {
      weightdiff::cli::write_report(path("r.json"), [&](std::ostream& out) {
        out << c << big << c;
      });
    });
  for (auto& t : writers) t.join();
  const std::string got = read_all(file("r.json"));
  ASSERT_EQ(got.size(), big.size() + 2);
  EXPECT_EQ(got.front(), got.back());
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_.path()), fs::directory_iterator()), 1);
}

TEST_F(FileTest, FailedWriteIsAnIoErrorAndLeavesNoFile) {
  try {
    weightdiff::cli::write_report("/dev/full", [](std::ostream& out) { out << std::string(1 << 17, 'x'); });
    FAIL() << "no error";
  } catch (const weightdiff::Error& e) {
    EXPECT_EQ(e.code(), weightdiff::Errc::io);
    EXPECT_NE(std::string(e.what()).find("No space left on device"), std::string::npos) << e.what();
  }
}

TEST_F(FileTest, CancelWhileWritingIsCancelledAndLeavesNoFile) {
  weightdiff::CancelFlag cancel{false};
  try {
    weightdiff::cli::write_report(path("r.json"), [&](std::ostream& out) {
      out << std::string(1 << 17, 'x');
      cancel = true;  // as a SIGINT handler would
      out << std::string(1 << 17, 'y');
    }, &cancel);
    FAIL() << "no error";
  } catch (const weightdiff::Error& e) {
    EXPECT_EQ(e.code(), weightdiff::Errc::cancelled);
  }
  EXPECT_TRUE(fs::is_empty(dir_.path())) << "a report or temporary file was left behind";
}

TEST_F(FileTest, ReportOverAnInputIsAUsageErrorNamingBoth) {
  write_bytes(file("model.safetensors"), "model bytes");
  fs::create_symlink(file("model.safetensors"), file("link.json"));
  const auto inputs = weightdiff::model_path_files(path("model.safetensors"));
  ASSERT_EQ(inputs.size(), 1u);
  try {
    weightdiff::cli::refuse_reports_over_inputs({{"--json", path("link.json")}}, inputs);
    FAIL() << "not refused";
  } catch (const weightdiff::Error& e) {
    EXPECT_EQ(e.code(), weightdiff::Errc::usage);
    EXPECT_NE(std::string(e.what()).find(path("link.json")), std::string::npos);
    EXPECT_NE(std::string(e.what()).find(path("model.safetensors")), std::string::npos);
  }
  EXPECT_NO_THROW(weightdiff::cli::refuse_reports_over_inputs({{"--json", path("new.json")}}, inputs));
  EXPECT_EQ(read_all(file("model.safetensors")), "model bytes");
}

}  // namespace
}  // namespace wdtest
