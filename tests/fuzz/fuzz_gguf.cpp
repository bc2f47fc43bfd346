// libFuzzer harness: one GGUF file (header, metadata, tensor infos, extent
// checks, and a diff of the model against itself).
#include "fuzz_files.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = wdfuzz::scratch() / "model.gguf";
  wdfuzz::write_file(path, std::string_view(reinterpret_cast<const char*>(data), size));
  wdfuzz::open_and_diff(path.string());
  return 0;
}
