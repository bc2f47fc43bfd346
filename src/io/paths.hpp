// Path rules for files that a model names (shards, external data): SPEC §7.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace weightdiff::io {

// Validates a relative path read from a file: not empty, not absolute, no
// ".." component after lexical normalization. Returns it normalized.
// Throws Error(unsafe_path) naming `source` (the file that holds the path).
std::filesystem::path safe_relative_path(const std::string& rel, const std::string& source);

// The folders a linked file may resolve into (canonical paths):
// - the model folder itself;
// - the folder the model file (or index) resolves into, when there is one
//   (`anchor` non-empty);
// - for a Hugging Face cache snapshot (<repo>/snapshots/<rev>), the cache's
//   <repo>/blobs folder, so a folder of linked shards works without an index.
std::vector<std::filesystem::path> allowed_roots(const std::filesystem::path& model_dir,
                                                 const std::filesystem::path& anchor = {});

// Accepts `target` only when it is an existing regular file whose canonical
// path lies under one of `roots`. `display` names it in errors.
// Throws Error(io) for missing or non-regular, Error(unsafe_path) for escapes.
void check_contained(const std::filesystem::path& target,
                     const std::vector<std::filesystem::path>& roots, const std::string& display);

}  // namespace weightdiff::io
