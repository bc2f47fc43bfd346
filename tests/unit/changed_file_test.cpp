// A file truncated or rewritten while it is being read: Error(changed)
// naming the file (the CLI exits 2), never a SIGBUS (SPEC §7).
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>
#include <unistd.h>

#include <vector>

#include "test_files.hpp"

namespace wdtest {
namespace {

class ChangedFileTest : public FileTest {
 protected:
  void write_pair() {
    std::vector<float> values(1 << 20);
    for (size_t i = 0; i < values.size(); ++i) values[i] = 0.001f * static_cast<float>(i % 997);
    write_safetensors(file("a.safetensors"), st_file({st_f32("w", {values.size()}, values)}));
    write_safetensors(file("b.safetensors"), st_file({st_f32("w", {values.size()}, values)}));
  }
};

TEST_F(ChangedFileTest, TruncatedAfterOpeningIsAnErrorNotASignal) {
  write_pair();
  const auto a = weightdiff::open_model(path("a.safetensors"));
  const auto b = weightdiff::open_model(path("b.safetensors"));
  // The mapping now extends past the end of the file: reading the vanished
  // pages raises SIGBUS.
  ASSERT_EQ(::truncate(path("b.safetensors").c_str(), 4096), 0);
  expect_error([&] { weightdiff::diff_models(a, b, {}); }, weightdiff::Errc::changed,
               {path("b.safetensors"), "changed"});
}

TEST_F(ChangedFileTest, RewrittenInPlaceIsDetected) {
  write_pair();
  const auto a = weightdiff::open_model(path("a.safetensors"));
  const auto b = weightdiff::open_model(path("b.safetensors"));
  // Same size, new bytes: no signal, but the file is not the one opened.
  const std::vector<float> other(1 << 20, 0.5f);
  write_safetensors(file("a.safetensors"), st_file({st_f32("w", {other.size()}, other)}));
  expect_error([&] { weightdiff::diff_models(a, b, {}); }, weightdiff::Errc::changed,
               {path("a.safetensors")});
}

// ONNX external data goes through the same mappings and guard.
TEST_F(ChangedFileTest, OnnxExternalDataTruncatedAfterOpening) {
  std::vector<float> values(1 << 20);
  for (size_t i = 0; i < values.size(); ++i) values[i] = 0.25f * static_cast<float>(i % 13);
  write_bytes(file("w.bin"), std::string(reinterpret_cast<const char*>(values.data()), values.size() * 4));
  onnx::ModelProto m;
  m.set_ir_version(10);
  auto* t = m.mutable_graph()->add_initializer();
  t->set_name("w");
  t->set_data_type(onnx::TensorProto::FLOAT);
  t->add_dims(static_cast<int64_t>(values.size()));
  t->set_data_location(onnx::TensorProto::EXTERNAL);
  auto* e = t->add_external_data();
  e->set_key("location");
  e->set_value("w.bin");
  write_bytes(file("model.onnx"), m.SerializeAsString());
  write_safetensors(file("b.safetensors"), st_file({st_f32("w", {values.size()}, values)}));
  const auto a = weightdiff::open_model(path("model.onnx"));
  const auto b = weightdiff::open_model(path("b.safetensors"));
  ASSERT_EQ(::truncate(path("w.bin").c_str(), 8192), 0);
  expect_error([&] { weightdiff::diff_models(a, b, {}); }, weightdiff::Errc::changed,
               {path("w.bin"), "changed"});
}

TEST_F(ChangedFileTest, UnchangedFilesStillDiff) {
  write_pair();
  const auto r = diff_files(file("a.safetensors"), file("b.safetensors"));
  EXPECT_EQ(r.tensor("w").status, weightdiff::Status::identical);
}

}  // namespace
}  // namespace wdtest
