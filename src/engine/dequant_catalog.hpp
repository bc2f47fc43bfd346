// --dequant: a model's catalog with every quantized weight and the scale
// tensors it needs replaced by one composite tensor (weightdiff/dequant.hpp)
// named as the original checkpoint names that weight, so it pairs with it.
#pragma once

#include "weightdiff/dequant.hpp"
#include "weightdiff/model.hpp"

namespace weightdiff::engine {

// Whether m holds scale tensors next to their quantized weights (by name:
// an fp8 `P.weight` with `P.weight_scale_inv` or `P.weight_scale`, or GPTQ/AWQ
// `P.qweight` with `P.qzeros` and `P.scales`). Reads nothing.
bool has_quantized_weights(const Model& m);

// m with those groups composed: `P.weight` (fp8: the weight's own name and
// shape; GPTQ/AWQ: the Linear's [out, in]) computed from its parts, the
// parts themselves no longer listed. Throws Error(malformed) naming the
// tensor whose dtype or shape does not fit its group, Error(conflict) when
// a GPTQ/AWQ `P.weight` is stored as well. Whether GPTQ zero points are
// stored minus one comes from the metadata or the quantizer's config beside
// the model (formats/quant_config.hpp), read only when GPTQ tensors exist.
Model dequantized(const Model& m);

// Which sides --dequant composes: auto, the side holding quantized weights
// when the other holds none; always, each that holds them; never, neither.
struct DequantSides {
  bool a = false, b = false;
};
DequantSides dequant_sides(const Model& a, const Model& b, DequantMode mode);

}  // namespace weightdiff::engine
