#include "formats/gguf_metadata.hpp"

#include <charconv>
#include <string_view>

#include "core/excerpt.hpp"
#include "formats/gguf_types.hpp"

namespace weightdiff::formats {
namespace {

constexpr uint64_t kMaxMetadataKeys = 65536;
constexpr uint64_t kMaxMetadataTextBytes = uint64_t{16} << 20;
constexpr size_t kMaxStringValueBytes = 64 * 1024;


// ggml refuses arrays of arrays; the GGUF spec allows them. Each level is
// bounded by the bytes left, but the recursion needs a bound of its own.
constexpr int kMaxArrayDepth = 8;
// The GGUF spec's limit on a key.
constexpr uint64_t kMaxKeyBytes = 65535;

std::string quoted_key(std::string_view key) {
  std::string s = "metadata key '";
  s += core::excerpt(key);
  s += "'";
  return s;
}

template <typename T>
std::string float_text(T v) {
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip
  return std::string(buf, res.ptr);
}

class KvReader {
 public:
  explicit KvReader(GgufReader& r) : r_(r) {}

  GgufValueInfo type(const std::string& what) {
    const uint32_t id = r_.u32(what);
    const auto t = gguf_value_type(id);
    if (!t) r_.fail(what + " " + std::to_string(id) + " is not a GGUF value type (0 to 12)");
    return *t;
  }

  // One scalar value (not an array) as text.
  std::string scalar(const GgufValueInfo& t, const std::string& key) {
    const std::string what = key + " value";
    switch (t.type) {
      case GgufValueType::u8: return std::to_string(r_.value<uint8_t>(what));
      case GgufValueType::i8: return std::to_string(r_.value<int8_t>(what));
      case GgufValueType::u16: return std::to_string(r_.value<uint16_t>(what));
      case GgufValueType::i16: return std::to_string(r_.value<int16_t>(what));
      case GgufValueType::u32: return std::to_string(r_.value<uint32_t>(what));
      case GgufValueType::i32: return std::to_string(r_.value<int32_t>(what));
      case GgufValueType::u64: return std::to_string(r_.value<uint64_t>(what));
      case GgufValueType::i64: return std::to_string(r_.value<int64_t>(what));
      case GgufValueType::f32: return float_text(r_.value<float>(what));
      case GgufValueType::f64: return float_text(r_.value<double>(what));
      case GgufValueType::boolean: return boolean(r_.value<uint8_t>(what), key) ? "true" : "false";
      case GgufValueType::string: {
        // Kept as text up to 64 KiB (chat templates are a few KiB); longer
        // ones summarised like arrays: every report carries the metadata.
        const std::string_view v = r_.string(what);
        if (v.size() > kMaxStringValueBytes) return "[string of " + std::to_string(v.size()) + " bytes]";
        return std::string(v);
      }
      case GgufValueType::array: return array(key, 1);
    }
    return {};
  }

 private:
  bool boolean(uint8_t v, const std::string& key) const {
    if (v > 1) r_.fail(key + ": bool value " + std::to_string(v) + " is neither 0 nor 1");
    return v == 1;
  }

  // After the array tag: item type, count, items. Walked to the end (its
  // strings and sub-arrays have lengths of their own), summarised.
  std::string array(const std::string& key, int depth) {
    if (depth > kMaxArrayDepth)
      r_.fail(key + ": arrays nested more than " + std::to_string(kMaxArrayDepth) + " deep");
    const GgufValueInfo item = type(key + " array item type");
    const uint64_t n = r_.u64(key + " array length");
    // Each item takes at least min_bytes: a count the rest of the file
    // cannot hold is refused before any item is read.
    if (n > r_.remaining() / item.min_bytes) {
      std::string msg = key + ": array of " + std::to_string(n) + " " + item.name;
      msg += " is more than the " + std::to_string(r_.remaining()) + " bytes left can hold";
      r_.fail(msg);
    }
    if (item.type == GgufValueType::string) {
      for (uint64_t i = 0; i < n; ++i) r_.string(key + " array item " + std::to_string(i));
    } else if (item.type == GgufValueType::array) {
      for (uint64_t i = 0; i < n; ++i) array(key, depth + 1);  // each: item type, count, items
    } else if (item.type == GgufValueType::boolean) {
      for (uint64_t i = 0; i < n; ++i) boolean(r_.value<uint8_t>(key + " array item"), key);
    } else {
      r_.skip(n * item.bytes, key + " array items");  // n * bytes <= remaining: checked above
    }
    std::string text = "[array of " + std::to_string(n) + " ";
    text += item.name;
    text += "]";
    return text;
  }

  GgufReader& r_;
};

}  // namespace

GgufMetadata read_gguf_metadata(GgufReader& r, uint64_t n_kv) {
  // Bounded whatever the file's size (SPEC §7): real files hold tens of
  // keys, their arrays (vocabularies) summarised.
  if (n_kv > kMaxMetadataKeys)
    throw Error(Errc::unsupported,
                "holds " + std::to_string(n_kv) + " metadata keys; at most " +
                    std::to_string(kMaxMetadataKeys) + " are supported",
                r.file());
  uint64_t text_bytes = 0;
  GgufMetadata out;
  KvReader kv(r);
  for (uint64_t i = 0; i < n_kv; ++i) {
    const std::string index = "metadata key " + std::to_string(i);
    const std::string_view key_bytes = r.string(index);
    if (key_bytes.size() > kMaxKeyBytes) {
      std::string msg = index + " is " + std::to_string(key_bytes.size());
      msg += " bytes long; GGUF allows at most 65535";
      r.fail(msg);
    }
    const std::string key(key_bytes);
    const std::string name = quoted_key(key);
    const GgufValueInfo t = kv.type(name + " value type");
    if (key == kGgufAlignmentKey && t.type != GgufValueType::u32) {
      std::string msg = name + " must be a uint32, not ";
      msg += t.name;
      r.fail(msg);
    }
    std::string text = kv.scalar(t, name);
    if (key == kGgufAlignmentKey) {
      const uint64_t a = std::stoull(text);
      if (a == 0 || (a & (a - 1)) != 0) r.fail(name + ": alignment " + text + " is not a power of two");
      out.alignment = static_cast<uint32_t>(a);
    }
    text_bytes += key.size() + text.size();
    if (text_bytes > kMaxMetadataTextBytes)
      throw Error(Errc::unsupported,
                  "metadata text of more than " + std::to_string(kMaxMetadataTextBytes >> 20) +
                      " MiB (keys and values); larger metadata is not supported",
                  r.file());
    if (!out.entries.emplace("gguf." + key, std::move(text)).second)
      throw Error(Errc::conflict, name + " defined twice", r.file());
  }
  return out;
}

}  // namespace weightdiff::formats
