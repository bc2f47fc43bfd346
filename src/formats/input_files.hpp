// The files a run reads, by identity (device + inode): a report written over
// one of them would destroy an input (SPEC §8), so the CLI refuses it first.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "weightdiff/model.hpp"

namespace weightdiff::formats {

struct InputFile {
  uint64_t device = 0, inode = 0;
  std::string display;  // as messages name it
};

// Before opening: `path` itself when it is a file; for a folder, every
// regular file directly inside it that a loader may read (indexes, shards,
// ONNX models). Links are followed. Nothing is read.
std::vector<InputFile> model_path_files(const std::string& path);

// Once open: every file that holds bytes of one of `m`'s tensors (shards,
// external data), plus model_path_files(m.path).
std::vector<InputFile> model_input_files(const Model& m);

}  // namespace weightdiff::formats
