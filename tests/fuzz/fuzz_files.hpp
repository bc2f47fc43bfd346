// What the fuzz harnesses share: a private scratch folder for the files a
// loader must find on disk, and the one rule of every harness — a
// weightdiff::Error is the expected way to refuse an input; anything else
// (another exception, a sanitizer report, a signal) is a finding.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "weightdiff/diff.hpp"
#include "weightdiff/error.hpp"
#include "io/mapped_file.hpp"
#include "weightdiff/model.hpp"

namespace wdfuzz {

namespace fs = std::filesystem;

// One folder per fuzzing process, emptied between inputs by the harnesses
// that need it (tmpfs when there is one: inputs are written once per run).
inline const fs::path& scratch() {
  static const fs::path dir = [] {
    const fs::path base = fs::exists("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    fs::path d = base / ("weightdiff-fuzz-" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d;
  }();
  return dir;
}

inline void write_file(const fs::path& p, std::string_view bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Splits the input at a 4-byte little-endian length prefix: (first, rest).
inline std::pair<std::string_view, std::string_view> split(const uint8_t* data, size_t size) {
  const auto* p = reinterpret_cast<const char*>(data);
  if (size < 4) return {std::string_view(p, size), {}};
  const uint32_t n = uint32_t{data[0]} | uint32_t{data[1]} << 8 | uint32_t{data[2]} << 16 |
                     uint32_t{data[3]} << 24;
  const size_t first = n < size - 4 ? n : size - 4;
  return {std::string_view(p + 4, first), std::string_view(p + 4 + first, size - 4 - first)};
}

// Opens `path`, checks that every tensor lies inside its file (mapped
// memory has no ASan red zones: a reference past the end of a file but
// inside its last page would read silently), then diffs the model against
// itself — structure only, then every byte — through a backtracking
// --include, as a user would.
inline void open_and_diff(const std::string& path) {
  try {
    const weightdiff::Model m = weightdiff::open_model(path);
    for (const auto& t : m.tensors)
      if (t.storage && !(t.offset <= t.storage->size() && t.nbytes <= t.storage->size() - t.offset))
        __builtin_trap();
    weightdiff::DiffOptions opt;
    opt.threads = 1;
    opt.backend = weightdiff::BackendKind::cpu;
    opt.include = {"^(.)*$"};
    opt.structure_only = true;
    (void)weightdiff::diff_models(m, m, opt);
    opt.structure_only = false;
    (void)weightdiff::diff_models(m, m, opt);
  } catch (const weightdiff::Error&) {
    // A clean refusal.
  }
}

}  // namespace wdfuzz
