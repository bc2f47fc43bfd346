#include "io/mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "io/open_checked.hpp"
#include "weightdiff/error.hpp"

namespace weightdiff {
namespace {

uint64_t page_size() {
  static const uint64_t size = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  return size;
}

}  // namespace

std::shared_ptr<const MappedFile> MappedFile::open(const std::string& path,
                                                   const std::string& display) {
  const io::OpenedFile f = io::open_regular(path, nullptr, display);
  return map_opened(path, f.fd.get(), f.st, display);
}

std::shared_ptr<const MappedFile> MappedFile::open_within(const std::string& path,
                                                          const std::vector<std::filesystem::path>& roots,
                                                          const std::string& display) {
  const io::OpenedFile f = io::open_regular(path, &roots, display);
  return map_opened(path, f.fd.get(), f.st, display);  // the descriptor checked, not the path again
}

std::shared_ptr<const MappedFile> MappedFile::map_opened(const std::string& path, int fd,
                                                         const struct stat& st,
                                                         const std::string& display) {
  std::shared_ptr<MappedFile> m(new MappedFile());
  m->path_ = path;
  m->display_ = display;
  m->size_ = static_cast<uint64_t>(st.st_size);
  m->inode_ = st.st_ino;
  m->device_ = st.st_dev;
  m->mtime_ns_ = int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
  if (m->size_ > 0) {
    void* p = ::mmap(nullptr, m->size_, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
      throw Error(Errc::io, std::string("cannot map: ") + std::strerror(errno), display);
    m->data_ = static_cast<const std::byte*>(p);
  }
  return m;
}

std::shared_ptr<const MappedFile> MappedFile::from_bytes(std::vector<std::byte> bytes,
                                                         const std::string& display) {
  std::shared_ptr<MappedFile> m(new MappedFile());
  m->display_ = display;
  m->in_memory_ = true;
  m->owned_ = std::move(bytes);
  m->size_ = m->owned_.size();
  if (m->size_ > 0) m->data_ = m->owned_.data();
  return m;
}

void MappedFile::check_unchanged() const {
  if (in_memory_) return;
  struct stat st {};
  const bool same = ::stat(path_.c_str(), &st) == 0 &&
                    static_cast<uint64_t>(st.st_size) == size_ && st.st_ino == inode_ &&
                    st.st_dev == device_ &&
                    int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec == mtime_ns_;
  if (!same) throw Error(Errc::changed, "file changed while reading", display_);
}

void MappedFile::release_touched(uint64_t offset, uint64_t length) const noexcept {
  // Never madvise heap memory: MADV_DONTNEED would zero it.
  if (in_memory_ || data_ == nullptr || offset >= size_) return;
  if (length > size_ - offset) length = size_ - offset;
  const uint64_t begin = offset / page_size() * page_size();
  const uint64_t end = offset + length;  // madvise rounds the length up to whole pages
  ::madvise(const_cast<std::byte*>(data_) + begin, end - begin, MADV_DONTNEED);
}

MappedFile::~MappedFile() {
  if (!in_memory_ && data_ != nullptr) ::munmap(const_cast<std::byte*>(data_), size_);
}

void MappedFile::release(uint64_t offset, uint64_t length) const noexcept {
  if (in_memory_ || data_ == nullptr || offset >= size_) return;
  if (length > size_ - offset) length = size_ - offset;
  // Only pages wholly inside the range: a neighbour tensor may share the edges.
  const uint64_t begin = (offset + page_size() - 1) / page_size() * page_size();
  const uint64_t end = (offset + length) / page_size() * page_size();
  if (end > begin)
    ::madvise(const_cast<std::byte*>(data_) + begin, end - begin, MADV_DONTNEED);
}

}  // namespace weightdiff
