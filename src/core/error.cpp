#include "weightdiff/error.hpp"

#include "core/excerpt.hpp"

namespace weightdiff {
namespace {

std::string compose(const std::string& what, const std::string& file,
                    const std::string& tensor) {
  std::string line;
  if (!file.empty()) line += file + ": ";
  // Names come from the file and may be 16 KiB long legally (and longer in
  // a file refused for it): the line quotes an excerpt.
  if (!tensor.empty()) line += "tensor '" + core::excerpt(tensor) + "': ";
  line += what;
  return line;
}

}  // namespace

const char* errc_name(Errc code) noexcept {
  switch (code) {
    case Errc::usage: return "usage";
    case Errc::io: return "io";
    case Errc::malformed: return "malformed";
    case Errc::unsafe_path: return "unsafe_path";
    case Errc::conflict: return "conflict";
    case Errc::unsupported: return "unsupported";
    case Errc::backend: return "backend";
    case Errc::changed: return "changed";
    case Errc::cancelled: return "cancelled";
  }
  return "unknown";
}

Error::Error(Errc code, const std::string& what, const std::string& file,
             const std::string& tensor)
    : std::runtime_error(compose(what, file, tensor)),
      code_(code), detail_(what), file_(file), tensor_(tensor) {}

}  // namespace weightdiff
