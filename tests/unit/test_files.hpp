// Test fixtures on disk: a per-test temporary folder and a safetensors writer
// with knobs to corrupt every part of the file.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "weightdiff/diff.hpp"
#include "weightdiff/dtype.hpp"
#include "weightdiff/error.hpp"
#include "weightdiff/model.hpp"

namespace wdtest {

namespace fs = std::filesystem;

// A fresh folder under the system temp dir named after the running test;
// removed when it goes out of scope (kept if WEIGHTDIFF_KEEP_TEST_FILES is set).
class TempDir {
 public:
  TempDir();
  explicit TempDir(const fs::path& base);  // under `base` instead
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

// Fixture base that gives every test its own TempDir.
class FileTest : public ::testing::Test {
 protected:
  fs::path file(const std::string& name) const { return dir_ / name; }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  TempDir dir_;
};

// The safetensors dtype string of a weightdiff dtype ("F32", "F8_E4M3", ...).
std::string safetensors_dtype(weightdiff::DType t);

// One tensor of a safetensors file. The *_json knobs replace the generated
// JSON text of that field verbatim (to write malformed headers); omit_* drops
// the field.
struct StTensor {
  std::string name;
  std::string dtype;  // safetensors spelling, e.g. "F32"
  std::vector<uint64_t> shape;
  std::vector<uint8_t> data;
  std::optional<std::string> dtype_json, shape_json, offsets_json;
};

struct StFile {
  std::vector<StTensor> tensors;  // written in this order, data contiguous
  std::optional<std::map<std::string, std::string>> metadata;
  std::optional<std::string> metadata_json;  // raw JSON value of __metadata__
  std::optional<std::string> header_json;    // replaces the whole header text
  std::optional<uint64_t> header_len;        // written instead of the real one
  std::string trailing;                      // bytes appended after the data
  uint64_t truncate = 0;                     // bytes cut off the end
};

// The bytes of the file; tensors with no offsets_json get contiguous offsets.
std::string build_safetensors(const StFile& f);
// The header text build_safetensors would write.
std::string header_text(const StFile& f);

void write_bytes(const fs::path& p, const std::string& bytes);
void write_safetensors(const fs::path& p, const StFile& f);

// A well-formed tensor of `dtype` holding the given raw bytes.
StTensor st_tensor(const std::string& name, weightdiff::DType dtype, std::vector<uint64_t> shape,
                   std::vector<uint8_t> data);
// A file holding these tensors and nothing else.
StFile st_file(std::vector<StTensor> tensors);
// A well-formed f32 tensor.
StTensor st_f32(const std::string& name, std::vector<uint64_t> shape,
                const std::vector<float>& values);

// A catalog of 1-element tensors with these names and no file behind them
// (matching and planning read names and shapes only); sorted as a loader's.
weightdiff::Model model_of_names(const std::string& path, const std::vector<std::string>& names);

// Opens both files and diffs them on the CPU backend.
struct DiffRun {
  weightdiff::Model a, b;
  weightdiff::DiffResult result;
  const weightdiff::TensorDiff& tensor(const std::string& name) const;
};
DiffRun diff_files(const fs::path& a, const fs::path& b, weightdiff::DiffOptions opt = {});

// Runs fn, expects a weightdiff::Error of class `code` whose message names
// every string in `must_name`; returns the message ("" when none was thrown).
template <typename Fn>
std::string expect_error(Fn&& fn, weightdiff::Errc code, const std::vector<std::string>& must_name) {
  try {
    fn();
  } catch (const weightdiff::Error& e) {
    EXPECT_EQ(weightdiff::errc_name(e.code()), std::string(weightdiff::errc_name(code)))
        << "message: " << e.what();
    for (const auto& s : must_name)
      EXPECT_NE(std::string(e.what()).find(s), std::string::npos)
          << "message '" << e.what() << "' does not name '" << s << "'";
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "threw a non-weightdiff exception: " << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no weightdiff::Error thrown (expected " << weightdiff::errc_name(code) << ")";
  return {};
}

}  // namespace wdtest
