// A few end-to-end runs of the built binary (exit codes of SPEC §6, the
// error line of §7, --version); tests/python covers the CLI in depth.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "test_files.hpp"

#ifndef WEIGHTDIFF_BIN
#error "WEIGHTDIFF_BIN must name the weightdiff executable"
#endif

namespace wdtest {
namespace {

struct CliRun {
  int code = -1;
  std::string out, err;
};

std::string quote(const std::string& s) {
  std::string q = "'";
  for (const char c : s) {
    if (c == '\'') q += "'\\''";
    else q += c;
  }
  return q + "'";
}

class CliTest : public FileTest {
 protected:
  CliRun run(const std::vector<std::string>& args) {
    std::string cmd = quote(WEIGHTDIFF_BIN);
    for (const auto& a : args) {
      cmd += ' ';
      cmd += quote(a);
    }
    cmd += " 2>";
    cmd += quote(path("stderr.txt"));
    CliRun r;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (p == nullptr) {
      ADD_FAILURE() << "popen failed: " << cmd;
      return r;
    }
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
    const int status = ::pclose(p);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::ifstream err(file("stderr.txt"));
    std::stringstream ss;
    ss << err.rdbuf();
    r.err = ss.str();
    return r;
  }

  void write_pair(const std::vector<float>& a, const std::vector<float>& b) {
    write_safetensors(file("a.safetensors"), st_file({st_f32("w", {a.size()}, a)}));
    write_safetensors(file("b.safetensors"), st_file({st_f32("w", {b.size()}, b)}));
  }
};

std::string last_line(const std::string& text) {
  std::istringstream in(text);
  std::string line, last;
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  return last;
}

TEST_F(CliTest, IdenticalFilesExitZero) {
  write_pair({1, 2, 3, -4}, {1, 2, 3, -4});
  const CliRun r = run({path("a.safetensors"), path("b.safetensors"), "--backend", "cpu", "-q"});
  EXPECT_EQ(r.code, 0) << r.err;
}

TEST_F(CliTest, DifferentFilesExitOne) {
  write_pair({1, 2, 3, -4}, {1, 2, 3.5, -4});
  const CliRun r = run({path("a.safetensors"), path("b.safetensors"), "--backend", "cpu"});
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.out.find("w"), std::string::npos) << "the table names the tensor:\n" << r.out;
}

TEST_F(CliTest, MalformedFileExitsTwoNamingItOnTheLastStderrLine) {
  write_pair({1, 2, 3, -4}, {1, 2, 3, -4});
  StFile bad = st_file({st_f32("w", {4}, {1, 2, 3, -4})});
  bad.truncate = 5;
  write_safetensors(file("b.safetensors"), bad);
  const CliRun r = run({path("a.safetensors"), path("b.safetensors"), "--backend", "cpu", "-q"});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_NE(last_line(r.err).find(path("b.safetensors")), std::string::npos) << r.err;
  for (const char* crash : {"terminate called", "Segmentation", "Aborted"})
    EXPECT_EQ(r.err.find(crash), std::string::npos) << r.err;
}

// Repeatable options take one value per occurrence, so they may come before
// the two models (as the name-matching hint prints them).
TEST_F(CliTest, RepeatableOptionsBeforeTheModelsTakeOneValue) {
  write_pair({1, 2, 3, -4}, {1, 2, 3.5, -4});
  const CliRun r = run({"--map", "^x=y", "--include", "w", "--exclude", "nothing", "--fail-if",
                        "max_abs>1", path("a.safetensors"), path("b.safetensors"), "--backend", "cpu",
                        "-q"});
  EXPECT_EQ(r.code, 0) << r.err;  // max_abs 0.5: the gate holds, so exit 0
  const CliRun i = run({"inspect", "--include", "w", path("a.safetensors"), "--backend", "cpu", "-q"});
  EXPECT_EQ(i.code, 0) << i.err;
}

// Patterns that backtrack without bound in std::regex (minutes, then a stack
// overflow, on a 16 KiB name) finish under RE2; what RE2 cannot express is
// exit 2 with the option and the pattern on the error line.
TEST_F(CliTest, CatastrophicRegexOnALongNameCompletesAndAnInvalidOneExitsTwo) {
  const std::string long_name(16 * 1024, 'a');
  const StFile f = st_file({st_f32(long_name, {2}, {1, 2}), st_f32("w", {1}, {3})});
  write_safetensors(file("a.safetensors"), f);
  write_safetensors(file("b.safetensors"), f);
  const CliRun r = run({path("a.safetensors"), path("b.safetensors"), "--backend", "cpu",
                        "--include", "(a|aa)*c", "--include", "^a+$", "--exclude", "(a*)*b",
                        "--map", "(a|aa)*c=x", "--json", "-"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("\"" + long_name + "\""), std::string::npos) << "the long name is compared";
  EXPECT_EQ(r.out.find("\"w\""), std::string::npos) << "'w' is filtered out";

  const CliRun bad = run({path("a.safetensors"), path("b.safetensors"), "--backend", "cpu", "-q",
                          "--include", "^(?!lm_head)"});
  EXPECT_EQ(bad.code, 2) << bad.err;
  EXPECT_NE(last_line(bad.err).find("--include '^(?!lm_head)'"), std::string::npos) << bad.err;
  EXPECT_NE(last_line(bad.err).find("RE2 syntax"), std::string::npos) << bad.err;
  for (const char* crash : {"terminate called", "Segmentation", "Aborted"})
    EXPECT_EQ(bad.err.find(crash), std::string::npos) << bad.err;
}

TEST_F(CliTest, VersionListsTheCpuBackend) {
  const CliRun r = run({"--version"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("weightdiff"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("cpu"), std::string::npos) << r.out;
}

// The report goes through a temp file renamed into place; a symlink named as
// the destination must stay a symlink, with the report in its target.
TEST_F(CliTest, JsonReportThroughASymlinkKeepsTheLink) {
  write_pair({1, 2, 3, -4}, {1, 2, 3, -4});
  write_bytes(file("real.json"), "old");
  fs::create_symlink(file("real.json"), file("link.json"));
  const CliRun r = run({path("a.safetensors"), path("b.safetensors"), "--backend", "cpu", "-q",
                        "--json", path("link.json")});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fs::is_symlink(file("link.json")));
  std::ifstream in(file("real.json"));
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_NE(ss.str().find("\"schema_version\""), std::string::npos) << ss.str();
}

TEST_F(CliTest, BadOptionValuesExitTwo) {
  write_pair({1, 2, 3, -4}, {1, 2, 3, -4});
  for (const std::vector<std::string>& bad :
       {std::vector<std::string>{"--atol", "nan"}, {"--atol", "-1"}, {"--rtol", "inf"},
        {"--top", "-1"}, {"--hist-range", "99999999999:3"}, {"--hist-range", "-40:16x"},
        {"--hist-range", "-1022:16"}, {"--fail-if", "max_abs_index<1"}}) {
    std::vector<std::string> args{path("a.safetensors"), path("b.safetensors"), "-q"};
    args.insert(args.end(), bad.begin(), bad.end());
    const CliRun r = run(args);
    EXPECT_EQ(r.code, 2) << bad[0] << ' ' << bad[1] << ": " << r.err;
  }
}

TEST_F(CliTest, ProgressAlwaysReportsBytesAndRateOnStderr) {
  write_pair({1, 2, 3, -4}, {1, 2, 3.5, -4});
  const CliRun r = run({path("a.safetensors"), path("b.safetensors"), "--backend", "cpu", "-q",
                        "--progress", "always"});
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("100.0%"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("GB/s"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "") << "-q prints nothing on stdout";
}

TEST_F(CliTest, ProgressAutoStaysQuietInPipes) {
  write_pair({1, 2, 3, -4}, {1, 2, 3.5, -4});
  const CliRun r = run({path("a.safetensors"), path("b.safetensors"), "--backend", "cpu", "-q"});
  EXPECT_EQ(r.err.find("GB/s"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace wdtest
