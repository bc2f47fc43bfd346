// A model is a catalog of tensors plus free-form metadata, opened from a path.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "weightdiff/tensor.hpp"

namespace weightdiff {

struct Model {
  std::string path;    // as given by the user
  std::string format;  // "safetensors", "onnx", ...
  std::vector<TensorRef> tensors;              // sorted by name, unique
  std::map<std::string, std::string> metadata;  // safetensors __metadata__, ...
  uint64_t bytes = 0;                           // sum of tensor nbytes
};

// Detects the format from content and opens it. Throws weightdiff::Error.
Model open_model(const std::string& path);

}  // namespace weightdiff
