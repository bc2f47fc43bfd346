#include "engine/dequant_catalog.hpp"

#include <algorithm>
#include <memory>
#include <optional>
#include <set>
#include <string_view>

#include "core/checked.hpp"
#include "formats/quant_config.hpp"
#include "weightdiff/error.hpp"

namespace weightdiff::engine {
namespace {

// Where a DeepSeek-V3 / Qwen FP8 checkpoint keeps its block scales, and
// where compressed-tensors keeps its tensor, channel or block scales.
constexpr std::string_view kFp8ScaleSuffixes[] = {"weight_scale_inv", "weight_scale"};

bool is_fp8(DType t) {
  return t == DType::f8e4m3fn || t == DType::f8e4m3fnuz || t == DType::f8e5m2 || t == DType::f8e5m2fnuz;
}
bool is_scale_dtype(const TensorRef& t) {
  return t.unsupported_dtype.empty() &&
         (t.dtype == DType::f32 || t.dtype == DType::bf16 || t.dtype == DType::f16 || t.dtype == DType::f64);
}

const TensorRef* find(const Model& m, const std::string& name) {  // the catalog is sorted by name
  const auto it = std::lower_bound(m.tensors.begin(), m.tensors.end(), name,
                                   [](const TensorRef& t, const std::string& n) { return t.name < n; });
  return it != m.tensors.end() && it->name == name ? &*it : nullptr;
}

std::string prefix_of(const std::string& name, std::string_view suffix) {
  return name.substr(0, name.size() - suffix.size());
}

uint64_t ceil_div(uint64_t a, uint64_t b) { return a / b + (a % b != 0); }

[[noreturn]] void malformed(const Model& m, const TensorRef& t, const std::string& why) {
  throw Error(Errc::malformed, why, m.path, t.name);
}

std::string dims_text(const TensorRef& t) {
  return t.shape.empty() ? std::string("[]") : "[" + shape_string(t.shape) + "]";
}

struct Composite {
  TensorRef ref;
  std::vector<std::string> consumed;  // the stored tensors it replaces
};

TensorRef composite_ref(std::string name, std::vector<uint64_t> shape, Dequant d) {
  TensorRef t;
  t.name = std::move(name);
  t.dtype = DType::f64;  // the values' type: what both backends compute on
  t.numel = 1;
  for (uint64_t x : shape) t.numel *= x;  // checked by the callers
  t.shape = std::move(shape);
  t.nbytes = d.weight.nbytes + d.scale.nbytes + (d.has_zeros ? d.zeros.nbytes : 0) +
             (d.has_g_idx ? d.g_idx.nbytes : 0);
  t.matched_as = d.weight.matched_as;
  t.dequant = std::make_shared<const Dequant>(std::move(d));
  return t;
}

// An fp8 `P.weight` and its scale: per tensor (one element), per output
// channel ([rows] or [rows, 1]) or per block ([ceil(rows / br), ceil(cols / bc)],
// 128 x 128 when that fits, as DeepSeek-V3's weight_block_size is).
std::optional<Composite> fp8_composite(const Model& m, const TensorRef& w) {
  if (!is_fp8(w.dtype) || !w.unsupported_dtype.empty() || w.numel == 0) return std::nullopt;
  const std::string prefix = prefix_of(w.name, "weight");
  for (const std::string_view suffix : kFp8ScaleSuffixes) {
    const TensorRef* s = find(m, prefix + std::string(suffix));
    if (!s) continue;
    if (!is_scale_dtype(*s))
      malformed(m, *s, "scale of fp8 weight '" + w.name + "' is " + s->dtype_label() + ", expected f32, bf16, f16 or f64");
    Dequant d;
    d.weight = w;
    d.scale = *s;
    d.cols = w.shape.empty() ? 1 : w.shape.back();
    d.rows = w.numel / d.cols;
    std::string kind;
    const bool two_d = w.shape.size() == 2;
    if (s->numel == 1) {
      d.scheme = DequantScheme::fp8_tensor;
      kind = "tensor";
    } else if (two_d && s->numel == d.rows &&
               (s->shape.size() == 1 || (s->shape.size() == 2 && s->shape[1] == 1))) {
      d.scheme = DequantScheme::fp8_channel;
      kind = "channel";
    } else if (two_d && s->shape.size() == 2 && s->shape[0] > 0 && s->shape[1] > 0) {
      d.scheme = DequantScheme::fp8_block;
      const uint64_t sr = s->shape[0], sc = s->shape[1];
      if (ceil_div(d.rows, 128) == sr && ceil_div(d.cols, 128) == sc) {
        d.block_rows = d.block_cols = 128;
      } else {
        d.block_rows = ceil_div(d.rows, sr);
        d.block_cols = ceil_div(d.cols, sc);
        if (ceil_div(d.rows, d.block_rows) != sr || ceil_div(d.cols, d.block_cols) != sc)
          malformed(m, *s, "block scales " + dims_text(*s) + " do not tile fp8 weight '" + w.name + "' " + dims_text(w));
      }
      kind = std::to_string(d.block_rows) + "x" + std::to_string(d.block_cols);
    } else {
      malformed(m, *s, "scale shape " + dims_text(*s) + " fits fp8 weight '" + w.name + "' " + dims_text(w) +
                           " neither per tensor, per channel nor per block");
    }
    d.label = std::string(dtype_name(w.dtype)) + "*scale[" + kind + "]";
    Composite c{composite_ref(w.name, w.shape, std::move(d)), {w.name, s->name}};
    return c;
  }
  return std::nullopt;
}

// Whether m's GPTQ zero points are stored as they are ("gptq_v2",
// GPTQModel) rather than minus one (AutoGPTQ's original format): the
// safetensors metadata or the quantizer's config next to the model says;
// neither saying means the original format. Asked once per model.
class GptqFormat {
 public:
  explicit GptqFormat(const Model& m) : m_(m) {}
  bool v2() {
    if (!v2_) {
      const auto it = m_.metadata.find("checkpoint_format");
      if (it != m_.metadata.end()) v2_ = it->second == "gptq_v2";
      else v2_ = formats::gptq_checkpoint_format(m_.path).value_or("gptq") == "gptq_v2";
    }
    return *v2_;
  }

 private:
  const Model& m_;
  std::optional<bool> v2_;
};

// GPTQ (AutoGPTQ / GPTQModel) and AWQ (AutoAWQ GEMM) int weights:
// `P.qweight`, `P.qzeros`, `P.scales` [groups, out] and GPTQ's optional
// `P.g_idx` [in]. The quant width follows from qzeros [groups, out * bits / 32];
// the packing from qweight: GPTQ packs along the input dimension
// ([in * bits / 32, out]), AWQ along the output one ([in, out * bits / 32]).
std::optional<Composite> int_composite(const Model& m, const TensorRef& qw, GptqFormat& format) {
  const std::string prefix = prefix_of(qw.name, "qweight");
  const TensorRef* sc = find(m, prefix + "scales");
  const TensorRef* qz = find(m, prefix + "qzeros");
  if (!sc || !qz) return std::nullopt;
  const TensorRef* gi = find(m, prefix + "g_idx");
  const auto need = [&](bool ok, const TensorRef& t, const std::string& why) {
    if (!ok) malformed(m, t, why);
  };
  need(qw.dtype == DType::i32 && qw.shape.size() == 2 && qw.unsupported_dtype.empty(), qw,
       "GPTQ/AWQ qweight must be 2-D i32, is " + qw.dtype_label() + " " + dims_text(qw));
  need(qz->dtype == DType::i32 && qz->shape.size() == 2 && qz->unsupported_dtype.empty(), *qz,
       "GPTQ/AWQ qzeros must be 2-D i32, is " + qz->dtype_label() + " " + dims_text(*qz));
  need(is_scale_dtype(*sc) && sc->shape.size() == 2 && sc->shape[0] > 0 && sc->shape[1] > 0, *sc,
       "GPTQ/AWQ scales must be 2-D f16, bf16 or f32 [groups, out], is " + sc->dtype_label() + " " + dims_text(*sc));
  const uint64_t groups = sc->shape[0], outs = sc->shape[1];
  need(qz->shape[0] == groups && qz->shape[1] > 0 && qz->shape[1] * 32 % outs == 0, *qz,
       "qzeros " + dims_text(*qz) + " does not fit scales " + dims_text(*sc));
  const uint64_t bits = qz->shape[1] * 32 / outs;
  if (bits != 2 && bits != 4 && bits != 8)
    throw Error(Errc::unsupported, std::to_string(bits) + "-bit GPTQ/AWQ packing is not supported (2, 4 or 8)",
                m.path, qz->name);
  const uint64_t per = 32 / bits;
  Dequant d;
  uint64_t in = 0;
  if (qw.shape[1] == outs && core::checked_mul(qw.shape[0], per)) {
    d.scheme = DequantScheme::gptq;
    in = qw.shape[0] * per;
  } else if (bits == 4 && qw.shape[1] * per == outs) {
    d.scheme = DequantScheme::awq;
    in = qw.shape[0];
  } else {
    malformed(m, qw, "qweight " + dims_text(qw) + " fits neither GPTQ nor AWQ packing of scales " + dims_text(*sc));
  }
  need(in > 0 && core::checked_mul(in, outs).has_value(), qw, "qweight " + dims_text(qw) + ": no input features");
  const bool use_g_idx = gi != nullptr && d.scheme == DequantScheme::gptq;
  if (use_g_idx)
    need(gi->dtype == DType::i32 && gi->shape.size() == 1 && gi->numel == in && gi->unsupported_dtype.empty(), *gi,
         "g_idx must be i32 [" + std::to_string(in) + "], is " + gi->dtype_label() + " " + dims_text(*gi));
  else
    need(in % groups == 0, *sc, std::to_string(groups) + " groups do not divide the " + std::to_string(in) + " inputs");
  const std::string name = prefix + "weight";
  if (find(m, name))
    throw Error(Errc::conflict, "stored next to GPTQ/AWQ '" + qw.name + "', which dequantizes to it", m.path, name);
  d.weight = qw;
  d.scale = *sc;
  d.zeros = *qz;
  d.has_zeros = true;
  if (use_g_idx) d.g_idx = *gi, d.has_g_idx = true;
  d.rows = outs;
  d.cols = in;
  d.block_cols = in % groups == 0 ? in / groups : 1;
  d.bits = static_cast<unsigned>(bits);
  d.zeros_plus_one = d.scheme == DequantScheme::gptq && !format.v2();
  d.label = (d.scheme == DequantScheme::awq ? "awq_int" : "gptq_int") + std::to_string(bits) + "[g" +
            (in % groups == 0 ? std::to_string(in / groups) : std::string("_idx")) + "]";
  Composite c{composite_ref(name, {outs, in}, std::move(d)), {qw.name, sc->name, qz->name}};
  if (use_g_idx) c.consumed.push_back(gi->name);
  return c;
}

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

bool has_quantized_weights(const Model& m) {
  for (const TensorRef& t : m.tensors) {
    for (const std::string_view suffix : kFp8ScaleSuffixes)
      if (ends_with(t.name, suffix)) {
        const TensorRef* w = find(m, prefix_of(t.name, suffix) + "weight");
        if (w && is_fp8(w->dtype)) return true;
      }
    if (ends_with(t.name, "qweight")) {
      const std::string prefix = prefix_of(t.name, "qweight");
      if (find(m, prefix + "qzeros") && find(m, prefix + "scales")) return true;
    }
  }
  return false;
}

Model dequantized(const Model& m) {
  std::vector<Composite> composites;
  GptqFormat gptq_format(m);
  for (const TensorRef& t : m.tensors) {
    std::optional<Composite> c;
    if (ends_with(t.name, "weight") && !ends_with(t.name, "qweight")) c = fp8_composite(m, t);
    else if (ends_with(t.name, "qweight")) c = int_composite(m, t, gptq_format);
    if (c) composites.push_back(std::move(*c));
  }
  std::set<std::string> consumed;
  for (const Composite& c : composites) consumed.insert(c.consumed.begin(), c.consumed.end());
  Model out;
  out.path = m.path;
  out.format = m.format;
  out.metadata = m.metadata;
  out.bytes = m.bytes;
  out.tensors.reserve(m.tensors.size() - consumed.size() + composites.size());
  for (const TensorRef& t : m.tensors)
    if (!consumed.contains(t.name)) out.tensors.push_back(t);
  for (Composite& c : composites) out.tensors.push_back(std::move(c.ref));
  std::sort(out.tensors.begin(), out.tensors.end(),
            [](const TensorRef& x, const TensorRef& y) { return x.name < y.name; });
  return out;
}

DequantSides dequant_sides(const Model& a, const Model& b, DequantMode mode) {
  if (mode == DequantMode::never) return {};
  const bool qa = has_quantized_weights(a), qb = has_quantized_weights(b);
  if (mode == DequantMode::always) return {qa, qb};
  return {qa && !qb, qb && !qa};
}

}  // namespace weightdiff::engine
