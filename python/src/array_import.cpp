#include "array_import.hpp"

#include <dlpack/dlpack.h>

#include <optional>

#include "weightdiff/dtype.hpp"

namespace py = pybind11;

namespace weightdiff::python {
namespace {

// Type codes of DLPack 1.1 that Debian's dlpack.h (0.6) does not define yet;
// the values are fixed by the DLPack specification (torch and numpy use them).
constexpr uint8_t kDLBoolCode = 6;
constexpr uint8_t kDLFloat8_e4m3fnCode = 10;
constexpr uint8_t kDLFloat8_e4m3fnuzCode = 11;
constexpr uint8_t kDLFloat8_e5m2Code = 12;
constexpr uint8_t kDLFloat8_e5m2fnuzCode = 13;

class DlpackKeeper final : public ArrayKeeper {
 public:
  explicit DlpackKeeper(DLManagedTensor* t) : t_(t) {}
  ~DlpackKeeper() override {
    if (t_->deleter) t_->deleter(t_);
  }

 private:
  DLManagedTensor* t_;
};

class BufferKeeper final : public ArrayKeeper {
 public:
  BufferKeeper() = default;
  ~BufferKeeper() override {
    if (held_) PyBuffer_Release(&view_);
  }
  Py_buffer* view() { return &view_; }
  void held() { held_ = true; }

 private:
  Py_buffer view_{};
  bool held_ = false;
};

std::string quoted(const std::string& name) {
  std::string s = "tensor '";
  s += name;
  s += "': ";
  return s;
}

std::optional<DType> dlpack_dtype(const DLDataType& t) {
  if (t.lanes != 1) return std::nullopt;
  switch (t.code) {
    case kDLFloat:
      if (t.bits == 64) return DType::f64;
      if (t.bits == 32) return DType::f32;
      if (t.bits == 16) return DType::f16;
      return std::nullopt;
    case kDLBfloat: return t.bits == 16 ? std::optional(DType::bf16) : std::nullopt;
    case kDLInt:
      if (t.bits == 64) return DType::i64;
      if (t.bits == 32) return DType::i32;
      if (t.bits == 16) return DType::i16;
      if (t.bits == 8) return DType::i8;
      return std::nullopt;
    case kDLUInt:
      if (t.bits == 64) return DType::u64;
      if (t.bits == 32) return DType::u32;
      if (t.bits == 16) return DType::u16;
      if (t.bits == 8) return DType::u8;
      return std::nullopt;
    case kDLBoolCode: return t.bits == 8 ? std::optional(DType::boolean) : std::nullopt;
    case kDLFloat8_e4m3fnCode: return DType::f8e4m3fn;
    case kDLFloat8_e4m3fnuzCode: return DType::f8e4m3fnuz;
    case kDLFloat8_e5m2Code: return DType::f8e5m2;
    case kDLFloat8_e5m2fnuzCode: return DType::f8e5m2fnuz;
    default: return std::nullopt;
  }
}

// The dtype of the imported elements: the exporter's, or the one the Python
// layer names for an array it reinterpreted as unsigned integers.
DType element_dtype(const std::string& name, std::optional<DType> exported, bool exported_unsigned,
                    unsigned exported_bits, const std::string& exported_text,
                    const py::object& override_name) {
  if (override_name.is_none()) {
    if (!exported)
      throw py::type_error(quoted(name) + "unsupported element type " + exported_text +
                           " (weightdiff reads floats, bf16, fp8, integers and bool)");
    return *exported;
  }
  const auto text = override_name.cast<std::string>();
  const auto named = dtype_from_name(text);
  if (!named || dtype_is_block(*named) || dtype_bits(*named) < 8)
    throw py::type_error(quoted(name) + "unknown weightdiff dtype '" + text + "'");
  if (!exported_unsigned || exported_bits != dtype_bits(*named))
    throw py::type_error(quoted(name) + "a " + text + " array must be given as unsigned " +
                         std::to_string(dtype_bits(*named)) + "-bit integers, not " + exported_text);
  return *named;
}

std::vector<uint64_t> checked_shape(const std::string& name, int ndim, const int64_t* shape) {
  std::vector<uint64_t> out;
  for (int i = 0; i < ndim; ++i) {
    if (shape[i] < 0) throw py::value_error(quoted(name) + "negative dimension");
    out.push_back(static_cast<uint64_t>(shape[i]));
  }
  return out;
}

// Row-major and dense (strides in elements; a dimension of extent 1 may
// have any stride, an empty array is contiguous whatever its strides).
bool row_major(int ndim, const int64_t* shape, const int64_t* strides) {
  if (strides == nullptr) return true;
  for (int i = 0; i < ndim; ++i)
    if (shape[i] == 0) return true;  // numpy gives an empty array strides of 0
  int64_t expected = 1;
  for (int i = ndim - 1; i >= 0; --i) {
    if (shape[i] != 1 && strides[i] != expected) return false;
    expected *= shape[i];
  }
  return true;
}

const char* const kMakeContiguous =
    "non-contiguous array (a view, a transpose or a slice with steps): pass a contiguous copy "
    "(numpy.ascontiguousarray(x), tensor.contiguous())";

std::string dlpack_type_text(const DLDataType& t) {
  std::string s = "DLPack code ";
  s += std::to_string(t.code);
  s += ", ";
  s += std::to_string(t.bits);
  s += " bits";
  if (t.lanes != 1) s += ", " + std::to_string(t.lanes) + " lanes";
  return s;
}

// Imports through __dlpack__; false when the object does not export it
// (or refuses to: numpy does for read-only and for unknown dtypes), with the
// reason in `why`.
bool import_dlpack(const std::string& name, const py::object& array, const py::object& override_name,
                   ImportedArrays& out, std::string& why) {
  if (!py::hasattr(array, "__dlpack__")) return false;
  if (py::hasattr(array, "__dlpack_device__")) {
    const auto device = array.attr("__dlpack_device__")().cast<py::tuple>();
    const int type = device[0].cast<int>();
    if (type != kDLCPU && type != kDLCUDAHost)
      throw py::value_error(quoted(name) + "array is not in CPU memory (DLPack device type " +
                            std::to_string(type) + "): move it to the CPU first (tensor.cpu())");
  }
  py::object capsule;
  try {
    capsule = array.attr("__dlpack__")();
  } catch (py::error_already_set& e) {
    // BufferError, TypeError, RuntimeError: the buffer protocol may still work.
    why = e.what();
    return false;
  }
  PyObject* cap = capsule.ptr();
  if (!PyCapsule_IsValid(cap, "dltensor")) {
    why = "__dlpack__ did not return an unused DLPack capsule";
    return false;
  }
  auto* managed = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(cap, "dltensor"));
  // Consumed: the capsule's destructor no longer frees it, our keeper does.
  PyCapsule_SetName(cap, "used_dltensor");
  out.keepers.push_back(std::make_unique<DlpackKeeper>(managed));
  const DLTensor& t = managed->dl_tensor;
  if (t.device.device_type != kDLCPU && t.device.device_type != kDLCUDAHost)
    throw py::value_error(quoted(name) + "array is not in CPU memory: move it to the CPU first");
  const auto exported = dlpack_dtype(t.dtype);
  const DType dtype = element_dtype(name, exported, t.dtype.code == kDLUInt && t.dtype.lanes == 1,
                                    t.dtype.bits, dlpack_type_text(t.dtype), override_name);
  auto shape = checked_shape(name, t.ndim, t.shape);
  if (!row_major(t.ndim, t.shape, t.strides)) throw py::value_error(quoted(name) + kMakeContiguous);
  uint64_t numel = 1;
  for (const uint64_t d : shape) numel *= d;  // checked again by model_from_buffers
  const auto bytes = dtype_storage_bytes(dtype, numel);
  BufferTensor b;
  b.name = name;
  b.dtype = dtype;
  b.shape = std::move(shape);
  b.nbytes = bytes ? *bytes : 0;
  b.data = b.nbytes ? static_cast<const std::byte*>(t.data) + t.byte_offset : nullptr;
  out.tensors.push_back(std::move(b));
  return true;
}

// The struct-module format of a buffer as a weightdiff dtype.
std::optional<DType> buffer_dtype(const std::string& name, std::string_view format, size_t itemsize) {
  if (!format.empty() && (format[0] == '>' || format[0] == '!'))
    throw py::type_error(quoted(name) + "big-endian array: convert it to native byte order first");
  if (!format.empty() && (format[0] == '@' || format[0] == '=' || format[0] == '<'))
    format.remove_prefix(1);
  if (format.size() != 1) return std::nullopt;
  const char c = format[0];
  if (c == 'O') throw py::type_error(quoted(name) + "object arrays are not supported: give numeric arrays");
  if (c == 'd' && itemsize == 8) return DType::f64;
  if (c == 'f' && itemsize == 4) return DType::f32;
  if (c == 'e' && itemsize == 2) return DType::f16;
  if (c == '?' && itemsize == 1) return DType::boolean;
  const bool is_signed = c == 'b' || c == 'h' || c == 'i' || c == 'l' || c == 'q';
  const bool is_unsigned = c == 'B' || c == 'H' || c == 'I' || c == 'L' || c == 'Q';
  if (!is_signed && !is_unsigned) return std::nullopt;
  switch (itemsize) {
    case 1: return is_signed ? DType::i8 : DType::u8;
    case 2: return is_signed ? DType::i16 : DType::u16;
    case 4: return is_signed ? DType::i32 : DType::u32;
    case 8: return is_signed ? DType::i64 : DType::u64;
    default: return std::nullopt;
  }
}

void import_buffer(const std::string& name, const py::object& array, const py::object& override_name,
                   ImportedArrays& out, const std::string& dlpack_why) {
  auto keeper = std::make_unique<BufferKeeper>();
  if (PyObject_GetBuffer(array.ptr(), keeper->view(), PyBUF_STRIDES | PyBUF_FORMAT) != 0) {
    PyErr_Clear();
    std::string what = quoted(name) + "expected an array (DLPack or the buffer protocol), got " +
                       py::str(py::type::of(array).attr("__name__")).cast<std::string>();
    if (!dlpack_why.empty()) what += " (" + dlpack_why + ")";
    throw py::type_error(what);
  }
  keeper->held();
  Py_buffer* v = keeper->view();
  const std::string format = v->format ? v->format : "B";
  out.keepers.push_back(std::move(keeper));
  const auto exported = buffer_dtype(name, format, static_cast<size_t>(v->itemsize));
  const bool is_unsigned = exported && (*exported == DType::u8 || *exported == DType::u16 ||
                                        *exported == DType::u32 || *exported == DType::u64);
  const DType dtype = element_dtype(name, exported, is_unsigned, static_cast<unsigned>(v->itemsize * 8),
                                    "format '" + format + "'", override_name);
  if (!PyBuffer_IsContiguous(v, 'C')) throw py::value_error(quoted(name) + kMakeContiguous);
  std::vector<uint64_t> shape;
  for (int i = 0; i < v->ndim; ++i) shape.push_back(static_cast<uint64_t>(v->shape[i]));
  BufferTensor b;
  b.name = name;
  b.dtype = dtype;
  b.shape = std::move(shape);
  b.nbytes = static_cast<uint64_t>(v->len);
  b.data = b.nbytes ? v->buf : nullptr;
  out.tensors.push_back(std::move(b));
}

}  // namespace

ImportedArrays import_arrays(const py::sequence& entries) {
  ImportedArrays out;
  for (const py::handle entry : entries) {
    const auto item = py::reinterpret_borrow<py::tuple>(entry);
    const auto name = item[0].cast<std::string>();
    const py::object array = item[1];
    const py::object override_name = item[2];
    std::string why;
    if (!import_dlpack(name, array, override_name, out, why))
      import_buffer(name, array, override_name, out, why);
  }
  return out;
}

}  // namespace weightdiff::python
