// weightdiff::Error — the one exception type the library throws.
//
// Every failure a user can cause (bad option, unreadable or malformed file,
// unsafe path, missing backend) is an Error carrying a class (Errc) that tests
// assert on, and the file/tensor it concerns so the CLI can print one line
// that names them. The CLI maps every Error to exit code 2.
#pragma once

#include <stdexcept>
#include <string>

namespace weightdiff {

enum class Errc {
  usage,        // bad option, gate expression, or filters that leave nothing
  io,           // cannot open / stat / map a file
  malformed,    // the file's content violates its format (SPEC §7)
  unsafe_path,  // a path from a file escapes the model folder (SPEC §7, links)
  conflict,     // a name defined twice (duplicate keys, two shards, --map collision)
  unsupported,  // a format or option this build cannot handle
  backend,      // requested backend is not usable
  changed,      // a file was truncated or changed while being read
  cancelled,    // the caller asked to stop (SIGINT/SIGTERM in the CLI)
};

const char* errc_name(Errc code) noexcept;

class Error : public std::runtime_error {
 public:
  // file and tensor may be empty; the message is composed as
  // "<file>: tensor '<tensor>': <what>".
  Error(Errc code, const std::string& what, const std::string& file = {},
        const std::string& tensor = {});

  Errc code() const noexcept { return code_; }
  const std::string& file() const noexcept { return file_; }
  const std::string& tensor() const noexcept { return tensor_; }
  const std::string& detail() const noexcept { return detail_; }  // `what` as given

 private:
  Errc code_;
  std::string detail_;
  std::string file_;
  std::string tensor_;
};

}  // namespace weightdiff
