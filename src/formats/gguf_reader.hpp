// A bounded little-endian cursor over a GGUF file's bytes. Every read is
// checked against the bytes that remain before it is made (a length read
// from the file is never trusted, as in ggml's gguf.cpp), and a read past the
// end names what was being read and where.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "weightdiff/error.hpp"

namespace weightdiff::formats {

class GgufReader {
 public:
  GgufReader(const std::byte* data, uint64_t size, const std::string& file)
      : data_(data), size_(size), file_(file) {}

  uint64_t pos() const noexcept { return pos_; }
  uint64_t size() const noexcept { return size_; }
  uint64_t remaining() const noexcept { return size_ - pos_; }
  const std::string& file() const noexcept { return file_; }

  [[noreturn]] void fail(const std::string& what, const std::string& tensor = {}) const {
    throw Error(Errc::malformed, what, file_, tensor);
  }

  // Throws unless n more bytes are there.
  void need(uint64_t n, const std::string& what, const std::string& tensor = {}) const {
    if (n <= remaining()) return;
    std::string msg = what;
    msg += " (" + std::to_string(n) + " bytes at byte " + std::to_string(pos_);
    msg += ") runs past the end of the file (" + std::to_string(size_) + " bytes)";
    fail(msg, tensor);
  }

  void skip(uint64_t n, const std::string& what, const std::string& tensor = {}) {
    need(n, what, tensor);
    pos_ += n;
  }

  // An unsigned integer of sizeof(T) bytes, little-endian.
  template <typename T>
  T uint(const std::string& what, const std::string& tensor = {}) {
    need(sizeof(T), what, tensor);
    T v = 0;
    for (size_t i = sizeof(T); i-- > 0;) v = static_cast<T>(v << 8 | static_cast<uint8_t>(data_[pos_ + i]));
    pos_ += sizeof(T);
    return v;
  }
  uint32_t u32(const std::string& what, const std::string& tensor = {}) { return uint<uint32_t>(what, tensor); }
  uint64_t u64(const std::string& what, const std::string& tensor = {}) { return uint<uint64_t>(what, tensor); }

  // The value of a fixed-size type T (integer or float) stored little-endian.
  template <typename T>
  T value(const std::string& what) {
    if constexpr (sizeof(T) == 1) return std::bit_cast<T>(uint<uint8_t>(what));
    else if constexpr (sizeof(T) == 2) return std::bit_cast<T>(uint<uint16_t>(what));
    else if constexpr (sizeof(T) == 4) return std::bit_cast<T>(uint<uint32_t>(what));
    else return std::bit_cast<T>(uint<uint64_t>(what));
  }

  // A GGUF string: u64 length, then that many bytes (no terminator). The
  // view points into the file.
  std::string_view string(const std::string& what, const std::string& tensor = {}) {
    const uint64_t n = u64(what + " length", tensor);
    need(n, what, tensor);
    const std::string_view s(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return s;
  }

  const std::byte* at(uint64_t offset) const noexcept { return data_ + offset; }

 private:
  const std::byte* data_;
  uint64_t size_;
  uint64_t pos_ = 0;
  const std::string& file_;
};

}  // namespace weightdiff::formats
