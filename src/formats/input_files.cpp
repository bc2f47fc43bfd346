#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "io/mapped_file.hpp"
#include "weightdiff/model.hpp"

namespace fs = std::filesystem;

namespace weightdiff {
namespace {

bool is_model_file_name(const std::string& name) {
  return name.ends_with(".safetensors") || name.ends_with(".safetensors.index.json") ||
         name.ends_with(".onnx") || name.ends_with(".gguf") || name.ends_with(".json");
}

void add_if_regular(const std::string& path, std::vector<InputFile>& out) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode))
    out.push_back({static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino), path});
}

}  // namespace

std::vector<InputFile> model_path_files(const std::string& path) {
  std::vector<InputFile> out;
  std::error_code ec;
  if (!fs::is_directory(path, ec)) {
    add_if_regular(path, out);
    return out;
  }
  for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec))
    if (is_model_file_name(it->path().filename().string())) add_if_regular(it->path().string(), out);
  return out;
}

std::vector<InputFile> model_input_files(const Model& m) {
  std::vector<InputFile> out = model_path_files(m.path);
  std::set<const Storage*> seen;
  for (const auto& t : m.tensors)
    if (t.storage && t.storage->inode() != 0 && seen.insert(t.storage.get()).second)
      out.push_back({t.storage->device(), t.storage->inode(), t.storage->display_path()});
  return out;
}

std::vector<InputStamp> model_input_stamps(const Model& m) {
  std::vector<InputStamp> out;
  for (const auto& f : model_input_files(m)) {
    std::error_code ec;
    const fs::path canonical = fs::canonical(f.display, ec);
    struct stat st {};
    if (ec || ::stat(canonical.c_str(), &st) != 0) continue;
    out.push_back({canonical.string(), static_cast<uint64_t>(st.st_size),
                   static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec});
  }
  std::sort(out.begin(), out.end(), [](const InputStamp& x, const InputStamp& y) { return x.path < y.path; });
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace weightdiff
