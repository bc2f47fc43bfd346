#include "weightdiff/bins.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <stdexcept>

namespace weightdiff {
namespace {

uint8_t width_for(uint64_t max) noexcept {
  if (max <= 0xFF) return 1;
  if (max <= 0xFFFF) return 2;
  if (max <= 0xFFFFFFFFu) return 4;
  return 8;
}

uint16_t checked_size(size_t n) {
  // --hist-range allows at most 2044 bins; the limit is the field's.
  if (n > std::numeric_limits<uint16_t>::max()) throw std::length_error("Bins: too many bins");
  return static_cast<uint16_t>(n);
}

}  // namespace

Bins::Bins(const uint64_t* values, size_t n) {
  size_ = checked_size(n);
  size_t first = 0, last = n;
  while (first < last && values[first] == 0) ++first;
  while (last > first && values[last - 1] == 0) --last;
  store(values + first, first, last - first);
}

Bins::Bins(const Bins& o) : size_(o.size_) {
  if (o.count_ == 0) return;
  const size_t bytes = size_t{o.count_} * o.width_;
  data_ = std::make_unique<unsigned char[]>(bytes);
  std::memcpy(data_.get(), o.data_.get(), bytes);
  first_ = o.first_, count_ = o.count_, width_ = o.width_;
}

Bins& Bins::operator=(const Bins& o) {
  if (this != &o) *this = Bins(o);
  return *this;
}

void Bins::assign(size_t n, uint64_t v) {
  size_ = checked_size(n);
  if (v == 0 || n == 0) {
    data_.reset();
    first_ = count_ = 0;
    width_ = 0;
    return;
  }
  const std::vector<uint64_t> all(n, v);
  store(all.data(), 0, n);
}

uint64_t Bins::load(size_t k) const noexcept {
  const unsigned char* p = data_.get() + k * width_;
  switch (width_) {
    case 1: return *p;
    case 2: {
      uint16_t v;
      std::memcpy(&v, p, 2);
      return v;
    }
    case 4: {
      uint32_t v;
      std::memcpy(&v, p, 4);
      return v;
    }
    default: {
      uint64_t v;
      std::memcpy(&v, p, 8);
      return v;
    }
  }
}

void Bins::store(const uint64_t* values, size_t first, size_t n) {
  data_.reset();
  first_ = static_cast<uint16_t>(first);
  count_ = static_cast<uint16_t>(n);
  width_ = 0;
  if (n == 0) {
    first_ = 0;
    return;
  }
  width_ = width_for(*std::max_element(values, values + n));
  data_ = std::make_unique<unsigned char[]>(n * width_);
  for (size_t k = 0; k < n; ++k) {
    unsigned char* p = data_.get() + k * width_;
    const uint64_t v = values[k];
    switch (width_) {
      case 1: *p = static_cast<unsigned char>(v); break;
      case 2: {
        const auto w = static_cast<uint16_t>(v);
        std::memcpy(p, &w, 2);
        break;
      }
      case 4: {
        const auto w = static_cast<uint32_t>(v);
        std::memcpy(p, &w, 4);
        break;
      }
      default: std::memcpy(p, &v, 8);
    }
  }
}

// Rare (tests, hand-built results): rebuilds the span around the new value.
void Bins::set(size_t i, uint64_t v) {
  if (i >= size_) throw std::out_of_range("Bins::set: index past the end");
  if ((*this)[i] == v) return;
  const size_t lo = count_ ? std::min<size_t>(first_, i) : i;
  const size_t hi = count_ ? std::max<size_t>(first_ + count_, i + 1) : i + 1;
  std::vector<uint64_t> span(hi - lo);
  for (size_t j = lo; j < hi; ++j) span[j - lo] = (*this)[j];
  span[i - lo] = v;
  size_t b = 0, e = span.size();  // trim zeros again (v may be 0)
  while (b < e && span[b] == 0) ++b;
  while (e > b && span[e - 1] == 0) --e;
  store(span.data() + b, lo + b, e - b);
}

bool operator==(const Bins& x, const Bins& y) noexcept {
  if (x.size_ != y.size_) return false;
  for (size_t i = 0; i < x.size_; ++i)
    if (x[i] != y[i]) return false;
  return true;
}

bool operator==(const Bins& x, const std::vector<uint64_t>& y) noexcept {
  if (x.size_ != y.size()) return false;
  for (size_t i = 0; i < y.size(); ++i)
    if (x[i] != y[i]) return false;
  return true;
}

}  // namespace weightdiff
