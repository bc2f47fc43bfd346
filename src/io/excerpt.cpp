#include "io/excerpt.hpp"

#include <cstdint>

namespace weightdiff::io {
namespace {

// Length of the valid UTF-8 sequence starting at s[i] (2 to 4), or 0.
size_t utf8_sequence(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  size_t len;
  uint32_t cp;
  if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; }
  else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; }
  else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; }
  else return 0;
  if (s.size() - i < len) return 0;
  for (size_t k = 1; k < len; ++k) {
    const auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  const bool overlong = (len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
                        (len == 4 && cp < 0x10000);
  if (overlong || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  // C1 controls (U+0080..U+009F) move a terminal as C0 ones do.
  if (cp < 0xA0) return 0;
  return len;
}

}  // namespace

std::string excerpt(std::string_view text, size_t max) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    char escaped[4];
    std::string_view piece;
    size_t consumed = 1;
    if (c >= 0x20 && c < 0x7F) {
      piece = text.substr(i, 1);
    } else if (const size_t len = c >= 0x80 ? utf8_sequence(text, i) : 0; len != 0) {
      piece = text.substr(i, len);
      consumed = len;
    } else {
      escaped[0] = '\\', escaped[1] = 'x', escaped[2] = kHex[c >> 4], escaped[3] = kHex[c & 0xF];
      piece = std::string_view(escaped, 4);
    }
    if (out.size() + piece.size() > max) return out.append("…");
    out.append(piece);
    i += consumed;
  }
  return out;
}

}  // namespace weightdiff::io
