#include "formats/quant_config.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "formats/json_header.hpp"
#include "weightdiff/error.hpp"

namespace weightdiff::formats {
namespace {

namespace fs = std::filesystem;

// Config files are a few kB; anything far larger is not one.
constexpr std::uintmax_t kMaxConfigBytes = 16u << 20;

// The parsed file, or nullopt when there is none.
std::optional<nlohmann::json> read_config(const fs::path& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return std::nullopt;
  const std::string display = path.string();
  const std::uintmax_t size = fs::file_size(path, ec);
  if (ec) throw Error(Errc::io, "cannot stat: " + ec.message(), display);
  if (size > kMaxConfigBytes)
    throw Error(Errc::malformed, "config file of " + std::to_string(size) + " bytes is larger than 16 MiB", display);
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in.good() && !in.eof()) throw Error(Errc::io, "cannot read", display);
  nlohmann::json j = parse_strict_json(text.str(), display);
  if (!j.is_object()) throw Error(Errc::malformed, "config is not a JSON object", display);
  return j;
}

std::optional<std::string> format_field(const nlohmann::json& obj, const fs::path& file) {
  const auto it = obj.find("checkpoint_format");
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) throw Error(Errc::malformed, "\"checkpoint_format\" is not a string", file.string());
  return it->get<std::string>();
}

}  // namespace

std::optional<std::string> gptq_checkpoint_format(const std::string& model_path) {
  std::error_code ec;
  const fs::path given(model_path);
  fs::path dir = fs::is_directory(given, ec) ? given : given.parent_path();
  if (dir.empty()) dir = ".";
  const fs::path quantize_config = dir / "quantize_config.json";
  if (const auto j = read_config(quantize_config))
    if (auto f = format_field(*j, quantize_config)) return f;
  const fs::path config = dir / "config.json";
  if (const auto j = read_config(config)) {
    const auto q = j->find("quantization_config");
    if (q != j->end() && q->is_object()) return format_field(*q, config);
  }
  return std::nullopt;
}

}  // namespace weightdiff::formats
