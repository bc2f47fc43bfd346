// Storage: where a tensor's bytes live, behind TensorRef. A mapped file is
// one implementation (src/io/mapped_file.hpp, mapped on demand, pages
// dropped as they are done); memory the caller owns is another
// (borrowed_storage), so arrays already in memory are diffed without a copy
// or a file. The engine and the backends read every kind the same way.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace weightdiff {

class Storage {
 public:
  virtual ~Storage() = default;

  // The bytes; null for an empty storage or while a file is not mapped.
  // Valid between pin() and unpin().
  virtual const std::byte* data() const noexcept = 0;
  virtual uint64_t size() const noexcept = 0;
  // How messages name it (a file's path as given).
  virtual const std::string& display_path() const noexcept = 0;

  // A file that is mapped on demand (pins count against the mapping budget).
  virtual bool is_file() const noexcept { return false; }
  // The identity of the file behind it, 0 for memory: a report written over
  // a file with the same device and inode would destroy an input.
  virtual uint64_t device() const noexcept { return 0; }
  virtual uint64_t inode() const noexcept { return 0; }
  // Keeps data() valid until the matching unpin() (thread-safe; nests).
  // Throws Error(changed) when a file reopened is no longer the same file.
  virtual void pin() const {}
  virtual void unpin() const noexcept {}
  // Throws Error(changed) when the bytes are no longer those first seen.
  virtual void check_unchanged() const {}
  // Drops the whole pages inside [offset, offset+length) from the resident
  // set; release_touched also the pages the range only partly covers.
  virtual void release(uint64_t /*offset*/, uint64_t /*length*/) const noexcept {}
  virtual void release_touched(uint64_t /*offset*/, uint64_t /*length*/) const noexcept {}
  // Whether a fault at `address` is a read of this storage's mapping (the
  // SIGBUS guard names the file that shrank). Memory never faults so.
  virtual bool contains(const void* /*address*/) const noexcept { return false; }

 protected:
  Storage() = default;
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
};

// `size` bytes at `data`, owned by the caller and not copied: they must stay
// valid and unchanged while any TensorRef, Model or result refers to them.
std::shared_ptr<const Storage> borrowed_storage(const void* data, uint64_t size,
                                                std::string display);

// Keeps a storage pinned while it lives (no-op for null).
class StoragePin {
 public:
  explicit StoragePin(const Storage* s) : s_(s) {
    if (s_) s_->pin();
  }
  StoragePin(StoragePin&& o) noexcept : s_(o.s_) { o.s_ = nullptr; }
  StoragePin(const StoragePin&) = delete;
  StoragePin& operator=(const StoragePin&) = delete;
  StoragePin& operator=(StoragePin&&) = delete;
  ~StoragePin() {
    if (s_) s_->unpin();
  }

 private:
  const Storage* s_;
};

}  // namespace weightdiff
