// Bins: the counts of one histogram array, stored compactly. A result keeps
// five arrays of --hist-range bins per tensor pair until the reports are
// written; as std::vector<uint64_t> that was 2.2 KiB per pair (a 100k-tensor
// model: 220 MB). Only the span from the first to the last nonzero bin is
// stored, each count in the fewest bytes (1, 2, 4 or 8) its largest needs:
// a small tensor's five arrays take a few dozen bytes, all-zero ones none.
//
// Reads as a std::vector<uint64_t> of size() values would (indexing,
// iteration, comparison with a vector); writes go through set() or the
// proxy of the non-const operator[] and widen the storage as needed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <vector>

namespace weightdiff {

class Bins {
 public:
  Bins() = default;
  explicit Bins(size_t n) { assign(n, 0); }  // n zero bins
  Bins(const uint64_t* values, size_t n);    // a copy of values[0, n)
  explicit Bins(const std::vector<uint64_t>& v) : Bins(v.data(), v.size()) {}
  Bins(const Bins& o);
  Bins(Bins&& o) noexcept { *this = std::move(o); }
  Bins& operator=(const Bins& o);
  Bins& operator=(Bins&& o) noexcept {  // o keeps its size, all zero
    data_ = std::move(o.data_);
    size_ = o.size_, first_ = o.first_, count_ = o.count_, width_ = o.width_;
    o.first_ = o.count_ = 0;
    o.width_ = 0;
    return *this;
  }
  ~Bins() = default;

  size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  // n bins of value v (0: no storage at all).
  void assign(size_t n, uint64_t v);

  uint64_t operator[](size_t i) const noexcept {
    return i >= first_ && i - first_ < count_ ? load(i - first_) : 0;
  }
  uint64_t back() const noexcept { return (*this)[size_ - 1]; }
  void set(size_t i, uint64_t v);

  class Ref {  // what bins[i] = x, ++bins[i] and bins[i] += x need
   public:
    Ref(Bins& b, size_t i) noexcept : b_(b), i_(i) {}
    operator uint64_t() const noexcept { return static_cast<const Bins&>(b_)[i_]; }
    Ref& operator=(uint64_t v) {
      b_.set(i_, v);
      return *this;
    }
    Ref& operator=(const Ref& o) { return *this = static_cast<uint64_t>(o); }
    Ref& operator+=(uint64_t v) { return *this = static_cast<uint64_t>(*this) + v; }
    Ref& operator++() { return *this += 1; }

   private:
    Bins& b_;
    size_t i_;
  };
  Ref operator[](size_t i) noexcept { return Ref(*this, i); }

  class const_iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = uint64_t;
    using difference_type = std::ptrdiff_t;
    using pointer = const uint64_t*;
    using reference = uint64_t;
    const_iterator() = default;
    const_iterator(const Bins* b, size_t i) : b_(b), i_(i) {}
    uint64_t operator*() const noexcept { return (*b_)[i_]; }
    const_iterator& operator++() noexcept {
      ++i_;
      return *this;
    }
    const_iterator operator++(int) noexcept {
      const_iterator t = *this;
      ++i_;
      return t;
    }
    bool operator==(const const_iterator& o) const noexcept { return i_ == o.i_; }

   private:
    const Bins* b_ = nullptr;
    size_t i_ = 0;
  };
  using iterator = const_iterator;
  using value_type = uint64_t;
  const_iterator begin() const noexcept { return {this, 0}; }
  const_iterator end() const noexcept { return {this, size_}; }

  // The stored span [first, first + count): every nonzero bin is inside
  // (readers that skip zeros start there).
  size_t stored_first() const noexcept { return first_; }
  size_t stored_count() const noexcept { return count_; }

  std::vector<uint64_t> to_vector() const { return {begin(), end()}; }
  friend bool operator==(const Bins& x, const Bins& y) noexcept;
  friend bool operator==(const Bins& x, const std::vector<uint64_t>& y) noexcept;

 private:
  uint64_t load(size_t k) const noexcept;
  // Stores values[0, n) of bins [first, first + n) with `width` bytes each.
  void store(const uint64_t* values, size_t first, size_t n);

  std::unique_ptr<unsigned char[]> data_;
  uint16_t size_ = 0, first_ = 0, count_ = 0;
  uint8_t width_ = 0;  // bytes per stored count; 0 when nothing is stored
};

}  // namespace weightdiff
