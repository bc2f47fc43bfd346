// The checks every JSON header from a model file gets, as one SAX pass:
// syntax, a nesting limit, an array-length limit, and no object key given
// twice. parse_strict_json runs it alone before building a DOM (a sharded
// index); the safetensors loader derives from it and builds its catalog in
// the same pass, with no DOM at all.
#pragma once

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "weightdiff/error.hpp"

namespace weightdiff::formats {

// Deepest nesting accepted. Real headers nest 3 levels (header → entry →
// shape / data_offsets; index → weight_map → path); 8 leaves room for
// metadata shapes we have not seen. Without a limit a 40 MB header of '['
// builds 40M nested values: gigabytes, then std::bad_alloc.
inline constexpr size_t kMaxJsonDepth = 8;
// Longest array accepted. Arrays in these files are shapes and
// data_offsets: a rank of 1024 is far past any framework's (PyTorch: 64),
// and without a limit a 100 MB shape of zeros built 50M values (2.3 GB).
inline constexpr size_t kMaxJsonArrayLength = 1024;

// Throws Error(malformed) naming `display` when `text` is not valid UTF-8,
// starts with a byte order mark or holds a NUL byte.
void check_json_text(std::string_view text, const std::string& display);

class JsonScan : public nlohmann::json_sax<nlohmann::json> {
 public:
  // The first problem once the scan has ended (empty if none): a syntax or
  // limit error wins over a duplicate key found earlier, as when a DOM parse
  // came first; of duplicates, the first given twice in text order.
  struct Verdict {
    std::string error;
    Errc code = Errc::malformed;
  };
  Verdict verdict() const;

  bool start_object(std::size_t) override;
  bool end_object() override;
  bool start_array(std::size_t) override;
  bool end_array() override;
  bool key(string_t& k) override;
  bool null() override { return value(); }
  bool boolean(bool) override { return value(); }
  bool number_integer(number_integer_t) override { return value(); }
  bool number_unsigned(number_unsigned_t) override { return value(); }
  bool number_float(number_float_t, const string_t&) override { return value(); }
  bool string(string_t&) override { return value(); }
  bool binary(binary_t&) override { return value(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override;

 protected:
  // Objects and arrays open around the current event (0 at the top).
  size_t depth() const noexcept { return open_.size(); }
  // Keys seen so far, the current one included.
  uint64_t keys_seen() const noexcept { return keys_seen_; }
  // A derived scan that finds duplicates itself at depth 1 (the top
  // object's keys: a safetensors header's 10^5 tensor names, sorted later
  // anyway) turns the key set off there; it reports them through
  // note_duplicate with the position keys_seen() had at the second one.
  bool track_top_keys_ = true;
  void note_duplicate(std::string_view key, uint64_t at);

 private:
  struct Open {
    bool array;
    size_t elements;
  };
  // The keys of one open object: a short list first (entries hold 3), a
  // set once it grows, so neither 10^5 small objects nor one huge one cost
  // more than they must.
  class KeySet {
   public:
    bool insert(const std::string& k);
    void clear();

   private:
    std::vector<std::string> few_;
    std::set<std::string> many_;
  };

  bool value();  // counts a value into the array it is in, if any
  bool enter(bool array);

  std::vector<Open> open_;     // at most kMaxJsonDepth
  std::vector<KeySet> keys_;   // one per open object; kept for reuse
  size_t objects_open_ = 0;    // keys_[0 .. objects_open_) are live
  uint64_t keys_seen_ = 0;
  std::string error_;
  std::string duplicate_;
  uint64_t duplicate_at_ = 0;
};

}  // namespace weightdiff::formats
