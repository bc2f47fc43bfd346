#include "formats/gguf.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <unordered_map>
#include <vector>

#include "core/excerpt.hpp"
#include "formats/gguf_metadata.hpp"
#include "formats/gguf_reader.hpp"
#include "formats/gguf_types.hpp"
#include "formats/limits.hpp"
#include "core/checked.hpp"
#include "weightdiff/error.hpp"

namespace weightdiff::formats {
namespace {

constexpr char kMagic[4] = {'G', 'G', 'U', 'F'};
constexpr uint32_t kMaxDims = 4;  // GGML_MAX_DIMS
constexpr uint64_t kI64Max = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
// The fewest bytes a tensor info takes: name length, n_dims, type, offset.
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 4 + 8;
// ... and a key/value: key length, value type, a one-byte value.
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;

struct Info {
  TensorRef ref;
  uint64_t begin = 0, end = 0;  // relative to the data section
};

// Versions 2 and 3 share one layout (v3 only allowed big-endian files,
// which we do not read); v1 had 32-bit counts and lengths.
void check_version(uint32_t v, const std::string& file) {
  if (v == 2 || v == 3) return;
  if (v == 1) throw Error(Errc::unsupported, "GGUF version 1 is not supported (versions 2 and 3 are)", file);
  // A big-endian file's version read little-endian: 0x03000000.
  if ((v & 0xFFFF) == 0 && (v >> 24) >= 1 && (v >> 24) <= 3)
    throw Error(Errc::unsupported, "big-endian GGUF is not supported (version field reads " + std::to_string(v) + ")",
                file);
  throw Error(Errc::malformed, "GGUF version " + std::to_string(v) + " is not defined (2 and 3 are)", file);
}

// A count from the header, bounded by what the rest of the file can hold.
uint64_t read_count(GgufReader& r, const char* what, uint64_t min_bytes_each) {
  const uint64_t n = r.u64(std::string(what));
  if (n > kI64Max) r.fail(std::string(what) + " is negative (" + std::to_string(static_cast<int64_t>(n)) + ")");
  if (n > r.remaining() / min_bytes_each) {
    std::string msg = std::string(what) + " " + std::to_string(n) + " is more than the ";
    msg += std::to_string(r.remaining()) + " bytes that follow can hold (";
    msg += std::to_string(min_bytes_each) + " bytes each at least)";
    r.fail(msg);
  }
  return n;
}

// Elements in ne[0..n) (0 when a dimension is), or nullopt past int64.
std::optional<uint64_t> element_count(const uint64_t* ne, uint32_t n) {
  uint64_t numel = 1;
  for (uint32_t j = 0; j < n; ++j)
    if (ne[j] == 0) return 0;
  for (uint32_t j = 0; j < n; ++j) {
    const auto p = core::checked_mul(numel, ne[j]);
    if (!p || *p > kI64Max) return std::nullopt;
    numel = *p;
  }
  return numel;
}

Info read_tensor_info(GgufReader& r, uint64_t index, uint32_t alignment,
                      const std::shared_ptr<const MappedFile>& file) {
  Info info;
  const std::string where = "tensor info " + std::to_string(index);
  const std::string_view name_bytes = r.string(where + " name");
  check_tensor_name(name_bytes, r.file());  // before copying: a name may be the file's size
  info.ref.name = std::string(name_bytes);
  const std::string& name = info.ref.name;

  const uint32_t n_dims = r.u32("n_dims", name);
  // 0 dimensions: ggml reads a scalar (every ne is 1); so do we.
  if (n_dims > kMaxDims)
    r.fail("has " + std::to_string(n_dims) + " dimensions; GGUF allows at most 4", name);
  uint64_t ne[kMaxDims] = {1, 1, 1, 1};
  for (uint32_t j = 0; j < n_dims; ++j) {
    const std::string dim = "ne[" + std::to_string(j) + "]";
    ne[j] = r.u64(dim, name);
    if (ne[j] > kI64Max)
      r.fail(dim + " is negative (" + std::to_string(static_cast<int64_t>(ne[j])) + ")", name);
  }
  const auto numel = element_count(ne, n_dims);
  if (!numel) r.fail("the product of its dimensions overflows int64", name);
  info.ref.numel = *numel;
  // GGUF lists dimensions fastest-varying first: row-major is the reverse.
  for (uint32_t j = n_dims; j-- > 0;) info.ref.shape.push_back(ne[j]);

  const uint32_t type_id = r.u32("type", name);
  const auto type = ggml_type(type_id);
  if (!type) r.fail("unknown ggml type " + std::to_string(type_id), name);
  // Blocks run along rows (ne[0]); an empty row holds no block to decode.
  if (type->block_elems > 1 && (ne[0] == 0 || ne[0] % type->block_elems != 0)) {
    std::string msg = "ne[0] = " + std::to_string(ne[0]) + " is not a positive multiple of the ";
    msg += type->name;
    msg += " block size " + std::to_string(type->block_elems);
    r.fail(msg, name);
  }
  // Whole blocks of the rows, times the other dimensions: no overflow once
  // numel fits, unless block_bytes > block_elems (a plain type), checked.
  const auto nbytes = core::checked_mul(*numel / type->block_elems, type->block_bytes);
  if (!nbytes) r.fail("byte size overflows 64 bits", name);
  info.ref.nbytes = *nbytes;
  if (type->dtype) info.ref.dtype = *type->dtype;
  else info.ref.unsupported_dtype = type->name;

  info.begin = r.u64("data offset", name);
  if (info.begin % alignment != 0) {
    std::string msg = "data offset " + std::to_string(info.begin);
    msg += " is not a multiple of the alignment " + std::to_string(alignment);
    r.fail(msg, name);
  }
  const auto end = core::checked_add(info.begin, info.ref.nbytes);
  if (!end) r.fail("data offset + byte size overflows 64 bits", name);
  info.end = *end;
  if (info.ref.nbytes > 0) info.ref.storage = file;  // offset set once the data section is known
  return info;
}

std::string extent_text(uint64_t begin, uint64_t end) {
  return "bytes [" + std::to_string(begin) + ", " + std::to_string(end) + ")";
}

// The extents, sorted, neither overlap nor leave the file (ggml checks them
// against the data it reads into memory; with a mapping we must, or a read
// past the end of the file is SIGBUS).
void check_extents(const std::vector<Info>& infos, uint64_t data_start, const GgufReader& r) {
  const uint64_t data_size = r.size() > data_start ? r.size() - data_start : 0;
  std::vector<const Info*> sorted;
  sorted.reserve(infos.size());
  for (const auto& i : infos) sorted.push_back(&i);
  std::sort(sorted.begin(), sorted.end(), [](const Info* x, const Info* y) {
    return x->begin != y->begin ? x->begin < y->begin : x->end < y->end;
  });
  const Info* prev = nullptr;
  for (const Info* i : sorted) {
    if (prev != nullptr && i->begin < prev->end) {
      std::string msg = extent_text(i->begin, i->end) + " of the data section overlap tensor '";
      msg += core::excerpt(prev->ref.name) + "' (" + extent_text(prev->begin, prev->end) + ")";
      r.fail(msg, i->ref.name);
    }
    if (i->end > data_size) {
      std::string msg = extent_text(i->begin, i->end) + " of the data section run past the end of the file (";
      msg += "the data section starts at byte " + std::to_string(data_start) + " and holds ";
      msg += std::to_string(data_size) + " bytes)";
      r.fail(msg, i->ref.name);
    }
    prev = i;
  }
}

}  // namespace

bool looks_like_gguf(const MappedFile& file) noexcept {
  return file.size() >= 4 && std::memcmp(file.data(), kMagic, 4) == 0;
}

Model open_gguf(std::shared_ptr<const MappedFile> file) {
  const std::string& path = file->display_path();
  GgufReader r(file->data(), file->size(), path);
  r.need(4, "magic");
  if (std::memcmp(r.at(0), kMagic, 4) != 0) {
    std::string msg = "not a GGUF file: magic '";
    msg += core::excerpt(std::string_view(reinterpret_cast<const char*>(r.at(0)), 4));
    msg += "', expected 'GGUF'";
    r.fail(msg);
  }
  r.skip(4, "magic");
  const uint32_t version = r.u32("version");
  check_version(version, path);
  const uint64_t n_tensors = read_count(r, "tensor count", kMinTensorInfoBytes);
  const uint64_t n_kv = read_count(r, "metadata key count", kMinKvBytes);
  if (n_tensors > kMaxTensors)
    throw Error(Errc::unsupported,
                "holds " + std::to_string(n_tensors) + " tensors; at most " + std::to_string(kMaxTensors) +
                    " per model are supported",
                path);

  GgufMetadata meta = read_gguf_metadata(r, n_kv);
  std::vector<Info> infos;
  infos.reserve(n_tensors);  // bounded by the file's size (read_count)
  std::unordered_map<std::string, uint64_t> index_of;
  for (uint64_t i = 0; i < n_tensors; ++i) {
    infos.push_back(read_tensor_info(r, i, meta.alignment, file));
    const auto [it, fresh] = index_of.emplace(infos.back().ref.name, i);
    if (!fresh)
      throw Error(Errc::conflict,
                  "tensor name defined twice (tensor infos " + std::to_string(it->second) + " and " +
                      std::to_string(i) + ")",
                  path, infos.back().ref.name);
  }
  // The data section starts at the next multiple of the alignment.
  const uint64_t header_end = r.pos();
  const auto data_start_opt =
      core::checked_add(header_end, (meta.alignment - header_end % meta.alignment) % meta.alignment);
  if (!data_start_opt) r.fail("data section start overflows 64 bits");
  const uint64_t data_start = *data_start_opt;
  check_extents(infos, data_start, r);

  Model m;
  m.path = path;
  m.format = "gguf";
  m.metadata = std::move(meta.entries);
  // The format's own version; a file key named "version" alone would be
  // shadowed (keys are hierarchical: "general.version" is the usual one).
  m.metadata["gguf.version"] = std::to_string(version);
  m.tensors.reserve(infos.size());
  for (auto& i : infos) {
    if (i.ref.storage) i.ref.offset = data_start + i.begin;  // inside the file: check_extents
    m.tensors.push_back(std::move(i.ref));
  }
  file->release_touched(0, header_end);  // the header's pages; tensor pages map again on use
  return m;
}

}  // namespace weightdiff::formats
