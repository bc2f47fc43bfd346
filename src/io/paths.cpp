#include "io/paths.hpp"

#include <algorithm>
#include <system_error>

#include "core/excerpt.hpp"
#include "weightdiff/error.hpp"

namespace fs = std::filesystem;

namespace weightdiff::io {
namespace {

bool is_under(const fs::path& child, const fs::path& dir) {
  auto c = child.begin();
  for (auto d = dir.begin(); d != dir.end(); ++d, ++c) {
    if (d->empty()) continue;  // trailing separator
    if (c == child.end() || *c != *d) return false;
  }
  return true;
}

}  // namespace

fs::path safe_relative_path(const std::string& rel, const std::string& source) {
  if (rel.empty()) throw Error(Errc::unsafe_path, "empty file path", source);
  if (rel.find('\0') != std::string::npos)
    throw Error(Errc::unsafe_path, "file path contains a NUL byte", source);
  const fs::path p(rel);
  if (p.is_absolute() || p.has_root_name() || p.has_root_directory())
    throw Error(Errc::unsafe_path, "absolute file path '" + core::excerpt(rel) + "'", source);
  const fs::path norm = p.lexically_normal();
  if (std::any_of(norm.begin(), norm.end(), [](const fs::path& c) { return c == ".."; }))
    throw Error(Errc::unsafe_path, "file path '" + core::excerpt(rel) + "' leaves the model folder", source);
  if (norm.empty() || norm == ".")
    throw Error(Errc::unsafe_path, "file path '" + core::excerpt(rel) + "' names no file", source);
  // Longer than Linux's PATH_MAX names no file; refusing it here keeps a
  // 10 MB path out of every later message (where it would name the file).
  constexpr size_t kMaxPath = 4096;
  if (rel.size() > kMaxPath)
    throw Error(Errc::malformed,
                "file path of " + std::to_string(rel.size()) + " bytes, longer than 4096: '" +
                    core::excerpt(rel) + "'",
                source);
  return norm;
}

std::vector<fs::path> allowed_roots(const fs::path& model_dir, const fs::path& anchor) {
  std::vector<fs::path> roots;
  std::error_code ec;
  const fs::path dir = fs::canonical(model_dir, ec);
  if (!ec) {
    roots.push_back(dir);
    if (dir.parent_path().filename() == "snapshots")
      roots.push_back(dir.parent_path().parent_path() / "blobs");
  }
  if (!anchor.empty()) {
    const fs::path real = fs::canonical(anchor, ec);
    if (!ec) roots.push_back(real.parent_path());
  }
  return roots;
}

void check_resolved_within(const fs::path& real, const std::vector<fs::path>& roots,
                           const std::string& display) {
  for (const auto& root : roots)
    if (is_under(real, root)) return;
  throw Error(Errc::unsafe_path,
              "resolves to '" + real.string() + "', outside the model folder", display);
}

}  // namespace weightdiff::io
