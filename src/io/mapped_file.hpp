// A read-only memory mapping of a whole file, mapped while it is read.
//
// Tensor data is referenced in place; the backends drop ranges already
// processed from the process, which keeps the resident set bounded whatever
// the file size. The mapping itself may be dropped while no one pins the
// file and mapped again on the next pin (io/mapping_budget.hpp), so a model
// of any number of files stays within the kernel's mapping limit.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include "weightdiff/storage.hpp"

struct stat;

namespace weightdiff {

namespace io {
class MappingBudget;
}

class MappedFile final : public Storage {
 public:
  using Roots = std::shared_ptr<const std::vector<std::filesystem::path>>;

  // Opens and maps path; the file's identity (device, inode, size,
  // modification time) is recorded. `display` is the path as the user should
  // see it in messages. Throws Error(io) when it cannot. The mapping is there
  // on return, but only a pin (StoragePin) keeps it.
  static std::shared_ptr<const MappedFile> open(const std::string& path,
                                                const std::string& display);
  // The same for a file a model names (shard, external data): accepted only
  // when the file opened resolves under one of `roots` (SPEC §7 Links),
  // checked on the open descriptor (io/open_checked.hpp), on every open.
  // Throws Error(io) or Error(unsafe_path).
  static std::shared_ptr<const MappedFile> open_within(const std::string& path, Roots roots,
                                                       const std::string& display);
  // Bytes decoded from a file into memory (ONNX typed fields stored as
  // varints), served through the same interface as a mapping. `display` is
  // the file they came from. Pins, release and change checks do nothing for them.
  static std::shared_ptr<const MappedFile> from_bytes(std::vector<std::byte> bytes,
                                                      const std::string& display);
  ~MappedFile() override;

  // The bytes; null for an empty file or while the file is not mapped.
  // Valid while the file is pinned.
  const std::byte* data() const noexcept override { return data_.load(std::memory_order_relaxed); }
  bool contains(const void* address) const noexcept override {
    const auto* p = static_cast<const std::byte*>(address);
    const std::byte* d = data();
    return d != nullptr && p >= d && p < d + size_;
  }
  // Keeps the file mapped until the matching unpin(), mapping it again if it
  // was unmapped: reopened as at first (the containment check included) and
  // accepted only when it is still the same file (device, inode, size,
  // modification time), else Error(changed). Thread-safe.
  void pin() const override;
  void unpin() const noexcept override;
  // Throws Error(changed) when the file at the path is no longer the one
  // mapped (size, modification time or inode differ).
  void check_unchanged() const override;
  uint64_t size() const noexcept override { return size_; }
  const std::string& display_path() const noexcept override { return display_; }
  // The identity recorded at open (0 for bytes in memory): a report
  // destination with the same device and inode would overwrite it.
  uint64_t device() const noexcept override { return device_; }
  uint64_t inode() const noexcept override { return inode_; }
  // False for bytes in memory: nothing to map.
  bool is_file() const noexcept override { return !in_memory_; }

  // Drops the whole pages inside [offset, offset+length) from this process's
  // resident set; the page cache keeps them, so a later read is still cheap.
  // Only while pinned.
  void release(uint64_t offset, uint64_t length) const noexcept override;
  // The same, including the pages the range only partly covers: for when no
  // one else is reading the file (small tensors share pages, which the call
  // above must keep).
  void release_touched(uint64_t offset, uint64_t length) const noexcept override;

 private:
  friend class io::MappingBudget;
  MappedFile() = default;
  static std::shared_ptr<const MappedFile> map_opened(const std::string& path, Roots roots, int fd,
                                                      const struct stat& st,
                                                      const std::string& display);
  // With the budget's mutex held: map `fd` (room made first) / unmap.
  void map_locked(int fd) const;
  void evict_locked() const noexcept;

  mutable std::atomic<const std::byte*> data_{nullptr};
  uint64_t size_ = 0;
  std::string path_, display_;
  Roots roots_;  // null: opened without a containment check
  uint64_t inode_ = 0, device_ = 0;
  int64_t mtime_ns_ = 0;
  std::vector<std::byte> owned_;  // from_bytes: the bytes; data_ points here
  bool in_memory_ = false;
  // Guarded by the budget's mutex. Mapped and unpinned <=> parked.
  mutable size_t pins_ = 0;
  mutable bool parked_ = false;
  mutable std::list<const MappedFile*>::iterator idle_;
};

}  // namespace weightdiff
