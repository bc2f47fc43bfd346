// Prints whether a usable CUDA device exists; exit 0 if so, 1 if not.
#include <cstdio>

#include "probe.hpp"

int main() {
  const auto r = weightdiff::cuda::probe_device();
  std::printf("%s: %d device(s): %s\n", r.usable ? "usable" : "not usable", r.devices,
              r.reason.c_str());
  return r.usable ? 0 : 1;
}
