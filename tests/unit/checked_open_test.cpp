// Files a model names are checked where they were opened (SPEC §7 Links):
// a link out of the allowed roots is unsafe_path, and a link swapped between
// an inside and an outside file while models open never yields the outside
// file's bytes (one lookup: open, then check the descriptor).
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>

#include "io/mapped_file.hpp"
#include "io/paths.hpp"
#include "test_files.hpp"
#include "weightdiff/model.hpp"

namespace wdtest {
namespace {

using weightdiff::Errc;

class CheckedOpenTest : public FileTest {
 protected:
  fs::path model_dir() const { return dir_.path() / "model"; }
  fs::path outside_dir() const { return dir_.path() / "outside"; }
  void SetUp() override {
    fs::create_directories(model_dir() / "store");
    fs::create_directories(outside_dir());
  }
  // Replaces `link` by a symlink to `target` in one step (rename), as an
  // attacker would: the name always exists.
  static void point(const fs::path& link, const fs::path& target) {
    const fs::path tmp = link.string() + ".tmp";
    fs::remove(tmp);
    fs::create_symlink(target, tmp);
    fs::rename(tmp, link);
  }
};

TEST_F(CheckedOpenTest, LinkOutOfTheRootsIsUnsafe) {
  write_bytes(outside_dir() / "secret.bin", "secret");
  point(model_dir() / "w.bin", outside_dir() / "secret.bin");
  const auto roots = std::make_shared<const std::vector<fs::path>>(weightdiff::io::allowed_roots(model_dir()));
  expect_error([&] { weightdiff::MappedFile::open_within((model_dir() / "w.bin").string(), roots, "w.bin"); },
               Errc::unsafe_path, {"w.bin", "outside the model folder", "secret.bin"});
  // Through a linked folder too: the check is on the file opened, not the name.
  fs::create_directory_symlink(outside_dir(), model_dir() / "sub");
  expect_error([&] { weightdiff::MappedFile::open_within((model_dir() / "sub" / "secret.bin").string(), roots, "s"); },
               Errc::unsafe_path, {"outside the model folder"});
}

TEST_F(CheckedOpenTest, InsideLinkMissingAndNonRegularKeepTheirErrors) {
  write_bytes(model_dir() / "store" / "in.bin", "inside");
  point(model_dir() / "w.bin", fs::path("store") / "in.bin");
  const auto roots = std::make_shared<const std::vector<fs::path>>(weightdiff::io::allowed_roots(model_dir()));
  const auto f = weightdiff::MappedFile::open_within((model_dir() / "w.bin").string(), roots, "w.bin");
  ASSERT_EQ(f->size(), 6u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(f->data()), 6), "inside");
  struct stat st {};
  ASSERT_EQ(::stat((model_dir() / "store" / "in.bin").c_str(), &st), 0);
  EXPECT_EQ(f->inode(), st.st_ino);  // the link's target, not the link
  EXPECT_EQ(f->device(), st.st_dev);
  expect_error([&] { weightdiff::MappedFile::open_within((model_dir() / "none.bin").string(), roots, "none.bin"); },
               Errc::io, {"file not found"});
  point(model_dir() / "dangling.bin", "nowhere");
  expect_error([&] { weightdiff::MappedFile::open_within((model_dir() / "dangling.bin").string(), roots, "d"); },
               Errc::io, {"file not found"});
  expect_error([&] { weightdiff::MappedFile::open_within((model_dir() / "store").string(), roots, "store"); },
               Errc::io, {"not a regular file"});
}

// Enough opens that the former check-then-open (two lookups) failed both race
// tests on every run tried (within 175 to 650 opens), in well under a second.
constexpr int kOpens = 1000;

// A thread swaps `link` between an inside and an outside file while `open`
// runs `opens` times; every open must fail with unsafe_path or see the inside
// bytes. Returns {inside, refused} counts.
template <typename Open>
std::pair<int, int> race(const fs::path& link, const fs::path& inside, const fs::path& outside,
                         int opens, Open&& open) {
  std::atomic<bool> done{false};
  std::thread swapper([&] {
    for (int i = 0; i < 10'000'000 && !done.load(); ++i) {
      const fs::path tmp = link.string() + ".tmp";
      ::unlink(tmp.c_str());
      if (::symlink((i % 2 ? outside : inside).c_str(), tmp.c_str()) != 0) break;
      if (::rename(tmp.c_str(), link.c_str()) != 0) break;
    }
  });
  int in = 0, refused = 0;
  for (int i = 0; i < opens; ++i) {
    try {
      const std::string bytes = open();
      EXPECT_EQ(bytes.find("OUTSIDE"), std::string::npos) << "read the outside file on open " << i;
      if (bytes.find("OUTSIDE") != std::string::npos) break;
      ++in;
    } catch (const weightdiff::Error& e) {
      EXPECT_EQ(e.code(), Errc::unsafe_path) << e.what();
      ++refused;
    }
  }
  done = true;
  swapper.join();
  return {in, refused};
}

std::string bytes_of(const weightdiff::TensorRef& t) {
  return std::string(reinterpret_cast<const char*>(t.data()), t.nbytes);
}

TEST_F(CheckedOpenTest, SwappedExternalDataLinkNeverReadsOutside) {
  // 8 bytes each: a FLOAT tensor of 2 elements.
  write_bytes(model_dir() / "store" / "in.bin", "inside!!");
  write_bytes(outside_dir() / "out.bin", "OUTSIDE!");
  onnx::ModelProto m;
  m.set_ir_version(10);
  m.add_opset_import()->set_version(21);
  onnx::TensorProto* t = m.mutable_graph()->add_initializer();
  t->set_name("w");
  t->set_data_type(onnx::TensorProto::FLOAT);
  t->add_dims(2);
  t->set_data_location(onnx::TensorProto::EXTERNAL);
  auto* loc = t->add_external_data();
  loc->set_key("location");
  loc->set_value("ext.bin");
  std::string proto;
  ASSERT_TRUE(m.SerializeToString(&proto));
  write_bytes(model_dir() / "model.onnx", proto);
  point(model_dir() / "ext.bin", model_dir() / "store" / "in.bin");
  const auto [in, refused] =
      race(model_dir() / "ext.bin", model_dir() / "store" / "in.bin", outside_dir() / "out.bin", kOpens, [&] {
        const weightdiff::Model model = weightdiff::open_model((model_dir() / "model.onnx").string());
        return bytes_of(model.tensors.at(0));
      });
  EXPECT_EQ(in + refused, kOpens);
  std::printf("ONNX: %d opens read the inside file, %d were refused\n", in, refused);
}

TEST_F(CheckedOpenTest, SwappedShardLinkNeverReadsOutside) {
  write_safetensors(model_dir() / "store" / "in.safetensors",
                    st_file({st_tensor("w", weightdiff::DType::u8, {7}, {'i', 'n', 's', 'i', 'd', 'e', '!'})}));
  write_safetensors(outside_dir() / "out.safetensors",
                    st_file({st_tensor("w", weightdiff::DType::u8, {7}, {'O', 'U', 'T', 'S', 'I', 'D', 'E'})}));
  write_bytes(model_dir() / "model.safetensors.index.json",
              R"({"weight_map":{"w":"s.safetensors"}})");
  point(model_dir() / "s.safetensors", model_dir() / "store" / "in.safetensors");
  const auto [in, refused] = race(model_dir() / "s.safetensors", model_dir() / "store" / "in.safetensors",
                                  outside_dir() / "out.safetensors", kOpens, [&] {
                                    const weightdiff::Model model = weightdiff::open_model(model_dir().string());
                                    return bytes_of(model.tensors.at(0));
                                  });
  EXPECT_EQ(in + refused, kOpens);
  std::printf("index: %d opens read the inside file, %d were refused\n", in, refused);
}

}  // namespace
}  // namespace wdtest
