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

// Accepts `real` (the canonical path of a file already opened: see
// open_checked.hpp) only when it lies under one of `roots`. `display` names
// the file in errors. Throws Error(unsafe_path) for escapes.
void check_resolved_within(const std::filesystem::path& real,
                           const std::vector<std::filesystem::path>& roots,
                           const std::string& display);

}  // namespace weightdiff::io
