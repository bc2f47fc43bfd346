// Report files are written whole or not at all (SPEC §6: on exit 2 no
// report file is left behind unless it is complete).
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <stdexcept>

#include "cli/report_file.hpp"
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
