// Format detection: by content first (magic bytes / structure), then by name.
#include <algorithm>
#include <filesystem>
#include <optional>
#include <vector>

#include "core/excerpt.hpp"
#include "formats/gguf.hpp"
#include "formats/hf_folder.hpp"
#include "formats/limits.hpp"
#include "formats/onnx.hpp"
#include "formats/safetensors.hpp"
#include "io/mapped_file.hpp"
#include "io/sigbus_guard.hpp"
#include "weightdiff/error.hpp"
#include "weightdiff/model.hpp"

namespace fs = std::filesystem;

namespace weightdiff {
namespace {

// Within the limits; sorted by name, byte-wise; names unique; total bytes.
void finalize(Model& m) {
  if (m.tensors.size() > formats::kMaxTensors)
    throw Error(Errc::unsupported,
                "holds " + std::to_string(m.tensors.size()) + " tensors; at most " +
                    std::to_string(formats::kMaxTensors) + " per model are supported",
                m.path);
  for (const auto& t : m.tensors) formats::check_tensor_name(t.name, m.path);  // every format
  const auto by_name = [](const TensorRef& x, const TensorRef& y) { return x.name < y.name; };
  // Loaders mostly hand them over sorted already (safetensors does).
  if (!std::is_sorted(m.tensors.begin(), m.tensors.end(), by_name))
    std::sort(m.tensors.begin(), m.tensors.end(), by_name);
  for (size_t i = 1; i < m.tensors.size(); ++i)
    if (m.tensors[i].name == m.tensors[i - 1].name)
      throw Error(Errc::conflict, "tensor name defined twice", m.path, m.tensors[i].name);
  m.bytes = 0;
  for (const auto& t : m.tensors) m.bytes += t.nbytes;
}

Model open_file(const std::string& path) {
  if (path.ends_with(".index.json")) return formats::open_safetensors_index(path);
  auto file = MappedFile::open(path, path);
  const StoragePin parsing(file.get());  // headers are read in place; tensors map again on use
  if (formats::looks_like_gguf(*file)) return formats::open_gguf(file);
  if (formats::looks_like_safetensors(*file) || path.ends_with(".safetensors")) {
    Model m;
    m.path = path;
    m.format = "safetensors";
    auto st = formats::parse_safetensors(file);
    m.tensors = std::move(st.tensors);
    m.metadata = std::move(st.metadata);
    return m;
  }
  if (path.ends_with(".gguf")) return formats::open_gguf(file);  // names what its magic lacks
  if (formats::looks_like_onnx(*file, path)) return formats::open_onnx(file, path);
  throw Error(Errc::unsupported, "not a recognized model format (expected safetensors, ONNX or GGUF)", path);
}

// The *.onnx and *.gguf files of a folder that holds no safetensors (an
// export folder: model.onnx beside its external data; a download folder
// with one GGUF), sorted; nullopt when it holds safetensors.
std::optional<std::vector<std::string>> single_file_models_in(const std::string& dir) {
  std::vector<std::string> models;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.ends_with(".safetensors") || name.ends_with(".safetensors.index.json")) return std::nullopt;
    if (name.ends_with(".onnx") || name.ends_with(".gguf")) models.push_back(name);
  }
  std::sort(models.begin(), models.end());
  return models;
}

// A folder with exactly one of them stands for that model; with several,
// which one is meant is the user's call: name them.
Model open_directory(const std::string& dir) {
  if (const auto models = single_file_models_in(dir)) {
    if (models->size() == 1) {
      Model m = open_file((fs::path(dir) / models->front()).string());
      m.path = dir;
      return m;
    }
    if (models->size() > 1) {
      std::string msg = "folder holds " + std::to_string(models->size()) + " model files (";
      for (size_t i = 0; i < models->size() && i < 4; ++i) {
        if (i) msg += ", ";
        msg += core::excerpt((*models)[i]);
      }
      if (models->size() > 4) msg += ", ...";
      msg += "): pass one of them instead of the folder";
      throw Error(Errc::unsupported, msg, dir);
    }
  }
  return formats::open_safetensors_folder(dir);
}

}  // namespace

Model open_model(const std::string& path) {
  std::error_code ec;
  const auto st = fs::status(path, ec);
  if (ec || !fs::exists(st)) throw Error(Errc::io, "no such file or folder", path);
  // A file truncated while its header is parsed raises SIGBUS on the next
  // read of the mapping: turn it into Error(changed), as during the diff.
  // The model is built inside the guard and moved out only when complete.
  Model m;
  try {
    io::read_guarded(nullptr, nullptr, [&] {
      Model opened = fs::is_directory(st) ? open_directory(path) : open_file(path);
      m = std::move(opened);
    });
  } catch (const Error& e) {
    if (e.code() != Errc::changed || !e.file().empty()) throw;
    throw Error(Errc::changed, e.detail(), path);
  }
  finalize(m);
  return m;
}

}  // namespace weightdiff
