#include "io/mapped_file.hpp"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "io/mapping_budget.hpp"
#include "io/open_checked.hpp"
#include "weightdiff/error.hpp"

namespace weightdiff {
namespace {

uint64_t page_size() {
  static const uint64_t size = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  return size;
}

int64_t mtime_ns(const struct stat& st) {
  return int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
}

}  // namespace

std::shared_ptr<const MappedFile> MappedFile::open(const std::string& path,
                                                   const std::string& display) {
  const io::OpenedFile f = io::open_regular(path, nullptr, display);
  return map_opened(path, nullptr, f.fd.get(), f.st, display);
}

std::shared_ptr<const MappedFile> MappedFile::open_within(const std::string& path, Roots roots,
                                                          const std::string& display) {
  const io::OpenedFile f = io::open_regular(path, roots.get(), display);
  // The descriptor checked is the one mapped: no second lookup of the path.
  return map_opened(path, std::move(roots), f.fd.get(), f.st, display);
}

std::shared_ptr<const MappedFile> MappedFile::map_opened(const std::string& path, Roots roots,
                                                         int fd, const struct stat& st,
                                                         const std::string& display) {
  std::shared_ptr<MappedFile> m(new MappedFile());
  m->path_ = path;
  m->display_ = display;
  m->roots_ = std::move(roots);
  m->size_ = static_cast<uint64_t>(st.st_size);
  m->inode_ = st.st_ino;
  m->device_ = st.st_dev;
  m->mtime_ns_ = mtime_ns(st);
  auto& budget = io::MappingBudget::instance();
  std::lock_guard lock(budget.mutex());
  m->map_locked(fd);
  if (m->data() != nullptr) {  // mapped, pinned by no one yet
    m->idle_ = budget.park(m.get());
    m->parked_ = true;
  }
  return m;
}

void MappedFile::map_locked(int fd) const {
  if (size_ == 0) return;  // nothing to map (mmap refuses a zero length)
  auto& budget = io::MappingBudget::instance();
  budget.make_room();
  void* p = ::mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED)
    throw Error(Errc::io, std::string("cannot map: ") + std::strerror(errno), display_);
  data_.store(static_cast<const std::byte*>(p), std::memory_order_relaxed);
  budget.add_mapped();
}

void MappedFile::evict_locked() const noexcept {
  parked_ = false;
  ::munmap(const_cast<std::byte*>(data()), size_);
  data_.store(nullptr, std::memory_order_relaxed);
}

void MappedFile::pin() const {
  if (in_memory_) return;
  auto& budget = io::MappingBudget::instance();
  std::lock_guard lock(budget.mutex());
  if (pins_ > 0 || size_ == 0) {
    ++pins_;
    return;
  }
  if (parked_) {  // still mapped
    budget.unpark(idle_);
    parked_ = false;
    ++pins_;
    return;
  }
  // Unmapped to make room: the same checked open as the first time, and the
  // same file, or what we would read is not what was catalogued.
  io::OpenedFile f;
  try {
    f = io::open_regular(path_, roots_.get(), display_);
  } catch (const Error& e) {
    // Gone or replaced by something else since the catalog; a link that now
    // leads out of the model folder stays unsafe_path.
    if (e.code() != Errc::io) throw;
    throw Error(Errc::changed, "file changed while reading (now: " + e.detail() + ")", display_);
  }
  if (static_cast<uint64_t>(f.st.st_dev) != device_ || static_cast<uint64_t>(f.st.st_ino) != inode_ ||
      static_cast<uint64_t>(f.st.st_size) != size_ || mtime_ns(f.st) != mtime_ns_)
    throw Error(Errc::changed, "file changed while reading", display_);
  map_locked(f.fd.get());
  ++pins_;
}

void MappedFile::unpin() const noexcept {
  if (in_memory_) return;
  auto& budget = io::MappingBudget::instance();
  std::lock_guard lock(budget.mutex());
  if (pins_ == 0 || --pins_ > 0 || data() == nullptr) return;
  try {
    idle_ = budget.park(this);
    parked_ = true;
  } catch (...) {  // no memory for the list node: unmap now rather than leak the mapping
    evict_locked();
    budget.remove_mapped();
  }
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
                    st.st_dev == device_ && mtime_ns(st) == mtime_ns_;
  if (!same) throw Error(Errc::changed, "file changed while reading", display_);
}

void MappedFile::release_touched(uint64_t offset, uint64_t length) const noexcept {
  // Never madvise heap memory: MADV_DONTNEED would zero it.
  const std::byte* d = data();
  if (in_memory_ || d == nullptr || offset >= size_) return;
  if (length > size_ - offset) length = size_ - offset;
  const uint64_t begin = offset / page_size() * page_size();
  const uint64_t end = offset + length;  // madvise rounds the length up to whole pages
  ::madvise(const_cast<std::byte*>(d) + begin, end - begin, MADV_DONTNEED);
}

MappedFile::~MappedFile() {
  if (in_memory_) return;
  auto& budget = io::MappingBudget::instance();
  std::lock_guard lock(budget.mutex());
  if (parked_) budget.unpark(idle_);
  if (data() != nullptr) {
    ::munmap(const_cast<std::byte*>(data()), size_);
    budget.remove_mapped();
  }
}

void MappedFile::release(uint64_t offset, uint64_t length) const noexcept {
  const std::byte* d = data();
  if (in_memory_ || d == nullptr || offset >= size_) return;
  if (length > size_ - offset) length = size_ - offset;
  // Only pages wholly inside the range: a neighbour tensor may share the edges.
  const uint64_t begin = (offset + page_size() - 1) / page_size() * page_size();
  const uint64_t end = (offset + length) / page_size() * page_size();
  if (end > begin)
    ::madvise(const_cast<std::byte*>(d) + begin, end - begin, MADV_DONTNEED);
}

}  // namespace weightdiff
