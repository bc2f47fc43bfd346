// libFuzzer harness: a sharded folder's model.safetensors.index.json (the
// input's first part) beside one shard (its second part) named by the seeds.
#include "fuzz_files.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto [index, shard] = wdfuzz::split(data, size);
  const auto dir = wdfuzz::scratch() / "index";
  std::filesystem::create_directories(dir);
  wdfuzz::write_file(dir / "model.safetensors.index.json", index);
  wdfuzz::write_file(dir / "model-00001-of-00001.safetensors", shard);
  wdfuzz::open_and_diff((dir / "model.safetensors.index.json").string());
  return 0;
}
