#include "formats/json_header.hpp"

#include <set>
#include <vector>

#include "core/excerpt.hpp"
#include "weightdiff/error.hpp"

namespace weightdiff::formats {
namespace {

// Returns the offset of the first byte that breaks UTF-8, or npos.
size_t first_invalid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const size_t len = core::utf8_sequence_length(s, i);
    if (len == 0) return i;
    i += len;
  }
  return std::string_view::npos;
}

// Deepest nesting accepted. Real headers nest 3 levels (header → entry →
// shape / data_offsets; index → weight_map → path); 8 leaves room for
// metadata shapes we have not seen. Without a limit a 40 MB header of '['
// builds 40M nested DOM values: gigabytes, then std::bad_alloc.
constexpr size_t kMaxDepth = 8;

// One SAX pass over the text before any DOM is built: syntax errors, the
// nesting limit and an object key given twice. (nlohmann's parser-callback
// API could find duplicates while building the DOM, but its discard
// bookkeeping is quadratic in the number of sibling objects: a header with
// 100k tensors would take minutes.) The pass keeps only the key sets of the
// open objects, so its memory is bounded by the depth limit and the keys.
// Longest array accepted. Arrays in these files are shapes and
// data_offsets: a rank of 1024 is far past any framework's (PyTorch: 64),
// and without a limit a 100 MB shape of zeros built 50M DOM values (2.3 GB).
constexpr size_t kMaxArrayLength = 1024;

class HeaderScan final : public nlohmann::json_sax<nlohmann::json> {
 public:
  std::string error;  // first problem found, empty if none
  Errc code = Errc::malformed;

  bool start_object(std::size_t) override {
    if (!value() || !enter(false)) return false;
    keys_.emplace_back();
    return true;
  }
  bool end_object() override {
    keys_.pop_back();
    open_.pop_back();
    return true;
  }
  bool start_array(std::size_t) override { return value() && enter(true); }
  bool end_array() override {
    open_.pop_back();
    return true;
  }
  bool key(string_t& k) override {
    if (keys_.back().insert(k).second) return true;
    // Syntax errors later in the text win (as when the DOM parse came
    // first), so the scan goes on; the first duplicate is kept.
    if (duplicate_.empty()) duplicate_ = "duplicate key '" + core::excerpt(k) + "' in header";
    return true;
  }
  bool null() override { return value(); }
  bool boolean(bool) override { return value(); }
  bool number_integer(number_integer_t) override { return value(); }
  bool number_unsigned(number_unsigned_t) override { return value(); }
  bool number_float(number_float_t, const string_t&) override { return value(); }
  bool string(string_t&) override { return value(); }
  bool binary(binary_t&) override { return value(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    error = "header is not valid JSON: " + parse_error_text(e.what());
    return false;
  }

  // The verdict once the scan has ended.
  void finish() {
    if (error.empty() && !duplicate_.empty()) {
      error = std::move(duplicate_);
      code = Errc::conflict;
    }
  }

 private:
  struct Open {
    bool array;
    size_t elements;
  };

  // Counts a value into the array it is in, if any.
  bool value() {
    if (open_.empty() || !open_.back().array || ++open_.back().elements <= kMaxArrayLength)
      return true;
    error = "header holds a JSON array of more than " + std::to_string(kMaxArrayLength) +
            " elements";
    return false;
  }
  bool enter(bool array) {
    if (open_.size() >= kMaxDepth) {
      error = "header is JSON nested deeper than " + std::to_string(kMaxDepth) + " levels";
      return false;
    }
    open_.push_back({array, 0});
    return true;
  }

  // nlohmann's message quotes the offending token whole ("last read: '…'",
  // "number overflow parsing '…'"): a 10 MB unterminated string is a 10 MB
  // token. The token is cut; the text around it is nlohmann's own.
  static std::string parse_error_text(std::string_view what) {
    for (const std::string_view open : {"last read: '", "parsing '"}) {
      const size_t at = what.find(open);
      if (at == std::string_view::npos) continue;
      const size_t begin = at + open.size();
      size_t end = what.rfind("'; expected ");
      if (end == std::string_view::npos || end < begin) end = what.rfind('\'');
      if (end == std::string_view::npos || end < begin) end = what.size();
      return std::string(what.substr(0, begin)) + core::excerpt(what.substr(begin, end - begin)) +
             std::string(what.substr(end));
    }
    return core::excerpt(what);
  }

  std::vector<Open> open_;  // at most kMaxDepth
  std::vector<std::set<std::string>> keys_;
  std::string duplicate_;
};

}  // namespace

nlohmann::json parse_strict_json(std::string_view text, const std::string& display) {
  if (const size_t bad = first_invalid_utf8(text); bad != std::string_view::npos)
    throw Error(Errc::malformed, "header is not valid UTF-8 (byte " + std::to_string(bad) + ")",
                display);
  // nlohmann skips a leading UTF-8 BOM and stops at a NUL byte as at the end
  // of the text, so a header padded with NULs (or with anything after a NUL)
  // would be read. Strict JSON (RFC 8259) has neither, and the reference
  // readers (the safetensors crate's serde_json, Python's json) reject both.
  // A NUL can only stand outside a string here: inside one it is a control
  // character, which JSON forbids anyway.
  if (text.starts_with("\xEF\xBB\xBF"))
    throw Error(Errc::malformed, "header starts with a UTF-8 byte order mark", display);
  if (const size_t nul = text.find('\0'); nul != std::string_view::npos)
    throw Error(Errc::malformed, "header holds a NUL byte (byte " + std::to_string(nul) + ")",
                display);
  {
    HeaderScan scan;
    nlohmann::json::sax_parse(text.begin(), text.end(), &scan);
    scan.finish();
    if (!scan.error.empty()) throw Error(scan.code, scan.error, display);
  }
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::exception& e) {  // the scan above passed: not expected
    throw Error(Errc::malformed, "header is not valid JSON: " + core::excerpt(e.what()), display);
  }
}

uint64_t json_uint(const nlohmann::json& v, const std::string& what, const std::string& display,
                   const std::string& tensor) {
  if (!v.is_number_unsigned()) {
    // Quote scalars, name the type of anything else: dumping a hostile,
    // deeply nested value would recurse without bound.
    const std::string got =
        v.is_primitive() ? core::excerpt(v.dump(), 40) : std::string("a JSON ") + v.type_name();
    throw Error(Errc::malformed, what + " must be a non-negative integer, got " + got, display,
                tensor);
  }
  return v.get<uint64_t>();
}

}  // namespace weightdiff::formats
