#include "formats/safetensors.hpp"

#include <algorithm>

#include "formats/json_scan.hpp"
#include "formats/safetensors_header.hpp"
#include "weightdiff/error.hpp"

namespace weightdiff::formats {
namespace {

constexpr uint64_t kMaxHeaderBytes = 100'000'000;  // as the reference implementation

uint64_t read_le64(const std::byte* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
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
  check_json_text(text, disp);
  const uint64_t data_start = 8 + header_len;
  const uint64_t data_size = file->size() - data_start;
  SafetensorsHeaderScan scan(file, data_start);
  nlohmann::json::sax_parse(text.begin(), text.end(), &scan);
  scan.check();
  SafetensorsFile out;
  out.metadata = scan.take_metadata();
  std::vector<SafetensorsHeaderScan::Extent> extents;
  out.tensors = scan.take_tensors(extents);

  // The tensors must tile the data section exactly: contiguous from 0, no gap,
  // no overlap, nothing after the last one.
  // (Written in name order, the check costs no sort; equal extents go
  // through std::sort as they always did, so the same tensor is named.)
  std::vector<uint32_t> by_offset(extents.size());
  for (size_t i = 0; i < by_offset.size(); ++i) by_offset[i] = static_cast<uint32_t>(i);
  const auto before = [&](uint32_t x, uint32_t y) {
    const auto &ex = extents[x], &ey = extents[y];
    return ex.begin != ey.begin ? ex.begin < ey.begin : ex.end < ey.end;
  };
  const bool strictly_sorted =
      std::adjacent_find(by_offset.begin(), by_offset.end(),
                         [&](uint32_t x, uint32_t y) { return !before(x, y); }) == by_offset.end();
  if (!strictly_sorted) std::sort(by_offset.begin(), by_offset.end(), before);
  uint64_t expected = 0;
  for (const uint32_t i : by_offset) {
    if (extents[i].begin != expected)
      throw Error(Errc::malformed,
                  "data_offsets begin at " + std::to_string(extents[i].begin) + ", expected " +
                      std::to_string(expected) + " (tensors must be contiguous from 0)",
                  disp, out.tensors[i].name);
    expected = extents[i].end;
  }
  if (expected > data_size)
    throw Error(Errc::malformed,
                "file is shorter than its header says: data section has " +
                    std::to_string(data_size) + " bytes, tensors need " + std::to_string(expected),
                disp);
  if (expected < data_size)
    throw Error(Errc::malformed,
                std::to_string(data_size - expected) + " bytes after the last tensor", disp);
  return out;
}

}  // namespace weightdiff::formats
