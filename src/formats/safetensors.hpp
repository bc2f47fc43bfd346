// safetensors: one file = 8-byte little-endian header length, a JSON header,
// then the tensor bytes. Used on its own and for the shards of a folder.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/mapped_file.hpp"
#include "weightdiff/model.hpp"

namespace weightdiff::formats {

struct SafetensorsFile {
  std::vector<TensorRef> tensors;  // in header order
  std::map<std::string, std::string> metadata;
};

// True when the first bytes look like a safetensors header.
bool looks_like_safetensors(const MappedFile& file) noexcept;

// Parses and validates the whole header against the file (SPEC §7).
// Throws Error naming file.display_path().
SafetensorsFile parse_safetensors(std::shared_ptr<const MappedFile> file);


}  // namespace weightdiff::formats
