// Is there a usable CUDA device? "Usable" means a device exists and a probe
// kernel runs on it. No CUDA types leak out of this header.
#pragma once

#include <string>

namespace weightdiff::cuda {

struct ProbeResult {
  bool usable = false;
  int devices = 0;
  std::string reason;  // why not usable, or the device name
};

ProbeResult probe_device() noexcept;

}  // namespace weightdiff::cuda
