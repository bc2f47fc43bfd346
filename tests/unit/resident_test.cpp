// Bounded memory: after a diff, the mapped model files are no longer resident
// in the process (the page cache keeps them), also for models made of many
// tensors smaller than a page, which no per-chunk release can drop alone.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "io/mapped_file.hpp"
#include "test_files.hpp"

namespace wdtest {
namespace {

// Resident KiB of the mapping that starts at `start`, from /proc/self/smaps.
long resident_kib(const void* start) {
  std::ifstream smaps("/proc/self/smaps");
  char want[32];
  std::snprintf(want, sizeof want, "%lx-", reinterpret_cast<unsigned long>(start));
  std::string line;
  bool in_mapping = false;
  while (std::getline(smaps, line)) {
    if (line.find('-') != std::string::npos && line.find(' ') > line.find('-') &&
        std::isxdigit(static_cast<unsigned char>(line[0])))
      in_mapping = line.rfind(want, 0) == 0;
    else if (in_mapping && line.rfind("Rss:", 0) == 0)
      return std::stol(line.substr(4));
  }
  return -1;
}

class ResidentTest : public FileTest {};

TEST_F(ResidentTest, ManySubPageTensorsAreDroppedAfterTheDiff) {
  // 4000 tensors of 300 f32 (1200 bytes): no tensor covers a whole page.
  StFile f;
  for (int i = 0; i < 4000; ++i) {
    std::vector<float> v(300);
    for (size_t j = 0; j < v.size(); ++j) v[j] = 0.01f * static_cast<float>((i * 7 + j) % 101);
    char name[16];  // (not "t" + to_string: GCC 12 warns falsely, -Wrestrict)
    std::snprintf(name, sizeof name, "t%06d", i);
    f.tensors.push_back(st_f32(name, {v.size()}, v));
  }
  write_safetensors(file("a.safetensors"), f);
  write_safetensors(file("b.safetensors"), f);
  const auto r = diff_files(file("a.safetensors"), file("b.safetensors"));
  ASSERT_EQ(r.result.summary.identical, 4000u);
  for (const auto* m : {&r.a, &r.b}) {
    const void* start = m->tensors.front().storage->data();
    const long kib = resident_kib(start);
    ASSERT_GE(kib, 0) << "mapping not found in /proc/self/smaps";
    EXPECT_LT(kib, 64) << "of a " << m->tensors.front().storage->size() / 1024 << " KiB file";
  }
}

}  // namespace
}  // namespace wdtest
