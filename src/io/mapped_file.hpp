// A read-only memory mapping of a whole file.
//
// Tensor data is referenced in place; the backends drop ranges already
// processed from the process, which keeps the resident set bounded whatever
// the file size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

struct stat;

namespace weightdiff {

class MappedFile {
 public:
  // Opens and maps path. `display` is the path as the user should see it in
  // messages. Throws Error(io) when it cannot.
  static std::shared_ptr<const MappedFile> open(const std::string& path,
                                                const std::string& display);
  // The same for a file a model names (shard, external data): accepted only
  // when the file opened resolves under one of `roots` (SPEC §7 Links),
  // checked on the open descriptor (io/open_checked.hpp).
  // Throws Error(io) or Error(unsafe_path).
  static std::shared_ptr<const MappedFile> open_within(
      const std::string& path, const std::vector<std::filesystem::path>& roots,
      const std::string& display);
  // Bytes decoded from a file into memory (ONNX typed fields stored as
  // varints), served through the same interface as a mapping. `display` is
  // the file they came from. Release and change checks do nothing for them.
  static std::shared_ptr<const MappedFile> from_bytes(std::vector<std::byte> bytes,
                                                      const std::string& display);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::byte* data() const noexcept { return data_; }
  bool contains(const void* address) const noexcept {
    const auto* p = static_cast<const std::byte*>(address);
    return data_ != nullptr && p >= data_ && p < data_ + size_;
  }
  // Throws Error(changed) when the file at the path is no longer the one
  // mapped (size, modification time or inode differ).
  void check_unchanged() const;
  uint64_t size() const noexcept { return size_; }
  const std::string& display_path() const noexcept { return display_; }
  // The identity recorded at open (0 for bytes in memory).
  uint64_t device() const noexcept { return device_; }
  uint64_t inode() const noexcept { return inode_; }

  // Drops the whole pages inside [offset, offset+length) from this process's
  // resident set; the page cache keeps them, so a later read is still cheap.
  void release(uint64_t offset, uint64_t length) const noexcept;
  // The same, including the pages the range only partly covers: for when no
  // one else is reading the file (small tensors share pages, which the call
  // above must keep).
  void release_touched(uint64_t offset, uint64_t length) const noexcept;

 private:
  MappedFile() = default;
  static std::shared_ptr<const MappedFile> map_opened(const std::string& path, int fd,
                                                      const struct stat& st,
                                                      const std::string& display);
  const std::byte* data_ = nullptr;
  uint64_t size_ = 0;
  std::string path_, display_;
  uint64_t inode_ = 0, device_ = 0;
  int64_t mtime_ns_ = 0;
  std::vector<std::byte> owned_;  // from_bytes: the bytes; data_ points here
  bool in_memory_ = false;
};

}  // namespace weightdiff
