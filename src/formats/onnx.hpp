// ONNX models: initializers (main graph and subgraphs), sparse initializers
// (reported as unsupported), Constant nodes; raw_data, typed fields and
// external data. Tensor bytes stay in the mapped files.
#pragma once

#include <memory>
#include <string>

#include "io/mapped_file.hpp"
#include "weightdiff/model.hpp"

namespace weightdiff::formats {

// True when the file is worth parsing as ONNX: named *.onnx, or starting
// with the ModelProto.ir_version tag that every serializer writes first.
bool looks_like_onnx(const MappedFile& file, const std::string& path) noexcept;

// Parses and validates the model in `file` (opened from `path`, as given)
// and its external data (SPEC §7). Throws Error naming the file (and the
// tensor when there is one).
Model open_onnx(std::shared_ptr<const MappedFile> file, const std::string& path);

}  // namespace weightdiff::formats
