#include "cli/fd_ostream.hpp"

#include <unistd.h>

#include <cerrno>

namespace weightdiff::cli {

FdStreambuf::FdStreambuf(int fd, const CancelFlag* cancel) : fd_(fd), cancel_(cancel) {
  setp(buf_, buf_ + sizeof(buf_));
}

bool FdStreambuf::drain() {
  if (error_ != 0) return false;
  if (cancel_ != nullptr && cancel_->load(std::memory_order_relaxed)) {
    error_ = ECANCELED;
    return false;
  }
  const char* p = pbase();
  while (p < pptr()) {
    const ssize_t n = ::write(fd_, p, static_cast<size_t>(pptr() - p));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error_ = n < 0 ? errno : EIO;
      return false;
    }
    p += n;
  }
  setp(buf_, buf_ + sizeof(buf_));
  return true;
}

FdStreambuf::int_type FdStreambuf::overflow(int_type c) {
  if (!drain()) return traits_type::eof();
  if (!traits_type::eq_int_type(c, traits_type::eof())) {
    *pptr() = traits_type::to_char_type(c);
    pbump(1);
  }
  return traits_type::not_eof(c);
}

int FdStreambuf::sync() { return drain() ? 0 : -1; }

}  // namespace weightdiff::cli
