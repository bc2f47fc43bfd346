#include "match/preset.hpp"

#include <array>
#include <charconv>

#include "weightdiff/error.hpp"

namespace weightdiff::match {
namespace {

enum class Rope : uint8_t { none, q, k };

struct Row {
  std::string_view gguf, hf;  // per layer: the part after `blk.N.` / `model.layers.N.`
  Rope rope;
};

// llama.cpp's gguf-py tensor_mapping for the llama family (MODEL_ARCH.LLAMA).
// GGUF-only tensors (rope_freqs.weight) keep their names: only in B.
constexpr std::array<Row, 3> kGlobal{{
    {"token_embd.weight", "model.embed_tokens.weight", Rope::none},
    {"output_norm.weight", "model.norm.weight", Rope::none},
    {"output.weight", "lm_head.weight", Rope::none},
}};
constexpr std::array<Row, 12> kPerLayer{{
    {"attn_norm.weight", "input_layernorm.weight", Rope::none},
    {"attn_q.weight", "self_attn.q_proj.weight", Rope::q},
    {"attn_q.bias", "self_attn.q_proj.bias", Rope::q},
    {"attn_k.weight", "self_attn.k_proj.weight", Rope::k},
    {"attn_k.bias", "self_attn.k_proj.bias", Rope::k},
    {"attn_v.weight", "self_attn.v_proj.weight", Rope::none},
    {"attn_v.bias", "self_attn.v_proj.bias", Rope::none},
    {"attn_output.weight", "self_attn.o_proj.weight", Rope::none},
    {"ffn_norm.weight", "post_attention_layernorm.weight", Rope::none},
    {"ffn_gate.weight", "mlp.gate_proj.weight", Rope::none},
    {"ffn_up.weight", "mlp.up_proj.weight", Rope::none},
    {"ffn_down.weight", "mlp.down_proj.weight", Rope::none},
}};

constexpr std::string_view kLlamaGguf = "llama-gguf";

// "blk.12.attn_q.weight" -> layer "12", rest "attn_q.weight".
bool split_layer(std::string_view name, std::string_view& layer, std::string_view& rest) {
  if (!name.starts_with("blk.")) return false;
  name.remove_prefix(4);
  const size_t dot = name.find('.');
  if (dot == 0 || dot == std::string_view::npos) return false;
  layer = name.substr(0, dot);
  for (const char c : layer)
    if (c < '0' || c > '9') return false;
  if (layer.size() > 1 && layer.front() == '0') return false;  // one spelling per layer
  rest = name.substr(dot + 1);
  return true;
}

// A positive head count from the metadata, or 0 when the key is absent.
uint32_t head_count(const Model& m, const std::string& key) {
  std::string full = "gguf.";
  full += key;
  const auto it = m.metadata.find(full);
  if (it == m.metadata.end()) return 0;
  uint32_t v = 0;
  const auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
  if (ec != std::errc() || end != it->second.data() + it->second.size() || v == 0) {
    std::string msg = "--map-preset llama-gguf: ";  // += only: GCC 12's -Wrestrict misfires on "x" + s
    msg += key;
    msg += " is '";
    msg += it->second;
    msg += "', not a positive head count";
    throw Error(Errc::malformed, msg, m.path);
  }
  return v;
}

}  // namespace

void check_preset(const std::string& preset) {
  if (preset.empty() || preset == kLlamaGguf) return;
  std::string msg = "--map-preset: unknown preset '";
  msg += preset;
  msg += "' (known: llama-gguf)";
  throw Error(Errc::usage, msg);
}

std::vector<std::optional<PresetName>> preset_names(const Model& m, const std::string& preset) {
  check_preset(preset);
  if (preset != kLlamaGguf || m.format != "gguf") return {};
  const auto arch_it = m.metadata.find("gguf.general.architecture");
  const std::string arch = arch_it == m.metadata.end() ? std::string() : arch_it->second;
  // Looked up when a permuted tensor is met: a model without Q/K needs none.
  std::optional<uint32_t> heads, heads_kv;
  const auto rope_heads = [&](Rope r) -> uint32_t {
    if (r == Rope::none || arch != "llama") return 0;
    if (!heads) {
      heads = head_count(m, arch + ".attention.head_count");
      if (*heads == 0) {
        std::string msg = "--map-preset llama-gguf: no ";
        msg += arch;
        msg += ".attention.head_count to undo the Q/K permutation";
        throw Error(Errc::malformed, msg, m.path);
      }
      heads_kv = head_count(m, arch + ".attention.head_count_kv");
      if (*heads_kv == 0) heads_kv = heads;
    }
    return r == Rope::q ? *heads : *heads_kv;
  };

  std::vector<std::optional<PresetName>> out(m.tensors.size());
  for (size_t i = 0; i < m.tensors.size(); ++i) {
    const std::string_view name = m.tensors[i].name;
    std::string_view layer, rest;
    if (split_layer(name, layer, rest)) {
      for (const Row& row : kPerLayer)
        if (row.gguf == rest) {
          std::string hf = "model.layers.";
          hf += layer;
          hf += '.';
          hf += row.hf;
          out[i] = PresetName{std::move(hf), rope_heads(row.rope)};
          break;
        }
      continue;
    }
    for (const Row& row : kGlobal)
      if (row.gguf == name) out[i] = PresetName{std::string(row.hf), 0};
  }
  return out;
}

}  // namespace weightdiff::match
