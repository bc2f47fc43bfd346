// The quantizer's own settings that a checkpoint's tensors do not carry:
// which GPTQ packing generation it was saved with. AutoGPTQ's original
// ("v1") checkpoints store every zero point minus one, GPTQModel's "gptq_v2"
// stores them as they are; the tensors look the same, only the config says.
#pragma once

#include <optional>
#include <string>

namespace weightdiff::formats {

// The "checkpoint_format" a GPTQ checkpoint at model_path declares: from
// quantize_config.json next to it, else from config.json's
// "quantization_config"; nullopt when neither file says. model_path is the
// model as given (a folder, a file inside one, or an index). Throws
// Error(malformed) naming the file when one is not valid JSON or the field
// is not a string, Error(io) when one exists but cannot be read.
std::optional<std::string> gptq_checkpoint_format(const std::string& model_path);

}  // namespace weightdiff::formats
