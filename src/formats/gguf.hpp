// GGUF (ggml, llama.cpp), versions 2 and 3: a header, metadata key/values,
// tensor infos, then the tensor data at an aligned offset. Tensors of the
// plain types (F64, F32, F16, BF16, I8..I64) are compared; the block
// (quantized) types are validated and listed as unsupported_dtype.
#pragma once

#include <memory>

#include "io/mapped_file.hpp"
#include "weightdiff/model.hpp"

namespace weightdiff::formats {

// True when the file starts with the magic "GGUF".
bool looks_like_gguf(const MappedFile& file) noexcept;

// Parses and validates the whole file (SPEC §7: every count, length, shape
// and extent, the data section against the file's size). Tensors refer to
// `file` in place. Throws Error naming file->display_path() (and the tensor).
Model open_gguf(std::shared_ptr<const MappedFile> file);

}  // namespace weightdiff::formats
