// A folder checkpoint (Hugging Face layout): one *.safetensors.index.json
// mapping tensor names to shards, or failing that, all *.safetensors files
// in the folder, pooled.
#pragma once

#include <string>

#include "weightdiff/model.hpp"

namespace weightdiff::formats {

Model open_safetensors_folder(const std::string& dir);

// `index` is a *.safetensors.index.json file; shards resolve next to it.
Model open_safetensors_index(const std::string& index);

}  // namespace weightdiff::formats
