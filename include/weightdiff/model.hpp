// A model is a catalog of tensors plus free-form metadata, opened from a path.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "weightdiff/graph.hpp"
#include "weightdiff/tensor.hpp"

namespace weightdiff {

struct Model {
  std::string path;    // as given by the user
  std::string format;  // "safetensors", "onnx", ...
  std::vector<TensorRef> tensors;              // sorted by name, unique
  std::map<std::string, std::string> metadata;  // safetensors __metadata__, ...
  uint64_t bytes = 0;                           // sum of tensor nbytes
  // ONNX: the main graph's nodes, inputs and outputs (null for other formats).
  std::shared_ptr<const GraphSummary> graph;
};

// Detects the format from content and opens it. Throws weightdiff::Error.
Model open_model(const std::string& path);

// One tensor in memory the caller owns: its elements in row-major order,
// encoded as a file would hold them (little-endian; i4/u4 two per byte, low
// nibble first).
struct BufferTensor {
  std::string name;
  DType dtype = DType::f32;
  std::vector<uint64_t> shape;  // empty = scalar
  const void* data = nullptr;   // may be null only when nbytes == 0
  uint64_t nbytes = 0;          // must equal dtype_storage_bytes(dtype, numel)
};

// A model over those buffers, not copied (the way in for arrays already in
// memory: a binding's numpy/torch tensors, a C++ program's weights). The
// buffers must stay valid and unchanged while the model or any result
// refers to them. Validated as a loader validates a file: names unique and
// at most 16 KiB, byte sizes matching shapes (Error(malformed) or
// Error(conflict) naming `path`, which is how reports name the model).
Model model_from_buffers(const std::string& path, std::vector<BufferTensor> tensors);

// A file a run reads, by identity (device + inode): a report written over
// one would destroy an input (SPEC §8), so writers refuse such a destination.
struct InputFile {
  uint64_t device = 0, inode = 0;
  std::string display;  // as messages name it
};

// Before opening: `path` itself when it is a file; for a folder, every
// regular file directly inside it that a loader may read (indexes, shards,
// ONNX models, JSON). Links are followed. No file is opened.
std::vector<InputFile> model_path_files(const std::string& path);

// Once open: model_path_files(m.path) and every file that holds bytes of
// one of m's tensors (shards, external data).
std::vector<InputFile> model_input_files(const Model& m);

// An input file as `weightdiff merge` checks that the parts of a --shard
// run read the same inputs: canonical path, size and modification time.
struct InputStamp {
  std::string path;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  friend bool operator==(const InputStamp&, const InputStamp&) = default;
};
// model_input_files(m), stamped, sorted by path, each once (a file that
// cannot be stat'ed any more is left out).
std::vector<InputStamp> model_input_stamps(const Model& m);

}  // namespace weightdiff
