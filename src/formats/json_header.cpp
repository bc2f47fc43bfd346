#include "formats/json_header.hpp"

#include <set>
#include <vector>

#include "weightdiff/error.hpp"

namespace weightdiff::formats {
namespace {

// Returns the offset of the first byte that breaks UTF-8, or npos.
size_t first_invalid_utf8(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) { ++i; continue; }
    size_t len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; }
    else return i;
    if (n - i < len) return i;
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (cc & 0x3F);
    }
    const bool overlong = (len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
                          (len == 4 && cp < 0x10000);
    if (overlong || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += len;
  }
  return std::string_view::npos;
}

// A SAX pass that only looks for an object key given twice. (nlohmann's
// parser-callback API could do it while building the DOM, but its discard
// bookkeeping is quadratic in the number of sibling objects: a header with
// 100k tensors would take minutes.)
class DuplicateKeyFinder final : public nlohmann::json_sax<nlohmann::json> {
 public:
  std::string duplicate;

  bool start_object(std::size_t) override {
    keys_.emplace_back();
    return true;
  }
  bool end_object() override {
    keys_.pop_back();
    return true;
  }
  bool key(string_t& k) override {
    if (keys_.back().insert(k).second) return true;
    duplicate = k;
    return false;  // stops the parse
  }
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;  // reported by the DOM parse below
  }

 private:
  std::vector<std::set<std::string>> keys_;
};

}  // namespace

nlohmann::json parse_strict_json(std::string_view text, const std::string& display) {
  if (const size_t bad = first_invalid_utf8(text); bad != std::string_view::npos)
    throw Error(Errc::malformed, "header is not valid UTF-8 (byte " + std::to_string(bad) + ")",
                display);
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::exception& e) {
    throw Error(Errc::malformed, std::string("header is not valid JSON: ") + e.what(), display);
  }
  DuplicateKeyFinder finder;
  nlohmann::json::sax_parse(text.begin(), text.end(), &finder);
  if (!finder.duplicate.empty())
    throw Error(Errc::conflict, "duplicate key '" + finder.duplicate + "' in header", display);
  return doc;
}

uint64_t json_uint(const nlohmann::json& v, const std::string& what, const std::string& display,
                   const std::string& tensor) {
  if (!v.is_number_unsigned()) {
    // Quote scalars, name the type of anything else: dumping a hostile,
    // deeply nested value would recurse without bound.
    std::string got = v.is_primitive() ? v.dump() : std::string("a JSON ") + v.type_name();
    if (got.size() > 40) got = got.substr(0, 40) + "...";
    throw Error(Errc::malformed, what + " must be a non-negative integer, got " + got, display,
                tensor);
  }
  return v.get<uint64_t>();
}

}  // namespace weightdiff::formats
