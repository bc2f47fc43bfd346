// model_from_buffers: a catalog over caller-owned memory, checked as a
// loader checks a file (the bytes come from a caller, not from us).
#include <algorithm>

#include "formats/limits.hpp"
#include "core/checked.hpp"
#include "weightdiff/error.hpp"
#include "weightdiff/model.hpp"

namespace weightdiff {

Model model_from_buffers(const std::string& path, std::vector<BufferTensor> tensors) {
  if (tensors.size() > formats::kMaxTensors)
    throw Error(Errc::malformed, "more than " + std::to_string(formats::kMaxTensors) + " tensors", path);
  Model m;
  m.path = path;
  m.format = "memory";
  m.tensors.reserve(tensors.size());
  for (auto& b : tensors) {
    formats::check_tensor_name(b.name, path);
    uint64_t numel = 1;
    for (const uint64_t d : b.shape) {
      const auto n = core::checked_mul(numel, d);
      if (!n) throw Error(Errc::malformed, "shape product overflows 64 bits", path, b.name);
      numel = *n;
    }
    const auto need = dtype_storage_bytes(b.dtype, numel);
    if (!need || *need != b.nbytes) {
      std::string what = "buffer of " + std::to_string(b.nbytes) + " bytes for ";
      what += std::to_string(numel) + " ";
      what += dtype_name(b.dtype);
      what += " elements";
      if (need) what += " (needs " + std::to_string(*need) + ")";
      throw Error(Errc::malformed, what, path, b.name);
    }
    if (b.nbytes > 0 && b.data == nullptr)
      throw Error(Errc::malformed, "null buffer for a non-empty tensor", path, b.name);
    TensorRef t;
    t.name = std::move(b.name);
    t.dtype = b.dtype;
    t.shape = std::move(b.shape);
    t.numel = numel;
    t.nbytes = b.nbytes;
    if (b.nbytes > 0) t.storage = borrowed_storage(b.data, b.nbytes, path);
    const auto sum = core::checked_add(m.bytes, b.nbytes);
    if (!sum) throw Error(Errc::malformed, "total size overflows 64 bits", path);
    m.bytes = *sum;
    m.tensors.push_back(std::move(t));
  }
  std::sort(m.tensors.begin(), m.tensors.end(),
            [](const TensorRef& x, const TensorRef& y) { return x.name < y.name; });
  for (size_t i = 1; i < m.tensors.size(); ++i)
    if (m.tensors[i].name == m.tensors[i - 1].name)
      throw Error(Errc::conflict, "tensor given twice", path, m.tensors[i].name);
  return m;
}

}  // namespace weightdiff
