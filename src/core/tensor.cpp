#include "weightdiff/tensor.hpp"


namespace weightdiff {

const std::byte* TensorRef::data() const noexcept {
  return storage ? storage->data() + offset : nullptr;
}

std::string TensorRef::dtype_label() const {
  return unsupported_dtype.empty() ? std::string(dtype_name(dtype)) : unsupported_dtype;
}

std::string shape_string(const std::vector<uint64_t>& shape) {
  std::string s;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += 'x';
    s += std::to_string(shape[i]);
  }
  return s;
}

std::vector<uint64_t> unravel_index(uint64_t flat, const std::vector<uint64_t>& shape) {
  std::vector<uint64_t> idx(shape.size(), 0);
  for (size_t i = shape.size(); i-- > 0;) {
    if (shape[i] == 0) return idx;
    idx[i] = flat % shape[i];
    flat /= shape[i];
  }
  return idx;
}

}  // namespace weightdiff
