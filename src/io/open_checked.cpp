#include "io/open_checked.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "io/paths.hpp"
#include "weightdiff/error.hpp"

namespace weightdiff::io {

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) ::close(fd_);
}

namespace {

// What the descriptor refers to, as a path: the kernel's own name for it,
// so no later lookup of `path` is involved.
std::filesystem::path real_path_of(int fd, const std::string& display) {
  const std::string link = "/proc/self/fd/" + std::to_string(fd);
  std::string buf(256, '\0');
  for (;;) {
    const ssize_t n = ::readlink(link.c_str(), buf.data(), buf.size());
    if (n < 0)  // no /proc: refuse rather than trust a second lookup
      throw Error(Errc::io, std::string("cannot resolve path: ") + std::strerror(errno) + " (" + link + ")",
                  display);
    if (static_cast<size_t>(n) < buf.size()) {
      buf.resize(static_cast<size_t>(n));
      return buf;
    }
    if (buf.size() >= (size_t{1} << 20))
      throw Error(Errc::io, "cannot resolve path: too long", display);
    buf.resize(buf.size() * 2);
  }
}

}  // namespace

OpenedFile open_regular(const std::string& path, const std::vector<std::filesystem::path>* roots,
                        const std::string& display) {
  OpenedFile f;
  // O_NONBLOCK: opening a FIFO must not wait for a writer (it is then
  // refused as not a regular file); it changes nothing for regular files.
  f.fd = UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (f.fd.get() < 0) {
    const int e = errno;
    if (e == ENOENT || e == ENOTDIR || e == ELOOP) throw Error(Errc::io, "file not found", display);
    throw Error(Errc::io, std::string("cannot open: ") + std::strerror(e), display);
  }
  if (::fstat(f.fd.get(), &f.st) != 0)
    throw Error(Errc::io, std::string("cannot stat: ") + std::strerror(errno), display);
  if (!S_ISREG(f.st.st_mode)) throw Error(Errc::io, "not a regular file", display);
  if (roots != nullptr) check_resolved_within(real_path_of(f.fd.get(), display), *roots, display);
  return f;
}

}  // namespace weightdiff::io
