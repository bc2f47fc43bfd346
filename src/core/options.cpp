#include "weightdiff/options.hpp"

#include <charconv>

#include "core/excerpt.hpp"
#include "weightdiff/error.hpp"

namespace weightdiff {
namespace {

constexpr int kMaxDevice = 1023;

}  // namespace

MapRule parse_map_rule(const std::string& spec) {
  const auto eq = spec.find('=');
  if (eq == std::string::npos || eq == 0)
    throw Error(Errc::usage, "--map '" + core::excerpt(spec) + "': expected 'REGEX=REPLACEMENT'");
  return MapRule{spec.substr(0, eq), spec.substr(eq + 1)};
}

BackendKind parse_backend_kind(const std::string& name) {
  if (name == "auto") return BackendKind::automatic;
  if (name == "cpu") return BackendKind::cpu;
  if (name == "cuda") return BackendKind::cuda;
  if (name == "hybrid") return BackendKind::hybrid;
  throw Error(Errc::usage, "--backend '" + core::excerpt(name) + "': expected auto, cpu, cuda or hybrid");
}

const char* backend_kind_name(BackendKind kind) noexcept {
  switch (kind) {
    case BackendKind::automatic: return "auto";
    case BackendKind::cpu: return "cpu";
    case BackendKind::cuda: return "cuda";
    case BackendKind::hybrid: return "hybrid";
  }
  return "?";
}

std::vector<int> parse_device_list(const std::string& text) {
  std::vector<int> out;
  if (text.empty()) return out;
  for (size_t at = 0;;) {
    const size_t end = std::min(text.find(',', at), text.size());
    int v = -1;
    const char* b = text.data() + at;
    const char* e = text.data() + end;
    const auto [ptr, ec] = std::from_chars(b, e, v);
    if (b == e || ec != std::errc() || ptr != e || v < 0 || v > kMaxDevice)
      throw Error(Errc::usage, "--devices '" + core::excerpt(text) +
                                   "': expected a comma-separated list of device numbers, e.g. 0,1");
    out.push_back(v);
    if (end == text.size()) return out;
    at = end + 1;
  }
}

void validate(const ComputeOptions& opt) {
  // Inside the float64 exponent range with one spare exponent at each end:
  // subnormals and overflowing differences then always count as under/over.
  if (opt.hist.lo >= opt.hist.hi || opt.hist.lo < -1021 || opt.hist.hi > 1023)
    throw Error(Errc::usage, "--hist-range must be LO:HI with -1021 <= LO < HI <= 1023");
  for (const int d : opt.devices)
    if (d < 0 || d > kMaxDevice)
      throw Error(Errc::usage, "--devices: device " + std::to_string(d) + " is outside [0, 1023]");
}

}  // namespace weightdiff
