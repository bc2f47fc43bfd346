// --map-preset: name tables between a converted format and the checkpoint
// it came from (data, not code per model: a new tensor is a new row).
//
// llama-gguf: llama.cpp's GGUF names (`blk.N.attn_q.weight`) for a Hugging
// Face llama-family checkpoint's (`model.layers.N.self_attn.q_proj.weight`),
// and which tensors the converter stored with its Q/K row permutation.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "weightdiff/model.hpp"

namespace weightdiff::match {

// Error(usage) for a preset name that is not one of the known ones.
void check_preset(const std::string& preset);

struct PresetName {
  std::string name;     // the checkpoint's name
  uint32_t rope_heads;  // the heads of its row permutation; 0: stored as it is
};

// The checkpoint name of each of the model's tensors under the preset
// (nullopt: the preset does not name it), when the preset applies to the
// model (llama-gguf: a GGUF file); an empty result otherwise. The Q/K
// permutation's head counts come from the model's metadata
// (`<arch>.attention.head_count`, `head_count_kv`), for architecture
// `llama` only (llama.cpp permutes no other): Error(malformed) when a
// permuted tensor's model lacks a valid head count.
std::vector<std::optional<PresetName>> preset_names(const Model& m, const std::string& preset);

}  // namespace weightdiff::match
