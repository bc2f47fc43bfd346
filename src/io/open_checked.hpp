// Opening a file that a model names (shard, external data) in one lookup:
// the file is opened first and what was opened is checked (SPEC §7 Links),
// so a link swapped between a check and an open cannot make us read a file
// outside the model folder.
#pragma once

#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

namespace weightdiff::io {

// An owned file descriptor, closed when it goes.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();
  int get() const noexcept { return fd_; }

 private:
  int fd_ = -1;
};

struct OpenedFile {
  UniqueFd fd;
  struct stat st {};
};

// Opens `path` read-only (links followed) and checks the file it opened: a
// regular file and, when `roots` is not null, one whose real path (as the
// kernel names the open descriptor in /proc/self/fd) lies under one of the
// roots. `display` names the file in errors.
// Throws Error(io) "file not found" / "not a regular file" / "cannot ...",
// Error(unsafe_path) "resolves to '...', outside the model folder".
OpenedFile open_regular(const std::string& path, const std::vector<std::filesystem::path>* roots,
                        const std::string& display);

}  // namespace weightdiff::io
