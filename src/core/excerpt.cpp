#include "core/excerpt.hpp"

#include <cstdint>

namespace weightdiff::core {
size_t utf8_sequence_length(std::string_view s, size_t i) noexcept {
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
  return len;
}

size_t printable_char_length(std::string_view s, size_t i) noexcept {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return c >= 0x20 && c < 0x7F ? 1 : 0;
  const size_t len = utf8_sequence_length(s, i);
  // C1 controls are U+0080..U+009F: C2 80 .. C2 9F.
  if (len == 2 && c == 0xC2 && static_cast<unsigned char>(s[i + 1]) < 0xA0) return 0;
  return len;
}

std::string excerpt(std::string_view text, size_t max) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    char escaped[4];
    std::string_view piece;
    size_t consumed = 1;
    if (const size_t len = printable_char_length(text, i); len != 0) {
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

}  // namespace weightdiff::core
