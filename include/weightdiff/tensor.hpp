// TensorRef: where one tensor's bytes live. Loaders produce these after
// validating every extent against the file; nothing copies tensor data.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "weightdiff/dtype.hpp"
#include "weightdiff/storage.hpp"

namespace weightdiff {

struct Dequant;  // weightdiff/dequant.hpp

struct TensorRef {
  std::string name;
  DType dtype = DType::f32;
  std::vector<uint64_t> shape;  // row-major; empty = scalar
  uint64_t numel = 1;
  std::shared_ptr<const Storage> storage;  // null only when nbytes == 0
  uint64_t offset = 0;                     // byte offset of element 0 in storage
  uint64_t nbytes = 0;                     // == dtype_storage_bytes(dtype, numel)
  // Non-empty: a type the format defines but we cannot decode (its name in
  // the format); the pair is reported as unsupported_dtype, never read.
  std::string unsupported_dtype;
  // Non-empty: the name this tensor is paired by instead of `name`, which
  // stays the file's (an ONNX export's `onnx::MatMul_12` is matched as the
  // `model.layers.0.mlp.up_proj.weight` its consuming node names). Unique
  // among the model's names and matched_as names.
  std::string matched_as;
  // Stored as the transpose of the checkpoint's tensor by the exporter: an
  // ONNX MatMul's right input named after a Linear's weight holds Wᵀ of its
  // [out, in]. Lets --transpose auto pair a square one correctly, where the
  // shapes alone cannot tell.
  bool stored_transposed = false;
  // Set: a composite whose values are computed from several stored tensors
  // (--dequant: an FP8 weight times its scales, a GPTQ/AWQ int4 weight).
  // It then has no storage of its own: dtype is f64 (the values' type, as
  // the backends see them), nbytes the stored parts' bytes.
  std::shared_ptr<const Dequant> dequant;

  // The bytes of element 0: valid while `storage` is pinned.
  const std::byte* data() const noexcept;
  // The dtype as reports name it: SPEC §5's name, or the format's own name
  // for an unsupported one.
  std::string dtype_label() const;
};

// "4096x4096"; "" for a scalar.
std::string shape_string(const std::vector<uint64_t>& shape);

// Row-major coordinates of a flat index.
std::vector<uint64_t> unravel_index(uint64_t flat, const std::vector<uint64_t>& shape);

}  // namespace weightdiff
