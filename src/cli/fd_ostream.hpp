// An std::ostream over a file descriptor that checks every write: the first
// failure (ENOSPC on /dev/full, EBADF on a closed stdout, EPIPE, ...) is kept
// and the stream fails, so a report is never reported written when it was not.
#pragma once

#include <ostream>
#include <streambuf>

#include "weightdiff/cancel.hpp"

namespace weightdiff::cli {

class FdStreambuf final : public std::streambuf {
 public:
  // Does not own `fd`. Once `cancel` is set, output fails (error ECANCELED).
  explicit FdStreambuf(int fd, const CancelFlag* cancel = nullptr);
  ~FdStreambuf() override = default;
  int error() const noexcept { return error_; }  // errno of the first failure, 0 if none

 protected:
  int_type overflow(int_type c) override;
  int sync() override;

 private:
  bool drain();
  int fd_;
  const CancelFlag* cancel_;
  int error_ = 0;
  char buf_[1 << 16];
};

class FdOstream final : public std::ostream {
 public:
  explicit FdOstream(int fd, const CancelFlag* cancel = nullptr) : std::ostream(nullptr), buf_(fd, cancel) {
    rdbuf(&buf_);
  }
  int error() const noexcept { return buf_.error(); }

 private:
  FdStreambuf buf_;
};

}  // namespace weightdiff::cli
