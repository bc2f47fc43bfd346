#include "cli/report_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "cli/fd_ostream.hpp"
#include "cli/interrupt.hpp"
#include "cli/std_streams.hpp"
#include "weightdiff/error.hpp"

namespace fs = std::filesystem;

namespace weightdiff::cli {
namespace {

bool same_file(const struct stat& a, int fd) {
  struct stat b {};
  return ::fstat(fd, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

[[noreturn]] void fail(int err, const std::string& what, const std::string& given) {
  if (err == ECANCELED) throw Error(Errc::cancelled, "cancelled while writing the report", given);
  throw Error(Errc::io, what + ": " + std::strerror(err != 0 ? err : EIO), given);
}

// stdout or stderr, written through the descriptor so that the error of
// the write that failed is the one reported.
void write_stream(int fd, bool closed, const std::string& what,
                  const std::function<void(std::ostream&)>& write, const CancelFlag* cancel) {
  if (closed) fail(EBADF, "cannot write " + what, "");
  FdOstream out(fd, cancel);
  write(out);
  out.flush();
  if (!out.good()) fail(out.error(), "cannot write " + what, "");
}

// A temporary file beside the destination, removed unless committed.
class TempFile {
 public:
  explicit TempFile(const fs::path& dest) : name_(dest.string() + ".tmp-XXXXXX") {
    // mkostemp: a random name created with O_CREAT|O_EXCL, so a link planted
    // under a predictable name is never followed, and two runs never share one.
    fd_ = ::mkostemp(name_.data(), O_CLOEXEC);
    if (fd_ < 0) name_.clear();
    else set_pending_temp_file(name_);
  }
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!name_.empty()) ::unlink(name_.c_str());
    set_pending_temp_file("");
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  int fd() const noexcept { return fd_; }
  const std::string& name() const noexcept { return name_; }
  // Closes, reporting the error close() gives (NFS reports write errors there).
  int close() {
    const int r = ::close(fd_);
    fd_ = -1;
    return r == 0 ? 0 : errno;
  }
  void committed() { name_.clear(); }

 private:
  std::string name_;
  int fd_ = -1;
};

mode_t new_file_mode() {
  const mode_t mask = ::umask(0);
  ::umask(mask);
  return 0666 & ~mask;
}

void write_file_atomically(const fs::path& path, const std::string& given,
                           const std::function<void(std::ostream&)>& write,
                           const CancelFlag* cancel) {
  struct stat old {};
  const bool exists = ::stat(path.c_str(), &old) == 0;
  TempFile tmp(path);
  if (tmp.fd() < 0) fail(errno, "cannot create a temporary file beside the report", given);
  if (::fchmod(tmp.fd(), exists ? (old.st_mode & 07777) : new_file_mode()) != 0)
    fail(errno, "cannot set the report's permissions", given);
  {
    FdOstream out(tmp.fd(), cancel);
    write(out);  // a writer that throws leaves nothing: ~TempFile
    out.flush();
    if (!out.good()) fail(out.error(), "cannot write report", given);
  }
  if (::fsync(tmp.fd()) != 0) fail(errno, "cannot write report (fsync)", given);
  if (const int err = tmp.close(); err != 0) fail(err, "cannot write report (close)", given);
  throw_if_cancelled(cancel);
  if (::rename(tmp.name().c_str(), path.c_str()) != 0)
    fail(errno, "cannot write report (rename)", given);
  tmp.committed();
  // Make the rename itself durable; a failure here loses nothing written.
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  if (const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

void write_device(const std::string& given, const std::function<void(std::ostream&)>& write,
                  const CancelFlag* cancel) {
  // No O_TRUNC, no O_CREAT: a device or FIFO is written as it is.
  const int fd = ::open(given.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) fail(errno, "cannot open report", given);
  int err = 0;
  {
    FdOstream out(fd, cancel);
    write(out);
    out.flush();
    if (!out.good()) err = out.error() != 0 ? out.error() : EIO;
  }
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err != 0) fail(err, "cannot write report", given);
}

}  // namespace

std::vector<ReportRequest> report_requests(const std::vector<ReportRequest>& options) {
  std::vector<ReportRequest> out;
  std::string names;
  for (const auto& r : options) {
    if (r.path.empty()) continue;
    out.push_back(r);
    if (writes_to_stdout(r.path)) names += (names.empty() ? "" : " and ") + r.option;
  }
  if (names.find(" and ") != std::string::npos)
    throw Error(Errc::usage, names + " all write to stdout: at most one report may");
  return out;
}

bool any_to_stdout(const std::vector<ReportRequest>& reports) {
  for (const auto& r : reports)
    if (writes_to_stdout(r.path)) return true;
  return false;
}

void refuse_reports_over_inputs(const std::vector<ReportRequest>& reports,
                                const std::vector<InputFile>& inputs) {
  for (const auto& r : reports) {
    struct stat st {};
    if (r.path.empty() || r.path == "-" || ::stat(r.path.c_str(), &st) != 0) continue;
    for (const auto& in : inputs)
      if (static_cast<uint64_t>(st.st_dev) == in.device &&
          static_cast<uint64_t>(st.st_ino) == in.inode)
        throw Error(Errc::usage, r.option + " '" + r.path + "' is an input of this run (" +
                                     in.display + "): refusing to overwrite it");
  }
}

bool writes_to_stdout(const std::string& given) {
  if (given == "-") return true;
  struct stat st {};
  return !stdout_was_closed() && ::stat(given.c_str(), &st) == 0 && same_file(st, STDOUT_FILENO);
}

void write_report(const std::string& given, const std::function<void(std::ostream&)>& write,
                  const CancelFlag* cancel) {
  if (writes_to_stdout(given)) {
    write_stream(STDOUT_FILENO, stdout_was_closed(), "report to stdout", write, cancel);
    return;
  }
  struct stat st {};
  const bool exists = ::stat(given.c_str(), &st) == 0;  // follows links
  if (exists && same_file(st, STDERR_FILENO)) {
    write_stream(STDERR_FILENO, false, "report to stderr", write, cancel);
    return;
  }
  if (exists && !S_ISREG(st.st_mode)) {
    write_device(given, write, cancel);
    throw_if_cancelled(cancel);
    return;
  }
  std::error_code ec;
  fs::path path = fs::weakly_canonical(given, ec);  // follows links: the link stays
  if (ec || path.empty()) path = given;
  write_file_atomically(path, given, write, cancel);
}

void write_to_stdout(const std::string& what, const std::function<void(std::ostream&)>& write) {
  write_stream(STDOUT_FILENO, stdout_was_closed(), what + " to stdout", write, nullptr);
}

}  // namespace weightdiff::cli
