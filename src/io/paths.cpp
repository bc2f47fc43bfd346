#include "io/paths.hpp"

#include <algorithm>
#include <system_error>

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
    throw Error(Errc::unsafe_path, "absolute file path '" + rel + "'", source);
  const fs::path norm = p.lexically_normal();
  if (std::any_of(norm.begin(), norm.end(), [](const fs::path& c) { return c == ".."; }))
    throw Error(Errc::unsafe_path, "file path '" + rel + "' leaves the model folder", source);
  if (norm.empty() || norm == ".")
    throw Error(Errc::unsafe_path, "file path '" + rel + "' names no file", source);
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
