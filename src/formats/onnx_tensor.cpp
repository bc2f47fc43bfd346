#include "formats/onnx_tensor.hpp"

#include <onnx/onnx_pb.h>  // defines ONNX_API, then includes onnx-ml.pb.h

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

#include "formats/limits.hpp"
#include "formats/onnx_types.hpp"
#include "core/checked.hpp"
#include "core/excerpt.hpp"
#include "io/paths.hpp"
#include "weightdiff/error.hpp"

namespace fs = std::filesystem;

namespace weightdiff::formats {
namespace {

constexpr std::array<uint32_t, 7> kValueFields = {kFloatData, kInt32Data, kStringData, kInt64Data,
                                                   kRawData, kDoubleData, kUint64Data};

// Where a value field's bytes are: how many times it occurs, its first
// occurrence and how many values it holds in all (counted without decoding).
struct ValueField {
  uint64_t occurrences = 0;
  wire::Field first;
  uint64_t values = 0;
};

// A TensorProto split in two: the value fields located in the file, and
// every other field copied out to be parsed by the generated class.
struct TensorWire {
  std::map<uint32_t, ValueField> values;
  onnx::TensorProto header;
};

bool is_value_field(uint32_t n) {
  return std::find(kValueFields.begin(), kValueFields.end(), n) != kValueFields.end();
}

// Values in one occurrence of a repeated field: packed or one at a time.
uint64_t count_values(const std::byte* base, const wire::Field& f, uint32_t number,
                      const std::string& file, const std::string& tensor) {
  const auto bad = [&](const std::string& what) { return Error(Errc::malformed, what, file, tensor); };
  const bool fixed32 = number == kFloatData, fixed64 = number == kDoubleData;
  if (number == kRawData || number == kStringData) {
    if (f.type != wire::kLength) throw bad("bad wire type for a bytes field");
    return 1;
  }
  if (f.type != wire::kLength) {  // unpacked: one value
    const uint8_t want = fixed32 ? wire::kFixed32 : fixed64 ? wire::kFixed64 : wire::kVarint;
    if (f.type != want) throw bad("bad wire type for a value field");
    return 1;
  }
  const uint64_t n = f.payload.size();
  if (fixed32 || fixed64) {
    const uint64_t width = fixed32 ? 4 : 8;
    if (n % width != 0) throw bad("packed field length is not a multiple of " + std::to_string(width));
    return n / width;
  }
  // Varints: each ends with the one byte whose high bit is clear.
  uint64_t count = 0;
  const auto* p = reinterpret_cast<const uint8_t*>(base + f.payload.begin);
  for (uint64_t i = 0; i < n; ++i) count += (p[i] & 0x80) == 0;
  if (n > 0 && (p[n - 1] & 0x80) != 0) throw bad("truncated packed varint");
  return count;
}

TensorWire split_tensor(const OnnxModelFiles& files, wire::Span span, const std::string& name) {
  const std::byte* base = files.model->data();
  TensorWire tw;
  std::string header_bytes;
  std::string deferred;  // a bad value field: reported once the name is known
  wire::FieldReader reader(base, span, files.path);
  wire::Field f;
  while (reader.next(f)) {
    if (!is_value_field(f.number)) {
      header_bytes.append(reinterpret_cast<const char*>(base + f.whole.begin), f.whole.size());
      continue;
    }
    auto& v = tw.values[f.number];
    if (v.occurrences++ == 0) v.first = f;
    if (!deferred.empty()) continue;
    try {
      const auto added = core::checked_add(v.values, count_values(base, f, f.number, files.path, name));
      if (!added) throw Error(Errc::malformed, "too many values", files.path, name);
      v.values = *added;
    } catch (const Error& e) {
      deferred = e.detail();
    }
  }
  const bool parsed = tw.header.ParseFromString(header_bytes);
  const std::string& named = name.empty() && parsed ? tw.header.name() : name;
  if (!parsed) throw Error(Errc::malformed, "not a valid TensorProto", files.path, named);
  if (!deferred.empty()) throw Error(Errc::malformed, deferred, files.path, named);
  return tw;
}

std::vector<uint64_t> tensor_shape(const google::protobuf::RepeatedField<int64_t>& dims,
                                   uint64_t& numel, const std::string& file,
                                   const std::string& name) {
  std::vector<uint64_t> shape;
  shape.reserve(static_cast<size_t>(dims.size()));
  numel = 1;
  for (const int64_t d : dims) {
    if (d < 0) throw Error(Errc::malformed, "negative dimension " + std::to_string(d), file, name);
    const auto n = core::checked_mul(numel, static_cast<uint64_t>(d));
    if (!n) throw Error(Errc::malformed, "element count overflows 64 bits", file, name);
    numel = *n;
    shape.push_back(static_cast<uint64_t>(d));
  }
  return shape;
}

uint64_t parse_decimal(const std::string& s, const char* key, const std::string& file,
                       const std::string& name) {
  uint64_t v = 0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size())
    throw Error(Errc::malformed, std::string("external data ") + key + " '" + core::excerpt(s) +
                                     "' is not a non-negative integer", file, name);
  return v;
}

// External data (SPEC §7): a safe relative location inside the model's
// folder (links may resolve into the allowed roots), offset and length within
// the file, and exactly the bytes the tensor needs.
void resolve_external(OnnxModelFiles& files, const onnx::TensorProto& t, TensorRef& ref) {
  const std::string& name = ref.name;
  std::optional<std::string> location, offset, length;
  for (const auto& e : t.external_data()) {
    const std::string& k = e.key();
    std::optional<std::string>* slot = k == "location" ? &location
                                       : k == "offset" ? &offset
                                       : k == "length" ? &length
                                                       : nullptr;
    if (slot == nullptr) {
      if (k == "checksum" || k == "basepath") continue;  // known, not needed to read
      throw Error(Errc::malformed, "unknown external_data key '" + core::excerpt(k) + "'", files.path, name);
    }
    if (*slot) throw Error(Errc::malformed, "external_data key '" + core::excerpt(k) + "' given twice", files.path, name);
    *slot = e.value();
  }
  if (!location) throw Error(Errc::malformed, "external data without a location", files.path, name);
  std::string display;
  std::shared_ptr<const MappedFile> mapped;
  try {  // the path rules name the file; the message names the tensor too
    const fs::path rel = io::safe_relative_path(*location, files.path);
    const fs::path target = files.dir / rel;
    display = target.string();
    auto& cached = files.external[rel.string()];
    if (!cached) cached = MappedFile::open_within(target.string(), files.roots, display);
    mapped = cached;
  } catch (const Error& e) {
    throw Error(e.code(), e.detail(), e.file(), name);
  }
  const uint64_t size = mapped->size();
  const uint64_t off = offset ? parse_decimal(*offset, "offset", files.path, name) : 0;
  if (off > size)
    throw Error(Errc::malformed, "external data offset " + std::to_string(off) +
                                     " is past the end of the file (" + std::to_string(size) + " bytes)",
                display, name);
  const uint64_t len = length ? parse_decimal(*length, "length", files.path, name) : size - off;
  if (len > size - off)
    throw Error(Errc::malformed, "external data [" + std::to_string(off) + ", +" + std::to_string(len) +
                                     ") runs past the end of the file (" + std::to_string(size) + " bytes)",
                display, name);
  if (len != ref.nbytes)
    throw Error(Errc::malformed, "external data holds " + std::to_string(len) + " bytes; " +
                                     std::to_string(ref.numel) + " elements of " +
                                     std::string(dtype_name(ref.dtype)) + " need " +
                                     std::to_string(ref.nbytes),
                display, name);
  ref.storage = mapped;
  ref.offset = off;
}

// Typed fields stored as varints (or unpacked fixed values) are decoded into
// memory; packed float_data/double_data in one run are little-endian already
// and stay in place.
void read_typed(const OnnxModelFiles& files, wire::Span span, uint32_t number,
                const ValueField& vf, const OnnxType& type, TensorRef& ref) {
  const std::string& name = ref.name;
  const uint64_t expected = type.value_bytes == 1 && dtype_bits(ref.dtype) == 4
                                ? ref.nbytes  // one value per packed byte
                                : ref.numel;
  if (vf.values != expected)
    throw Error(Errc::malformed, "holds " + std::to_string(vf.values) + " values in its typed field; " +
                                     "its shape needs " + std::to_string(expected),
                files.path, name);
  const std::byte* base = files.model->data();
  const bool fixed = number == kFloatData || number == kDoubleData;
  if (fixed && vf.occurrences == 1 && vf.first.type == wire::kLength) {
    ref.storage = files.model;
    ref.offset = vf.first.payload.begin;
    return;
  }
  std::vector<std::byte> bytes(ref.nbytes);  // <= 8x the field's bytes in the file
  uint64_t at = 0;
  // The counts above came from an earlier read of a mapping that another
  // process could rewrite: never trust them for the writes below.
  const auto room = [&](uint64_t n) {
    if (n > bytes.size() - at) throw Error(Errc::changed, "file changed while reading", files.path, name);
  };
  const auto store = [&](uint64_t raw) {
    if (!fixed && !(type.lo == 0 && type.hi == 0)) {
      const auto v = static_cast<int64_t>(raw);
      if (v < type.lo || v > type.hi)
        throw Error(Errc::malformed, "value " + std::to_string(v) + " out of range for " + type.name,
                    files.path, name);
    }
    room(type.value_bytes);
    std::memcpy(bytes.data() + at, &raw, type.value_bytes);  // little-endian host
    at += type.value_bytes;
  };
  wire::FieldReader reader(base, span, files.path);
  wire::Field f;
  while (reader.next(f)) {
    if (f.number != number) continue;
    if (f.type != wire::kLength) {
      store(f.value);
    } else if (fixed) {
      room(f.payload.size());
      std::memcpy(bytes.data() + at, base + f.payload.begin, f.payload.size());
      at += f.payload.size();
    } else {
      wire::PackedVarints values(base, f.payload, files.path);
      uint64_t v = 0;
      while (values.next(v)) store(v);
    }
  }
  if (at != bytes.size()) throw Error(Errc::changed, "file changed while reading", files.path, name);
  ref.storage = MappedFile::from_bytes(std::move(bytes), files.path);
  ref.offset = 0;
}

}  // namespace

std::string onnx_type_name(int64_t code) {
  const auto t = onnx_type(code);
  return t ? t->name : "";
}

TensorRef read_onnx_tensor(OnnxModelFiles& files, wire::Span span, const std::string& given_name) {
  TensorWire tw = split_tensor(files, span, given_name);
  const onnx::TensorProto& t = tw.header;
  TensorRef ref;
  ref.name = given_name.empty() ? t.name() : given_name;
  const std::string& name = ref.name;
  if (name.empty()) throw Error(Errc::malformed, "initializer without a name", files.path);
  check_tensor_name(name, files.path);
  ref.shape = tensor_shape(t.dims(), ref.numel, files.path, name);
  const auto type = onnx_type(t.data_type());
  if (!type) throw Error(Errc::malformed, "unknown data_type " + std::to_string(t.data_type()), files.path, name);
  if (t.has_segment()) throw Error(Errc::unsupported, "segmented tensors are not supported", files.path, name);
  if (!type->dtype) {  // STRING, COMPLEX, ...: listed, never read
    ref.unsupported_dtype = type->name;
    return ref;
  }
  ref.dtype = *type->dtype;
  const auto nbytes = core::storage_bytes(ref.numel, dtype_bits(ref.dtype));
  if (!nbytes) throw Error(Errc::malformed, "byte size overflows 64 bits", files.path, name);
  ref.nbytes = *nbytes;

  uint32_t inline_field = 0;
  for (const auto& [number, vf] : tw.values) {
    if (vf.occurrences == 0) continue;
    if (inline_field != 0) throw Error(Errc::malformed, "more than one data field", files.path, name);
    inline_field = number;
  }
  const bool external = t.data_location() == onnx::TensorProto::EXTERNAL;
  if (t.external_data_size() > 0 || external) {
    if (inline_field != 0) throw Error(Errc::malformed, "both inline and external data", files.path, name);
    if (!external)
      throw Error(Errc::malformed, "external_data given but data_location is not EXTERNAL", files.path, name);
    resolve_external(files, t, ref);
    return ref;
  }
  if (inline_field == 0) {
    if (ref.numel != 0) throw Error(Errc::malformed, "tensor holds no data", files.path, name);
    return ref;
  }
  const ValueField& vf = tw.values[inline_field];
  if (inline_field == kRawData) {
    if (vf.occurrences != 1) throw Error(Errc::malformed, "raw_data given twice", files.path, name);
    if (vf.first.payload.size() != ref.nbytes)
      throw Error(Errc::malformed, "raw_data holds " + std::to_string(vf.first.payload.size()) +
                                       " bytes; " + std::to_string(ref.numel) + " elements of " +
                                       std::string(dtype_name(ref.dtype)) + " need " +
                                       std::to_string(ref.nbytes),
                  files.path, name);
    ref.storage = files.model;
    ref.offset = vf.first.payload.begin;
    return ref;
  }
  if (inline_field != type->typed_field)
    throw Error(Errc::malformed, std::string("data_type ") + type->name + " cannot be stored in field " +
                                     std::to_string(inline_field),
                files.path, name);
  read_typed(files, span, inline_field, vf, *type, ref);
  return ref;
}

TensorRef read_onnx_sparse_tensor(OnnxModelFiles& files, wire::Span span, const std::string& given_name) {
  // SparseTensorProto: values (1) is a TensorProto holding the name and type;
  // dims (3) the dense shape. Only those are read.
  wire::FieldReader reader(files.model->data(), span, files.path);
  wire::Field f;
  std::string header_bytes;
  std::optional<wire::Span> values;
  while (reader.next(f)) {
    if (f.number == 1 && f.type == wire::kLength) values = f.payload;
    else if (f.number == 3)
      header_bytes.append(reinterpret_cast<const char*>(files.model->data() + f.whole.begin), f.whole.size());
  }
  onnx::SparseTensorProto sparse;
  if (!sparse.ParseFromString(header_bytes))
    throw Error(Errc::malformed, "not a valid SparseTensorProto", files.path, given_name);
  if (!values) throw Error(Errc::malformed, "sparse tensor without values", files.path, given_name);
  // The values tensor's own fields, without its bytes.
  TensorWire tw = split_tensor(files, *values, given_name);
  TensorRef ref;
  ref.name = given_name.empty() ? tw.header.name() : given_name;
  if (ref.name.empty()) throw Error(Errc::malformed, "sparse initializer without a name", files.path);
  check_tensor_name(ref.name, files.path);
  ref.shape = tensor_shape(sparse.dims(), ref.numel, files.path, ref.name);
  const auto type = onnx_type(tw.header.data_type());
  if (!type) throw Error(Errc::malformed, "unknown data_type " + std::to_string(tw.header.data_type()),
                         files.path, ref.name);
  ref.unsupported_dtype = std::string("sparse ") + type->name;
  return ref;
}

}  // namespace weightdiff::formats
