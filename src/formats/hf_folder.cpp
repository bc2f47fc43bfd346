#include "formats/hf_folder.hpp"

#include <algorithm>
#include <filesystem>
#include <map>

#include "formats/json_header.hpp"
#include "formats/safetensors.hpp"
#include "io/mapped_file.hpp"
#include "io/paths.hpp"
#include "weightdiff/error.hpp"

namespace fs = std::filesystem;

namespace weightdiff::formats {
namespace {

// The path as the user gave it, joined with a name inside it.
std::string join_display(const std::string& dir, const std::string& name) {
  return (fs::path(dir) / name).string();
}

// Shard contents pooled into one model; a name in two shards is an error.
class Pool {
 public:
  explicit Pool(Model& m) : m_(m) {}
  void add(SafetensorsFile&& shard, const std::string& display) {
    for (auto& t : shard.tensors) {
      auto [it, inserted] = where_.emplace(t.name, display);
      if (!inserted)
        throw Error(Errc::conflict, "tensor is in two shards: " + it->second + " and " + display,
                    display, t.name);
      m_.tensors.push_back(std::move(t));
    }
    m_.metadata.merge(shard.metadata);  // first shard's value wins
  }

 private:
  Model& m_;
  std::map<std::string, std::string> where_;
};

SafetensorsFile open_shard(const fs::path& dir, const std::string& dir_display,
                           const std::string& rel, const MappedFile::Roots& roots) {
  const std::string display = join_display(dir_display, rel);
  auto file = MappedFile::open_within((dir / rel).string(), roots, display);
  const StoragePin parsing(file.get());  // the header is read in place
  return parse_safetensors(file);  // a copy: `file` must outlive the pin, also on a throw
}

}  // namespace

Model open_safetensors_index(const std::string& index) {
  const fs::path index_path(index);
  const fs::path dir = index_path.parent_path().empty() ? fs::path(".") : index_path.parent_path();
  const std::string dir_display = index_path.parent_path().string();
  auto file = MappedFile::open(index, index);
  const StoragePin parsing(file.get());
  const std::string_view text(reinterpret_cast<const char*>(file->data()), file->size());
  const nlohmann::json j = parse_strict_json(text, index);
  if (!j.is_object()) throw Error(Errc::malformed, "index is not a JSON object", index);
  const auto wm = j.find("weight_map");
  if (wm == j.end() || !wm->is_object())
    throw Error(Errc::malformed, "index has no \"weight_map\" object", index);

  // Validate every entry before opening any shard.
  std::map<std::string, std::vector<std::string>> names_by_shard;  // normalized rel -> tensors
  for (const auto& [name, shard] : wm->items()) {
    if (!shard.is_string())
      throw Error(Errc::malformed, "weight_map value is not a string", index, name);
    const fs::path rel = io::safe_relative_path(shard.get<std::string>(), index);
    names_by_shard[rel.string()].push_back(name);
  }

  Model m;
  m.path = index;
  m.format = "safetensors";
  Pool pool(m);
  const auto roots = std::make_shared<const std::vector<fs::path>>(io::allowed_roots(dir, index_path));
  std::map<std::string, std::string> shard_of;  // every tensor of every shard
  for (const auto& [rel, names] : names_by_shard) {
    SafetensorsFile shard = open_shard(dir, dir_display, rel, roots);
    const std::string display = join_display(dir_display, rel);
    // A tensor stored in two shards is an error even when the index picks
    // one of them (SPEC §7): which copy is meant is ambiguous.
    for (const auto& t : shard.tensors) {
      auto [it, fresh] = shard_of.emplace(t.name, display);
      if (!fresh)
        throw Error(Errc::conflict, "tensor is in two shards: " + it->second + " and " + display,
                    display, t.name);
    }
    // Keep exactly the tensors the index assigns to this shard.
    std::map<std::string, TensorRef*> present;
    for (auto& t : shard.tensors) present.emplace(t.name, &t);
    SafetensorsFile kept;
    kept.metadata = std::move(shard.metadata);
    for (const auto& name : names) {
      auto it = present.find(name);
      if (it == present.end())
        throw Error(Errc::malformed, "listed in " + index + " but missing from this shard",
                    display, name);
      kept.tensors.push_back(std::move(*it->second));
    }
    pool.add(std::move(kept), display);
  }
  return m;
}

Model open_safetensors_folder(const std::string& dir_str) {
  const fs::path dir(dir_str);
  std::vector<std::string> indexes, shards;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.ends_with(".safetensors.index.json")) indexes.push_back(name);
    else if (name.ends_with(".safetensors")) shards.push_back(name);
  }
  if (ec) throw Error(Errc::io, "cannot list folder: " + ec.message(), dir_str);
  if (indexes.size() > 1)
    throw Error(Errc::conflict,
                "folder holds " + std::to_string(indexes.size()) +
                    " *.safetensors.index.json files; pass one of them instead",
                dir_str);
  if (indexes.size() == 1) {
    Model m = open_safetensors_index(join_display(dir_str, indexes[0]));
    m.path = dir_str;
    return m;
  }
  if (shards.empty())
    throw Error(Errc::unsupported, "folder holds no *.safetensors.index.json, *.safetensors or single *.onnx or *.gguf file",
                dir_str);
  std::sort(shards.begin(), shards.end());
  Model m;
  m.path = dir_str;
  m.format = "safetensors";
  Pool pool(m);
  const auto roots = std::make_shared<const std::vector<fs::path>>(io::allowed_roots(dir));
  for (const auto& rel : shards)
    pool.add(open_shard(dir, dir_str, rel, roots), join_display(dir_str, rel));
  return m;
}

}  // namespace weightdiff::formats
