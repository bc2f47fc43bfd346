#include "cli/report_file.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "weightdiff/error.hpp"

namespace weightdiff::cli {
namespace {

void write_file_atomically(const std::filesystem::path& path, const std::string& given,
                           const std::function<void(std::ostream&)>& write) {
  const std::string tmp = path.string() + ".tmp-" + std::to_string(getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error(Errc::io, "cannot write report", given);
    try {  // a writer that throws must not leave its partial file behind
      write(out);
    } catch (...) {
      out.close();
      std::error_code ignored;
      std::filesystem::remove(tmp, ignored);
      throw;
    }
    out.flush();
    if (!out) {
      std::filesystem::remove(tmp);
      throw Error(Errc::io, "cannot write report", given);
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp);
    throw Error(Errc::io, "cannot write report: " + ec.message(), given);
  }
}

}  // namespace

void write_report(const std::string& given, const std::function<void(std::ostream&)>& write) {
  namespace fs = std::filesystem;
  if (given == "-") {
    write(std::cout);
    std::cout.flush();
    return;
  }
  std::error_code ec;
  fs::path path = fs::weakly_canonical(given, ec);  // follows symlinks
  if (ec || path.empty()) path = given;
  const fs::file_status st = fs::status(path, ec);
  if (!ec && fs::exists(st) && !fs::is_regular_file(st)) {
    std::ofstream out(given, std::ios::binary);
    if (!out) throw Error(Errc::io, "cannot write report", given);
    write(out);
    out.flush();
    if (!out) throw Error(Errc::io, "cannot write report", given);
    return;
  }
  write_file_atomically(path, given, write);
}

}  // namespace weightdiff::cli
