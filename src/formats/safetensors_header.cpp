#include "formats/safetensors_header.hpp"

#include <algorithm>
#include <string_view>

#include "core/checked.hpp"
#include "core/excerpt.hpp"
#include "formats/limits.hpp"

namespace weightdiff::formats {
namespace {

struct DTypeSpec {
  std::optional<DType> type;  // nullopt: defined by the format, not decodable here
  unsigned bits;
};

// Every dtype string the safetensors format defines.
std::optional<DTypeSpec> safetensors_dtype(const std::string& s) {
  static const std::pair<const char*, DTypeSpec> kTable[] = {
      {"F64", {DType::f64, 64}},        {"F32", {DType::f32, 32}},
      {"F16", {DType::f16, 16}},        {"BF16", {DType::bf16, 16}},
      {"F8_E4M3", {DType::f8e4m3fn, 8}}, {"F8_E5M2", {DType::f8e5m2, 8}},
      {"I64", {DType::i64, 64}},        {"I32", {DType::i32, 32}},
      {"I16", {DType::i16, 16}},        {"I8", {DType::i8, 8}},
      {"U64", {DType::u64, 64}},        {"U32", {DType::u32, 32}},
      {"U16", {DType::u16, 16}},        {"U8", {DType::u8, 8}},
      {"BOOL", {DType::boolean, 8}},
      // Defined by newer safetensors, not decoded (yet): reported as unsupported_dtype.
      {"F8_E8M0", {std::nullopt, 8}},   {"F6_E2M3", {std::nullopt, 6}},
      {"F6_E3M2", {std::nullopt, 6}},   {"F4", {std::nullopt, 4}},
      {"C64", {std::nullopt, 64}},
  };
  for (const auto& [name, spec] : kTable)
    if (s == name) return spec;
  return std::nullopt;
}

// How a message quotes a value that should have been an unsigned integer:
// a scalar as JSON text (cut), anything else by its type, never dumped
// whole (a hostile value may nest deeply).
template <class T>
std::string scalar_text(const T& v) {
  return core::excerpt(nlohmann::json(v).dump(), 40);
}
std::string container_text(bool array) { return array ? "a JSON array" : "a JSON object"; }

Error not_uint(const std::string& what, const std::string& got, const std::string& display,
               const std::string& tensor) {
  return Error(Errc::malformed, what + " must be a non-negative integer, got " + got, display,
               tensor);
}

}  // namespace

SafetensorsHeaderScan::SafetensorsHeaderScan(std::shared_ptr<const MappedFile> file,
                                             uint64_t data_start)
    : file_(std::move(file)), data_start_(data_start) {
  track_top_keys_ = false;  // tensor names: sorted in check(), duplicates found there
}

bool SafetensorsHeaderScan::start_object(std::size_t n) {
  const size_t d = depth();
  if (!JsonScan::start_object(n)) return false;
  if (d == 0) top_object_ = true;
  else container(d, false);
  return true;
}

bool SafetensorsHeaderScan::end_object() {
  const size_t d = depth();
  JsonScan::end_object();
  if (d == 1 && top_object_ && open_entry_) finish_entry();
  return true;
}

bool SafetensorsHeaderScan::start_array(std::size_t n) {
  const size_t d = depth();
  if (!JsonScan::start_array(n)) return false;
  container(d, true);
  return true;
}

bool SafetensorsHeaderScan::key(string_t& k) {
  const size_t d = depth();
  JsonScan::key(k);
  if (!top_object_) return true;
  if (d == 1) {
    if (open_entry_) finish_entry();
    open_entry_ = true;
    raw_.name = k;
    raw_.seq = keys_seen();
    raw_.metadata = k == "__metadata__";
    raw_.object = false;
    raw_.field = Field::other;
    raw_.dtype = raw_.shape = raw_.offsets = Kind::absent;
    raw_.dims.clear();
    raw_.bad_dim.reset();
    raw_.n_offsets = 0;
    raw_.bad_off[0].reset();
    raw_.bad_off[1].reset();
    raw_.meta.clear();
  } else if (d == 2 && raw_.object) {
    if (raw_.metadata) {
      raw_.meta.emplace_back(k, std::nullopt);
    } else {
      raw_.field = k == "dtype"          ? Field::dtype
                   : k == "shape"        ? Field::shape
                   : k == "data_offsets" ? Field::offsets
                                         : Field::other;
    }
  }
  return true;
}

bool SafetensorsHeaderScan::null() {
  const size_t d = depth();
  if (!JsonScan::null()) return false;
  scalar(d, [] { return scalar_text(nullptr); }, nullptr, nullptr);
  return true;
}

bool SafetensorsHeaderScan::boolean(bool v) {
  const size_t d = depth();
  if (!JsonScan::boolean(v)) return false;
  scalar(d, [v] { return scalar_text(v); }, nullptr, nullptr);
  return true;
}

bool SafetensorsHeaderScan::number_integer(number_integer_t v) {
  const size_t d = depth();
  if (!JsonScan::number_integer(v)) return false;
  scalar(d, [v] { return scalar_text(v); }, nullptr, nullptr);
  return true;
}

bool SafetensorsHeaderScan::number_unsigned(number_unsigned_t v) {
  const size_t d = depth();
  if (!JsonScan::number_unsigned(v)) return false;
  const uint64_t u = v;
  scalar(d, [v] { return scalar_text(v); }, nullptr, &u);
  return true;
}

bool SafetensorsHeaderScan::number_float(number_float_t v, const string_t& s) {
  const size_t d = depth();
  if (!JsonScan::number_float(v, s)) return false;
  scalar(d, [v] { return scalar_text(v); }, nullptr, nullptr);
  return true;
}

bool SafetensorsHeaderScan::string(string_t& v) {
  const size_t d = depth();
  if (!JsonScan::string(v)) return false;
  scalar(d, [&v] { return scalar_text(v); }, &v, nullptr);
  return true;
}

// Depth 1: a top-level key's value; 2: a value inside an entry (or the
// metadata) object; 3: an element of an entry's shape or data_offsets.
void SafetensorsHeaderScan::container(size_t d, bool array) {
  if (!top_object_) return;
  if (d == 1) {
    raw_.object = !array;
  } else if (d == 2 && raw_.object && !raw_.metadata) {
    const Kind k = array ? Kind::array : Kind::other;
    if (raw_.field == Field::dtype) raw_.dtype = Kind::other;
    if (raw_.field == Field::shape) raw_.shape = k;
    if (raw_.field == Field::offsets) raw_.offsets = k;
  } else if (d == 3 && raw_.object && !raw_.metadata) {
    if (raw_.field == Field::shape && raw_.shape == Kind::array && !raw_.bad_dim)
      raw_.bad_dim = container_text(array);
    if (raw_.field == Field::offsets && raw_.offsets == Kind::array) {
      const size_t i = raw_.n_offsets++;
      if (i < 2) raw_.bad_off[i] = container_text(array);
    }
  }
}

template <class Got>
void SafetensorsHeaderScan::scalar(size_t d, Got&& got, const std::string* text,
                                   const uint64_t* uint) {
  if (!top_object_ || !raw_.object) return;  // depth 1 leaves `object` false
  if (d == 2 && raw_.metadata) {
    if (text) raw_.meta.back().second = *text;
  } else if (d == 2) {
    if (raw_.field == Field::dtype) {
      raw_.dtype = text ? Kind::string : Kind::other;
      if (text) raw_.dtype_text = *text;
    }
    if (raw_.field == Field::shape) raw_.shape = Kind::other;
    if (raw_.field == Field::offsets) raw_.offsets = Kind::other;
  } else if (d == 3 && !raw_.metadata) {
    if (raw_.field == Field::shape && raw_.shape == Kind::array && !raw_.bad_dim) {
      if (uint) raw_.dims.push_back(*uint);
      else raw_.bad_dim = got();
    }
    if (raw_.field == Field::offsets && raw_.offsets == Kind::array) {
      const size_t i = raw_.n_offsets++;
      if (i < 2) {
        if (uint) raw_.off[i] = *uint;
        else raw_.bad_off[i] = got();
      }
    }
  }
}

// The checks a DOM entry got, in the same order.
TensorRef SafetensorsHeaderScan::validate(Extent& e) const {
  const std::string& disp = file_->display_path();
  const std::string& name = raw_.name;
  check_tensor_name(name, disp);
  if (!raw_.object) throw Error(Errc::malformed, "entry is not an object", disp, name);
  if (raw_.dtype == Kind::absent || raw_.shape == Kind::absent || raw_.offsets == Kind::absent)
    throw Error(Errc::malformed, "entry needs dtype, shape and data_offsets", disp, name);
  if (raw_.dtype != Kind::string) throw Error(Errc::malformed, "dtype is not a string", disp, name);
  const auto spec = safetensors_dtype(raw_.dtype_text);
  if (!spec)
    throw Error(Errc::malformed, "unknown dtype '" + core::excerpt(raw_.dtype_text) + "'", disp, name);

  TensorRef ref;
  ref.name = name;
  if (raw_.shape != Kind::array) throw Error(Errc::malformed, "shape is not an array", disp, name);
  uint64_t numel = 1;
  for (const uint64_t dim : raw_.dims) {
    const auto n = core::checked_mul(numel, dim);
    if (!n) throw Error(Errc::malformed, "shape product overflows 64 bits", disp, name);
    numel = *n;
  }
  if (raw_.bad_dim) throw not_uint("shape dimension", *raw_.bad_dim, disp, name);
  ref.shape = raw_.dims;
  ref.numel = numel;
  const auto nbytes_opt = core::storage_bytes(numel, spec->bits);
  if (!nbytes_opt) throw Error(Errc::malformed, "byte size overflows 64 bits", disp, name);
  const uint64_t nbytes = *nbytes_opt;
  if (spec->type) ref.dtype = *spec->type;
  else ref.unsupported_dtype = raw_.dtype_text;

  if (raw_.offsets != Kind::array || raw_.n_offsets != 2)
    throw Error(Errc::malformed, "data_offsets is not a pair [begin, end]", disp, name);
  if (raw_.bad_off[0]) throw not_uint("data_offsets begin", *raw_.bad_off[0], disp, name);
  if (raw_.bad_off[1]) throw not_uint("data_offsets end", *raw_.bad_off[1], disp, name);
  e.begin = raw_.off[0];
  e.end = raw_.off[1];
  if (e.end < e.begin) throw Error(Errc::malformed, "data_offsets end < begin", disp, name);
  if (e.end - e.begin != nbytes)
    throw Error(Errc::malformed,
                "holds " + std::to_string(e.end - e.begin) + " bytes, its dtype and shape need " +
                    std::to_string(nbytes),
                disp, name);
  ref.nbytes = nbytes;
  ref.offset = data_start_ + e.begin;  // checked against the file size by the caller
  ref.storage = file_;
  return ref;
}

void SafetensorsHeaderScan::finish_entry() {
  open_entry_ = false;
  if (raw_.metadata) {
    metadata_seqs_.push_back(raw_.seq);
    finish_metadata();
    return;
  }
  Extent e{0, 0, raw_.seq};
  try {
    TensorRef ref = validate(e);
    tensors_.push_back(std::move(ref));
    extents_.push_back(e);
  } catch (const Error& err) {
    failed_.emplace_back(raw_.name, raw_.seq);
    if (!failure_ || raw_.name < failure_name_) failure_ = err, failure_name_ = raw_.name;
  }
}

void SafetensorsHeaderScan::finish_metadata() {
  const std::string& disp = file_->display_path();
  const auto fail = [&](const std::string& what) {
    if (!failure_ || raw_.name < failure_name_)
      failure_ = Error(Errc::malformed, what, disp), failure_name_ = raw_.name;
  };
  if (!raw_.object) return fail("__metadata__ is not an object");
  std::sort(raw_.meta.begin(), raw_.meta.end(),
            [](const auto& x, const auto& y) { return x.first < y.first; });
  for (const auto& [k, v] : raw_.meta)
    if (!v) return fail("__metadata__ value of '" + core::excerpt(k) + "' is not a string");
  metadata_.clear();
  for (auto& [k, v] : raw_.meta) metadata_.emplace_hint(metadata_.end(), std::move(k), std::move(*v));
}

void SafetensorsHeaderScan::check() {
  const std::string& disp = file_->display_path();
  if (top_object_) {
    // Every top-level key, in name order (text order among equal names):
    // a name given twice is a duplicate key at its second occurrence.
    struct Key {
      std::string_view name;
      uint64_t seq;
    };
    std::vector<Key> keys;
    keys.reserve(tensors_.size() + failed_.size() + metadata_seqs_.size());
    for (size_t i = 0; i < tensors_.size(); ++i) keys.push_back({tensors_[i].name, extents_[i].seq});
    for (const auto& [name, seq] : failed_) keys.push_back({name, seq});
    const auto before = [](const Key& x, const Key& y) {
      const int c = x.name.compare(y.name);
      return c != 0 ? c < 0 : x.seq < y.seq;
    };
    // Headers are mostly written in name order: then only the metadata key
    // needs placing, not a sort of 10^5 names.
    if (!std::is_sorted(keys.begin(), keys.end(), before)) std::sort(keys.begin(), keys.end(), before);
    for (const uint64_t seq : metadata_seqs_) {
      const Key k{"__metadata__", seq};
      keys.insert(std::upper_bound(keys.begin(), keys.end(), k, before), k);
    }
    for (size_t i = 1; i < keys.size(); ++i)
      if (keys[i].name == keys[i - 1].name) note_duplicate(keys[i].name, keys[i].seq);
  }
  if (const auto v = verdict(); !v.error.empty()) throw Error(v.code, v.error, disp);
  if (!top_object_) throw Error(Errc::malformed, "header is not a JSON object", disp);
  if (failure_) throw *failure_;
  order_.resize(tensors_.size());
  for (size_t i = 0; i < order_.size(); ++i) order_[i] = static_cast<uint32_t>(i);
  const auto by_name = [&](uint32_t x, uint32_t y) { return tensors_[x].name < tensors_[y].name; };
  if (!std::is_sorted(order_.begin(), order_.end(), by_name))
    std::sort(order_.begin(), order_.end(), by_name);
}

std::vector<TensorRef> SafetensorsHeaderScan::take_tensors(std::vector<Extent>& extents) {
  std::vector<TensorRef> out;
  out.reserve(order_.size());
  extents.clear();
  extents.reserve(order_.size());
  for (const uint32_t i : order_) {
    out.push_back(std::move(tensors_[i]));
    extents.push_back(extents_[i]);
  }
  std::vector<TensorRef>().swap(tensors_);
  return out;
}

}  // namespace weightdiff::formats
