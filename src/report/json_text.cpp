#include "report/json_text.hpp"

#include <array>
#include <charconv>
#include <nlohmann/json.hpp>

#include "report/number_text.hpp"

namespace weightdiff::report {

void JsonText::separate() {
  if (!first_.back()) s_ += ',';
  first_.back() = false;
}

JsonText& JsonText::begin_object() {
  separate();
  s_ += '{';
  first_.push_back(true);
  return *this;
}

JsonText& JsonText::end_object() {
  first_.pop_back();
  s_ += '}';
  return *this;
}

JsonText& JsonText::begin_array() {
  separate();
  s_ += '[';
  first_.push_back(true);
  return *this;
}

JsonText& JsonText::end_array() {
  first_.pop_back();
  s_ += ']';
  return *this;
}

JsonText& JsonText::key(std::string_view k) {
  string(k);
  s_ += ':';
  first_.back() = true;  // the value that follows takes no ','
  return *this;
}

JsonText& JsonText::null() {
  separate();
  s_ += "null";
  return *this;
}

JsonText& JsonText::boolean(bool v) {
  separate();
  s_ += v ? "true" : "false";
  return *this;
}

JsonText& JsonText::number(uint64_t v) {
  separate();
  std::array<char, 24> buf;
  const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  s_.append(buf.data(), r.ptr);
  return *this;
}

JsonText& JsonText::number(int64_t v) {
  separate();
  std::array<char, 24> buf;
  const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  s_.append(buf.data(), r.ptr);
  return *this;
}

JsonText& JsonText::number(double v) {
  if (const auto word = non_finite_name(v)) return string(*word);
  separate();
  // nlohmann's own conversion (Grisu2 and its layout: "1.0", "1e-05"), which
  // is not always the shortest text: the report stays what it was.
  std::array<char, 64> buf;
  char* end = nlohmann::detail::to_chars(buf.data(), buf.data() + buf.size(), v);
  s_.append(buf.data(), end);
  return *this;
}

JsonText& JsonText::string(std::string_view s) {
  // Printable ASCII other than '"' and '\' is written as it is by nlohmann
  // too; anything else (escapes, UTF-8, bytes that are not) goes through it.
  bool plain = true;
  for (const char c : s)
    if (c < 0x20 || c >= 0x7F || c == '"' || c == '\\') {
      plain = false;
      break;
    }
  separate();
  if (plain) {
    s_ += '"';
    s_ += s;
    s_ += '"';
  } else {
    s_ += nlohmann::ordered_json(std::string(s))
              .dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  }
  return *this;
}

JsonText& JsonText::numbers(std::span<const uint64_t> v) {
  begin_array();
  for (const uint64_t x : v) number(x);
  return end_array();
}

JsonText& JsonText::numbers(const Bins& v) {
  begin_array();
  const size_t first = v.stored_first(), last = first + v.stored_count();
  for (size_t i = 0; i < v.size(); ++i) {
    if (i >= first && i < last) {
      number(v[i]);
    } else {
      separate();
      s_ += '0';
    }
  }
  return end_array();
}

JsonText& JsonText::strings(const std::vector<std::string>& v) {
  begin_array();
  for (const auto& x : v) string(x);
  return end_array();
}

JsonText& JsonText::value(const FieldValue& v) {
  return std::visit(
      [this](const auto& x) -> JsonText& {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::monostate>) return null();
        else if constexpr (std::is_same_v<T, std::vector<uint64_t>>) return numbers(x);
        else if constexpr (std::is_same_v<T, std::string>) return string(x);
        else if constexpr (std::is_same_v<T, bool>) return boolean(x);
        else return number(x);  // uint64_t or double
      },
      v);
}

std::string JsonText::take() {
  std::string out;
  out.swap(s_);
  return out;
}

}  // namespace weightdiff::report
