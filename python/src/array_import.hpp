// Arrays from Python as BufferTensors over their own memory: DLPack first
// (numpy >= 1.22 and torch export it; it is the only way to see torch's
// bf16/fp8), the buffer protocol otherwise. Nothing is copied or converted;
// what keeps each array's memory valid is held until the call is over.
#pragma once

#include <pybind11/pybind11.h>

#include <memory>
#include <string>
#include <vector>

#include "weightdiff/model.hpp"

namespace weightdiff::python {

// Keeps one imported array's memory valid (a consumed DLPack tensor or a
// buffer view). Destroyed with the GIL held: releasing may run Python code.
class ArrayKeeper {
 public:
  virtual ~ArrayKeeper() = default;
};

struct ImportedArrays {
  std::vector<BufferTensor> tensors;
  std::vector<std::unique_ptr<ArrayKeeper>> keepers;
};

// entries: a sequence of (name, array, dtype_name or None). dtype_name is
// the weightdiff dtype of an array that was reinterpreted, without a copy,
// as unsigned integers of the same width because its exporter cannot name
// its type (ml_dtypes' bf16/fp8 in numpy). Throws TypeError for a type
// weightdiff cannot read (object, complex, big-endian, ...) and ValueError
// for a non-contiguous array or one that is not in CPU memory.
ImportedArrays import_arrays(const pybind11::sequence& entries);

}  // namespace weightdiff::python
