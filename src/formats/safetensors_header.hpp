// A safetensors header read in one SAX pass straight into TensorRefs: no
// DOM (a 200k-tensor header as a nlohmann DOM took ~400 MB and seconds).
//
// The checks and their messages are those of a DOM walk in key order: the
// scan's syntax and limit errors first, then duplicate keys, then "not an
// object", then the problem of the first key, byte-wise, that has one. So
// each entry is checked when its value ends, and only the failure with the
// smallest name is kept.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "formats/json_scan.hpp"
#include "io/mapped_file.hpp"
#include "weightdiff/tensor.hpp"

namespace weightdiff::formats {

class SafetensorsHeaderScan final : public JsonScan {
 public:
  struct Extent {
    uint64_t begin, end;  // relative to the data section
    uint64_t seq;         // keys_seen() at its key: text order
  };

  SafetensorsHeaderScan(std::shared_ptr<const MappedFile> file, uint64_t data_start);

  // After sax_parse: throws the first problem (see above) as Error.
  void check();
  // After check(): the tensors sorted by name, their extents beside them,
  // and the metadata.
  std::vector<TensorRef> take_tensors(std::vector<Extent>& extents);
  std::map<std::string, std::string> take_metadata() { return std::move(metadata_); }

  bool start_object(std::size_t n) override;
  bool end_object() override;
  bool start_array(std::size_t n) override;
  bool key(string_t& k) override;
  bool null() override;
  bool boolean(bool v) override;
  bool number_integer(number_integer_t v) override;
  bool number_unsigned(number_unsigned_t v) override;
  bool number_float(number_float_t v, const string_t& s) override;
  bool string(string_t& v) override;

 private:
  enum class Kind : uint8_t { absent, string, array, other };
  enum class Field : uint8_t { dtype, shape, offsets, other };

  // The current top-level key's value as read so far.
  struct Raw {
    std::string name;
    uint64_t seq = 0;
    bool metadata = false;
    bool object = false;
    Field field = Field::other;  // of the current key inside the entry
    Kind dtype = Kind::absent, shape = Kind::absent, offsets = Kind::absent;
    std::string dtype_text;
    std::vector<uint64_t> dims;      // up to the first element that is not a uint
    std::optional<std::string> bad_dim;  // that element, as a message quotes it
    size_t n_offsets = 0;
    uint64_t off[2] = {0, 0};
    std::optional<std::string> bad_off[2];
    std::vector<std::pair<std::string, std::optional<std::string>>> meta;  // nullopt: not a string
  };

  bool top_entry() const noexcept { return top_object_ && open_entry_; }
  // A value that is not an object or array, at the current depth; `got`
  // makes its message text, `text` is set for strings.
  // A value at depth `d` (before it): an object or array, or a scalar
  // with its message text, its string or its unsigned value.
  void container(size_t d, bool array);
  template <class Got>
  void scalar(size_t d, Got&& got, const std::string* text, const uint64_t* uint);
  void finish_entry();
  void finish_metadata();
  TensorRef validate(Extent& extent) const;  // throws Error

  std::shared_ptr<const MappedFile> file_;
  uint64_t data_start_;
  bool top_object_ = false, open_entry_ = false;
  Raw raw_;
  std::vector<TensorRef> tensors_;
  std::vector<Extent> extents_;
  std::vector<uint32_t> order_;  // tensors_ by name, once checked
  std::vector<uint64_t> metadata_seqs_;  // where __metadata__ was given (twice: a duplicate)
  std::vector<std::pair<std::string, uint64_t>> failed_;  // entries that failed, with seq
  std::optional<Error> failure_;  // the one with the smallest name
  std::string failure_name_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace weightdiff::formats
