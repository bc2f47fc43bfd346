#include "formats/safetensors.hpp"

#include <algorithm>
#include <cstring>
#include <optional>

#include "formats/json_header.hpp"
#include "formats/limits.hpp"
#include "core/checked.hpp"
#include "core/excerpt.hpp"
#include "weightdiff/error.hpp"

namespace weightdiff::formats {
namespace {

constexpr uint64_t kMaxHeaderBytes = 100'000'000;  // as the reference implementation

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

uint64_t read_le64(const std::byte* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

std::map<std::string, std::string> parse_metadata(const nlohmann::json& v,
                                                  const std::string& display) {
  if (!v.is_object()) throw Error(Errc::malformed, "__metadata__ is not an object", display);
  std::map<std::string, std::string> out;
  for (const auto& [k, val] : v.items()) {
    if (!val.is_string())
      throw Error(Errc::malformed, "__metadata__ value of '" + core::excerpt(k) + "' is not a string", display);
    out.emplace(k, val.get<std::string>());
  }
  return out;
}

struct Entry {
  TensorRef ref;
  uint64_t begin, end;  // relative to the data section
};

Entry parse_entry(const std::string& name, const nlohmann::json& v,
                  const std::shared_ptr<const MappedFile>& file, uint64_t data_start) {
  const std::string& disp = file->display_path();
  check_tensor_name(name, disp);
  if (!v.is_object()) throw Error(Errc::malformed, "entry is not an object", disp, name);
  const auto dt = v.find("dtype");
  const auto sh = v.find("shape");
  const auto off = v.find("data_offsets");
  if (dt == v.end() || sh == v.end() || off == v.end())
    throw Error(Errc::malformed, "entry needs dtype, shape and data_offsets", disp, name);
  if (!dt->is_string()) throw Error(Errc::malformed, "dtype is not a string", disp, name);
  const auto spec = safetensors_dtype(dt->get<std::string>());
  if (!spec) throw Error(Errc::malformed, "unknown dtype '" + core::excerpt(dt->get<std::string>()) + "'", disp, name);

  Entry e;
  e.ref.name = name;
  if (!sh->is_array()) throw Error(Errc::malformed, "shape is not an array", disp, name);
  uint64_t numel = 1;
  for (const auto& d : *sh) {
    const uint64_t dim = json_uint(d, "shape dimension", disp, name);
    const auto n = core::checked_mul(numel, dim);
    if (!n) throw Error(Errc::malformed, "shape product overflows 64 bits", disp, name);
    numel = *n;
    e.ref.shape.push_back(dim);
  }
  e.ref.numel = numel;
  const auto nbytes_opt = core::storage_bytes(numel, spec->bits);
  if (!nbytes_opt) throw Error(Errc::malformed, "byte size overflows 64 bits", disp, name);
  const uint64_t nbytes = *nbytes_opt;
  if (spec->type) {
    e.ref.dtype = *spec->type;
  } else {
    e.ref.unsupported_dtype = dt->get<std::string>();
  }

  if (!off->is_array() || off->size() != 2)
    throw Error(Errc::malformed, "data_offsets is not a pair [begin, end]", disp, name);
  e.begin = json_uint((*off)[0], "data_offsets begin", disp, name);
  e.end = json_uint((*off)[1], "data_offsets end", disp, name);
  if (e.end < e.begin) throw Error(Errc::malformed, "data_offsets end < begin", disp, name);
  if (e.end - e.begin != nbytes)
    throw Error(Errc::malformed,
                "holds " + std::to_string(e.end - e.begin) + " bytes, its dtype and shape need " +
                    std::to_string(nbytes),
                disp, name);
  e.ref.nbytes = nbytes;
  e.ref.offset = data_start + e.begin;  // checked against the file size by the caller
  e.ref.storage = file;
  return e;
}

}  // namespace

bool looks_like_safetensors(const MappedFile& file) noexcept {
  if (file.size() < 9) return false;
  const uint64_t n = read_le64(file.data());
  return n >= 2 && n <= kMaxHeaderBytes && n <= file.size() - 8 &&
         static_cast<char>(file.data()[8]) == '{';
}

SafetensorsFile parse_safetensors(std::shared_ptr<const MappedFile> file) {
  const std::string& disp = file->display_path();
  if (file->size() < 8)
    throw Error(Errc::malformed,
                "file is " + std::to_string(file->size()) +
                    " bytes, too short for a safetensors header",
                disp);
  const uint64_t header_len = read_le64(file->data());
  if (header_len > kMaxHeaderBytes)
    throw Error(Errc::malformed,
                "header length " + std::to_string(header_len) + " exceeds the 100000000-byte limit",
                disp);
  if (header_len > file->size() - 8)
    throw Error(Errc::malformed,
                "header length " + std::to_string(header_len) + " runs past the end of the file (" +
                    std::to_string(file->size()) + " bytes)",
                disp);
  const std::string_view text(reinterpret_cast<const char*>(file->data()) + 8, header_len);
  const nlohmann::json header = parse_strict_json(text, disp);
  if (!header.is_object()) throw Error(Errc::malformed, "header is not a JSON object", disp);

  const uint64_t data_start = 8 + header_len;
  const uint64_t data_size = file->size() - data_start;
  SafetensorsFile out;
  std::vector<Entry> entries;
  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      out.metadata = parse_metadata(value, disp);
      continue;
    }
    entries.push_back(parse_entry(key, value, file, data_start));
  }

  // The tensors must tile the data section exactly: contiguous from 0, no gap,
  // no overlap, nothing after the last one.
  std::vector<const Entry*> by_offset;
  for (const auto& e : entries) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(), [](const Entry* x, const Entry* y) {
    return x->begin != y->begin ? x->begin < y->begin : x->end < y->end;
  });
  uint64_t expected = 0;
  for (const Entry* e : by_offset) {
    if (e->begin != expected)
      throw Error(Errc::malformed,
                  "data_offsets begin at " + std::to_string(e->begin) + ", expected " +
                      std::to_string(expected) + " (tensors must be contiguous from 0)",
                  disp, e->ref.name);
    expected = e->end;
  }
  if (expected > data_size)
    throw Error(Errc::malformed,
                "file is shorter than its header says: data section has " +
                    std::to_string(data_size) + " bytes, tensors need " + std::to_string(expected),
                disp);
  if (expected < data_size)
    throw Error(Errc::malformed,
                std::to_string(data_size - expected) + " bytes after the last tensor", disp);

  for (auto& e : entries) out.tensors.push_back(std::move(e.ref));
  return out;
}

}  // namespace weightdiff::formats
