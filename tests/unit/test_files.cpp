#include "test_files.hpp"

#include <algorithm>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include "encode.hpp"

namespace wdtest {
namespace {

std::string sanitize(std::string s) {
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return s;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string json_uints(const std::vector<uint64_t>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(v[i]);
  }
  return out + "]";
}

}  // namespace

TempDir::TempDir(const fs::path& base) {
  static std::atomic<int> serial{0};
  std::string name = "weightdiff_test";
  auto part = [&](const std::string& s) {
    name += '_';
    name += s;
  };
  if (const auto* info = ::testing::UnitTest::GetInstance()->current_test_info()) {
    part(sanitize(info->test_suite_name()));
    part(sanitize(info->name()));
  }
  part(std::to_string(::getpid()));
  part(std::to_string(serial++));
  path_ = base / name;
  fs::remove_all(path_);
  fs::create_directories(path_);
}

TempDir::TempDir() : TempDir(fs::temp_directory_path()) {}

TempDir::~TempDir() {
  if (std::getenv("WEIGHTDIFF_KEEP_TEST_FILES")) return;
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string safetensors_dtype(weightdiff::DType t) {
  using weightdiff::DType;
  switch (t) {
    case DType::f64: return "F64";
    case DType::f32: return "F32";
    case DType::f16: return "F16";
    case DType::bf16: return "BF16";
    case DType::f8e4m3fn: return "F8_E4M3";
    case DType::f8e5m2: return "F8_E5M2";
    case DType::i64: return "I64";
    case DType::i32: return "I32";
    case DType::i16: return "I16";
    case DType::i8: return "I8";
    case DType::u64: return "U64";
    case DType::u32: return "U32";
    case DType::u16: return "U16";
    case DType::u8: return "U8";
    case DType::boolean: return "BOOL";
    default: throw std::invalid_argument("dtype has no safetensors spelling");
  }
}

std::string header_text(const StFile& f) {
  if (f.header_json) return *f.header_json;
  std::string h = "{";
  bool first = true;
  auto sep = [&] {
    if (!first) h += ",";
    first = false;
  };
  if (f.metadata_json) {
    sep();
    h += "\"__metadata__\":";
    h += *f.metadata_json;
  } else if (f.metadata) {
    sep();
    h += "\"__metadata__\":{";
    bool mfirst = true;
    for (const auto& [k, v] : *f.metadata) {
      if (!mfirst) h += ',';
      h += json_string(k);
      h += ':';
      h += json_string(v);
      mfirst = false;
    }
    h += "}";
  }
  uint64_t offset = 0;
  for (const auto& t : f.tensors) {
    sep();
    const uint64_t end = offset + t.data.size();
    h += json_string(t.name) + ":{\"dtype\":" + t.dtype_json.value_or(json_string(t.dtype)) +
         ",\"shape\":" + t.shape_json.value_or(json_uints(t.shape)) +
         ",\"data_offsets\":" + t.offsets_json.value_or(json_uints({offset, end})) + "}";
    offset = end;
  }
  return h + "}";
}

std::string build_safetensors(const StFile& f) {
  const std::string header = header_text(f);
  const uint64_t len = f.header_len.value_or(header.size());
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((len >> (8 * i)) & 0xFF);
  out += header;
  for (const auto& t : f.tensors) out.append(t.data.begin(), t.data.end());
  out += f.trailing;
  if (f.truncate > out.size()) throw std::invalid_argument("truncate beyond the file");
  out.resize(out.size() - f.truncate);
  return out;
}

void write_bytes(const fs::path& p, const std::string& bytes) {
  if (p.has_parent_path()) fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error(std::string("cannot write ") += p.string());
}

void write_safetensors(const fs::path& p, const StFile& f) { write_bytes(p, build_safetensors(f)); }

StTensor st_tensor(const std::string& name, weightdiff::DType dtype, std::vector<uint64_t> shape,
                   std::vector<uint8_t> data) {
  return StTensor{name, safetensors_dtype(dtype), std::move(shape), std::move(data), {}, {}, {}};
}

StFile st_file(std::vector<StTensor> tensors) {
  StFile f;
  f.tensors = std::move(tensors);
  return f;
}

StTensor st_f32(const std::string& name, std::vector<uint64_t> shape,
                const std::vector<float>& values) {
  std::vector<double> v(values.begin(), values.end());
  return st_tensor(name, weightdiff::DType::f32, std::move(shape),
                   encode_values(weightdiff::DType::f32, v));
}

const weightdiff::TensorDiff& DiffRun::tensor(const std::string& name) const {
  for (const auto& t : result.tensors)
    if (t.name == name) return t;
  throw std::runtime_error("no tensor '" + name + "' in the diff");
}

DiffRun diff_files(const fs::path& a, const fs::path& b, weightdiff::DiffOptions opt) {
  if (opt.backend == weightdiff::BackendKind::automatic) opt.backend = weightdiff::BackendKind::cpu;
  DiffRun r{weightdiff::open_model(a.string()), weightdiff::open_model(b.string()), {}};
  r.result = weightdiff::diff_models(r.a, r.b, opt);
  return r;
}

weightdiff::Model model_of_names(const std::string& path, const std::vector<std::string>& names) {
  weightdiff::Model m;
  m.path = path;
  for (const auto& n : names) {
    weightdiff::TensorRef t;
    t.name = n;
    t.shape = {1};
    m.tensors.push_back(t);
  }
  std::sort(m.tensors.begin(), m.tensors.end(),
            [](const auto& x, const auto& y) { return x.name < y.name; });
  return m;
}

}  // namespace wdtest
