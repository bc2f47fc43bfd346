// libFuzzer harness: an ONNX model (the input's first part) and one external
// data file beside it (its second part, named weights.bin, the name the seeds'
// external_data locations use).
#include "fuzz_files.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto [model, external] = wdfuzz::split(data, size);
  const auto dir = wdfuzz::scratch() / "onnx";
  std::filesystem::create_directories(dir);
  wdfuzz::write_file(dir / "model.onnx", model);
  wdfuzz::write_file(dir / "weights.bin", external);
  wdfuzz::open_and_diff((dir / "model.onnx").string());
  return 0;
}
