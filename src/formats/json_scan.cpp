#include "formats/json_scan.hpp"

#include "core/excerpt.hpp"

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

// nlohmann's message quotes the offending token whole ("last read: '…'",
// "number overflow parsing '…'"): a 10 MB unterminated string is a 10 MB
// token. The token is cut; the text around it is nlohmann's own.
std::string parse_error_text(std::string_view what) {
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

// Short lists are searched; past this many keys an object gets a set.
constexpr size_t kFewKeys = 16;

}  // namespace

void check_json_text(std::string_view text, const std::string& display) {
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
}

bool JsonScan::KeySet::insert(const std::string& k) {
  if (!many_.empty()) return many_.insert(k).second;
  for (const auto& seen : few_)
    if (seen == k) return false;
  if (few_.size() < kFewKeys) {
    few_.push_back(k);
    return true;
  }
  many_.insert(few_.begin(), few_.end());
  few_.clear();
  return many_.insert(k).second;
}

void JsonScan::KeySet::clear() {
  few_.clear();
  many_.clear();
}

JsonScan::Verdict JsonScan::verdict() const {
  if (!error_.empty()) return {error_, Errc::malformed};
  if (!duplicate_.empty()) return {duplicate_, Errc::conflict};
  return {};
}

bool JsonScan::start_object(std::size_t) {
  if (!value() || !enter(false)) return false;
  if (objects_open_ == keys_.size()) keys_.emplace_back();
  keys_[objects_open_++].clear();
  return true;
}

bool JsonScan::end_object() {
  --objects_open_;
  open_.pop_back();
  return true;
}

bool JsonScan::start_array(std::size_t) { return value() && enter(true); }

bool JsonScan::end_array() {
  open_.pop_back();
  return true;
}

bool JsonScan::key(string_t& k) {
  ++keys_seen_;
  if (!track_top_keys_ && open_.size() == 1) return true;
  // Syntax errors later in the text win, so the scan goes on.
  if (!keys_[objects_open_ - 1].insert(k)) note_duplicate(k, keys_seen_);
  return true;
}

void JsonScan::note_duplicate(std::string_view key, uint64_t at) {
  if (!duplicate_.empty() && duplicate_at_ <= at) return;
  duplicate_ = "duplicate key '";
  duplicate_ += core::excerpt(key);
  duplicate_ += "' in header";
  duplicate_at_ = at;
}

bool JsonScan::parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) {
  error_ = "header is not valid JSON: " + parse_error_text(e.what());
  return false;
}

bool JsonScan::value() {
  if (open_.empty() || !open_.back().array || ++open_.back().elements <= kMaxJsonArrayLength)
    return true;
  error_ = "header holds a JSON array of more than " + std::to_string(kMaxJsonArrayLength) +
           " elements";
  return false;
}

bool JsonScan::enter(bool array) {
  if (open_.size() >= kMaxJsonDepth) {
    error_ = "header is JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels";
    return false;
  }
  open_.push_back({array, 0});
  return true;
}

}  // namespace weightdiff::formats
