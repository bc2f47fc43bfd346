// ONNX loader: every storage form (raw_data, packed and unpacked typed
// fields, external data), Constant nodes, subgraphs, unsupported types, and
// every SPEC §7 rejection with its error class. Models are built with the
// generated onnx_proto classes (the Python suite covers files written by the
// official `onnx` package).
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cstring>
#include <fstream>

#include "io/mapped_file.hpp"
#include "test_files.hpp"
#include "weightdiff/model.hpp"

namespace wdtest {
namespace {

using weightdiff::DType;
using weightdiff::Errc;
using weightdiff::Model;
using weightdiff::TensorRef;

template <typename T>
std::string bytes_of(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

onnx::TensorProto raw_tensor(const std::string& name, int type, std::vector<int64_t> dims,
                             const std::string& raw) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(type);
  for (auto d : dims) t.add_dims(d);
  t.set_raw_data(raw);
  return t;
}

onnx::ModelProto model_with(std::vector<onnx::TensorProto> tensors) {
  onnx::ModelProto m;
  m.set_ir_version(10);
  m.set_producer_name("unit");
  auto* op = m.add_opset_import();
  op->set_version(21);
  for (auto& t : tensors) *m.mutable_graph()->add_initializer() = std::move(t);
  return m;
}

class OnnxTest : public FileTest {
 protected:
  std::string save(const onnx::ModelProto& m, const std::string& name = "model.onnx") {
    std::string bytes;
    EXPECT_TRUE(m.SerializeToString(&bytes));
    write_bytes(file(name), bytes);
    return path(name);
  }
  static const TensorRef& find(const Model& m, const std::string& name) {
    for (const auto& t : m.tensors)
      if (t.name == name) return t;
    throw std::runtime_error("no tensor " + name);
  }
  static std::string data_of(const TensorRef& t) {
    return std::string(reinterpret_cast<const char*>(t.data()), t.nbytes);
  }
  // A one-tensor model whose tensor `mutate` edits.
  template <typename F>
  std::string one_tensor(F&& mutate) {
    auto t = raw_tensor("w", onnx::TensorProto::FLOAT, {2, 3}, bytes_of(std::vector<float>{1, 2, 3, 4, 5, 6}));
    mutate(t);
    return save(model_with({t}));
  }
  // A one-tensor model with external data in model.data.
  template <typename F>
  std::string external(F&& mutate, const std::string& data = bytes_of(std::vector<float>(6, 1.5f))) {
    write_bytes(file("model.data"), data);
    onnx::TensorProto t;
    t.set_name("w");
    t.set_data_type(onnx::TensorProto::FLOAT);
    t.add_dims(2);
    t.add_dims(3);
    t.set_data_location(onnx::TensorProto::EXTERNAL);
    auto add = [&](const std::string& k, const std::string& v) {
      auto* e = t.add_external_data();
      e->set_key(k);
      e->set_value(v);
    };
    add("location", "model.data");
    mutate(t, add);
    return save(model_with({t}));
  }
};

// ------------------------------------------------------------ storage forms

TEST_F(OnnxTest, RawDataIsReferencedInPlace) {
  const std::vector<float> v{1.5f, -2.0f, 3.25f, 0.0f, 7.0f, -1.0f};
  const auto p = save(model_with({raw_tensor("w", onnx::TensorProto::FLOAT, {2, 3}, bytes_of(v))}));
  const Model m = weightdiff::open_model(p);
  EXPECT_EQ(m.format, "onnx");
  const auto& t = find(m, "w");
  EXPECT_EQ(t.dtype, DType::f32);
  EXPECT_EQ(t.shape, (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(data_of(t), bytes_of(v));
  EXPECT_EQ(t.storage->display_path(), p);  // the model file's own mapping
  EXPECT_EQ(m.metadata.at("onnx.producer_name"), "unit");
  EXPECT_EQ(m.metadata.at("onnx.opset.ai.onnx"), "21");
}

TEST_F(OnnxTest, PackedFloatAndDoubleDataStayInPlace) {
  onnx::TensorProto f, d;
  f.set_name("f");
  f.set_data_type(onnx::TensorProto::FLOAT);
  f.add_dims(3);
  for (float x : {1.0f, -0.5f, 2.5f}) f.add_float_data(x);
  d.set_name("d");
  d.set_data_type(onnx::TensorProto::DOUBLE);
  d.add_dims(2);
  for (double x : {1e300, -3.0}) d.add_double_data(x);
  const auto p = save(model_with({f, d}));
  const Model m = weightdiff::open_model(p);
  EXPECT_EQ(data_of(find(m, "f")), bytes_of(std::vector<float>{1.0f, -0.5f, 2.5f}));
  EXPECT_EQ(data_of(find(m, "d")), bytes_of(std::vector<double>{1e300, -3.0}));
  EXPECT_EQ(find(m, "f").storage->display_path(), p);
  EXPECT_GT(find(m, "f").offset, 0u);
}

TEST_F(OnnxTest, Int32DataForEveryNarrowType) {
  struct Case {
    int type;
    DType dtype;
    std::vector<int32_t> values;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {onnx::TensorProto::FLOAT16, DType::f16, {0x3C00, 0xC000, 0x7C00}, bytes_of(std::vector<uint16_t>{0x3C00, 0xC000, 0x7C00})},
      {onnx::TensorProto::BFLOAT16, DType::bf16, {0x3F80, 0xFFC0, 0}, bytes_of(std::vector<uint16_t>{0x3F80, 0xFFC0, 0})},
      {17, DType::f8e4m3fn, {0x38, 0xFF, 0x01}, std::string("\x38\xFF\x01", 3)},
      {18, DType::f8e4m3fnuz, {0x80, 0x40, 0x01}, std::string("\x80\x40\x01", 3)},
      {19, DType::f8e5m2, {0x3C, 0x7C, 0xFE}, std::string("\x3C\x7C\xFE", 3)},
      {20, DType::f8e5m2fnuz, {0x3C, 0x80, 0x00}, std::string("\x3C\x80\x00", 3)},
      {onnx::TensorProto::INT8, DType::i8, {-128, 127, -1}, std::string("\x80\x7F\xFF", 3)},
      {onnx::TensorProto::UINT8, DType::u8, {0, 255, 7}, std::string("\x00\xFF\x07", 3)},
      {onnx::TensorProto::INT16, DType::i16, {-32768, 1, -2}, bytes_of(std::vector<int16_t>{-32768, 1, -2})},
      {onnx::TensorProto::UINT16, DType::u16, {65535, 0, 9}, bytes_of(std::vector<uint16_t>{65535, 0, 9})},
      {onnx::TensorProto::INT32, DType::i32, {INT32_MIN, INT32_MAX, 0}, bytes_of(std::vector<int32_t>{INT32_MIN, INT32_MAX, 0})},
      {onnx::TensorProto::BOOL, DType::boolean, {1, 0, 1}, std::string("\x01\x00\x01", 3)},
  };
  const auto tname = [](size_t i) {  // not "t" + to_string(i): GCC 12's -Wrestrict misfires
    std::string s = "t";
    s += std::to_string(i);
    return s;
  };
  std::vector<onnx::TensorProto> tensors;
  for (size_t i = 0; i < cases.size(); ++i) {
    onnx::TensorProto t;
    t.set_name(tname(i));
    t.set_data_type(cases[i].type);
    t.add_dims(3);
    for (auto v : cases[i].values) t.add_int32_data(v);
    tensors.push_back(t);
  }
  const Model m = weightdiff::open_model(save(model_with(tensors)));
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& t = find(m, tname(i));
    EXPECT_EQ(t.dtype, cases[i].dtype) << i;
    EXPECT_EQ(data_of(t), cases[i].expected) << "case " << i;
  }
}

TEST_F(OnnxTest, Int4PackedTwoPerInt32AndOddCounts) {
  onnx::TensorProto t;
  t.set_name("q");
  t.set_data_type(22);  // INT4: 5 elements = 3 packed bytes
  t.add_dims(5);
  for (int32_t v : {0x21, 0xF3, 0x05}) t.add_int32_data(v);
  const Model m = weightdiff::open_model(save(model_with({t})));
  EXPECT_EQ(find(m, "q").dtype, DType::i4);
  EXPECT_EQ(data_of(find(m, "q")), std::string("\x21\xF3\x05", 3));
  // 4 values for 5 nibbles' 3 bytes is wrong.
  t.add_int32_data(0);
  const auto p = save(model_with({t}), "bad.onnx");
  expect_error([&] { weightdiff::open_model(p); }, Errc::malformed, {"bad.onnx", "'q'", "4 values"});
}

TEST_F(OnnxTest, Int64AndUint64Data) {
  onnx::TensorProto i, u32, u64;
  i.set_name("i");
  i.set_data_type(onnx::TensorProto::INT64);
  i.add_dims(3);
  for (int64_t v : {INT64_MIN, int64_t{-1}, INT64_MAX}) i.add_int64_data(v);
  u32.set_name("u32");
  u32.set_data_type(onnx::TensorProto::UINT32);
  u32.add_dims(2);
  for (uint64_t v : {uint64_t{0xFFFFFFFF}, uint64_t{3}}) u32.add_uint64_data(v);
  u64.set_name("u64");
  u64.set_data_type(onnx::TensorProto::UINT64);
  u64.add_dims(1);
  u64.add_uint64_data(UINT64_MAX);
  const Model m = weightdiff::open_model(save(model_with({i, u32, u64})));
  EXPECT_EQ(data_of(find(m, "i")), bytes_of(std::vector<int64_t>{INT64_MIN, -1, INT64_MAX}));
  EXPECT_EQ(data_of(find(m, "u32")), bytes_of(std::vector<uint32_t>{0xFFFFFFFF, 3}));
  EXPECT_EQ(data_of(find(m, "u64")), bytes_of(std::vector<uint64_t>{UINT64_MAX}));
}

TEST_F(OnnxTest, UnpackedTypedFieldsAreAccepted) {
  // A hand-written TensorProto: float_data (4) as three unpacked fixed32
  // fields and name/dims/type; valid protobuf that packed writers never emit.
  std::string t;
  t += "\x08\x03";                                       // dims: 3
  t += "\x10\x01";                                       // data_type: FLOAT
  t += "\x42\x01w";                                      // name: "w"
  for (float x : {1.0f, 2.0f, -4.0f}) {
    t += '\x25';                                         // field 4, fixed32
    t.append(reinterpret_cast<const char*>(&x), 4);
  }
  std::string graph, model;
  graph.push_back('\x2a');  // initializer
  graph.push_back(static_cast<char>(t.size()));
  graph.append(t);
  model.append("\x08\x0a\x3a");  // ir_version 10, graph
  model.push_back(static_cast<char>(graph.size()));
  model.append(graph);
  write_bytes(file("u.onnx"), model);
  const Model m = weightdiff::open_model(path("u.onnx"));
  EXPECT_EQ(data_of(find(m, "w")), bytes_of(std::vector<float>{1.0f, 2.0f, -4.0f}));
}

TEST_F(OnnxTest, ExternalDataOneFileManyTensorsAndOffsets) {
  std::vector<float> all(10);
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<float>(i) * 0.5f;
  write_bytes(file("weights.bin"), bytes_of(all));
  auto ext = [](const std::string& name, int64_t n, const char* offset, const char* length) {
    onnx::TensorProto t;
    t.set_name(name);
    t.set_data_type(onnx::TensorProto::FLOAT);
    t.add_dims(n);
    t.set_data_location(onnx::TensorProto::EXTERNAL);
    auto add = [&](const char* k, const char* v) {
      auto* e = t.add_external_data();
      e->set_key(k);
      e->set_value(v);
    };
    add("location", "./weights.bin");
    if (offset) add("offset", offset);
    if (length) add("length", length);
    add("checksum", "ignored");
    return t;
  };
  // "a": no offset (0) and a length; "b": an offset and no length (to the end).
  const Model m = weightdiff::open_model(save(model_with({ext("a", 4, nullptr, "16"), ext("b", 6, "16", nullptr)})));
  EXPECT_EQ(data_of(find(m, "a")), bytes_of(std::vector<float>(all.begin(), all.begin() + 4)));
  EXPECT_EQ(data_of(find(m, "b")), bytes_of(std::vector<float>(all.begin() + 4, all.end())));
  EXPECT_EQ(find(m, "a").storage.get(), find(m, "b").storage.get());  // mapped once
  EXPECT_EQ(find(m, "a").storage->display_path(), (dir_.path() / "weights.bin").string());
}

// ------------------------------------------------------------ graph structure

TEST_F(OnnxTest, ConstantsAndSubgraphInitializers) {
  auto m = model_with({raw_tensor("w", onnx::TensorProto::FLOAT, {1}, bytes_of(std::vector<float>{3}))});
  auto* g = m.mutable_graph();
  auto* c = g->add_node();
  c->set_op_type("Constant");
  c->add_output("c.value");
  auto* a = c->add_attribute();
  a->set_name("value");
  a->set_type(onnx::AttributeProto::TENSOR);
  *a->mutable_t() = raw_tensor("inner", onnx::TensorProto::INT64, {2}, bytes_of(std::vector<int64_t>{5, -6}));
  auto* cf = g->add_node();
  cf->set_op_type("Constant");
  cf->add_output("c.float");
  auto* af = cf->add_attribute();
  af->set_name("value_float");
  af->set_type(onnx::AttributeProto::FLOAT);
  af->set_f(-1.25f);
  auto* ci = g->add_node();
  ci->set_op_type("Constant");
  ci->add_output("c.ints");
  auto* ai = ci->add_attribute();
  ai->set_name("value_ints");
  ai->set_type(onnx::AttributeProto::INTS);
  for (int64_t v : {7, -8, 9}) ai->add_ints(v);
  // An If whose branches hold an initializer and a Constant of their own.
  auto* n = g->add_node();
  n->set_op_type("If");
  auto* then_b = n->add_attribute();
  then_b->set_name("then_branch");
  then_b->set_type(onnx::AttributeProto::GRAPH);
  *then_b->mutable_g()->add_initializer() =
      raw_tensor("then.w", onnx::TensorProto::FLOAT16, {1}, bytes_of(std::vector<uint16_t>{0x3C00}));
  auto* inner = then_b->mutable_g()->add_node();
  inner->set_op_type("Constant");
  inner->add_output("then.c");
  auto* ia = inner->add_attribute();
  ia->set_name("value_int");
  ia->set_type(onnx::AttributeProto::INT);
  ia->set_i(42);
  const Model md = weightdiff::open_model(save(m));
  std::vector<std::string> names;
  for (const auto& t : md.tensors) names.push_back(t.name);
  EXPECT_EQ(names, (std::vector<std::string>{"c.float", "c.ints", "c.value", "then.c", "then.w", "w"}));
  EXPECT_EQ(data_of(find(md, "c.value")), bytes_of(std::vector<int64_t>{5, -6}));
  EXPECT_EQ(find(md, "c.float").shape.size(), 0u);
  EXPECT_EQ(data_of(find(md, "c.float")), bytes_of(std::vector<float>{-1.25f}));
  EXPECT_EQ(data_of(find(md, "c.ints")), bytes_of(std::vector<int64_t>{7, -8, 9}));
  EXPECT_EQ(find(md, "c.ints").shape, (std::vector<uint64_t>{3}));
  EXPECT_EQ(data_of(find(md, "then.c")), bytes_of(std::vector<int64_t>{42}));
}

TEST_F(OnnxTest, UnsupportedTypesAndSparseAreListedNotRead) {
  onnx::TensorProto s;
  s.set_name("s");
  s.set_data_type(onnx::TensorProto::STRING);
  s.add_dims(1);
  s.add_string_data("x");
  onnx::TensorProto c = raw_tensor("c", onnx::TensorProto::COMPLEX64, {1}, std::string(8, '\0'));
  onnx::TensorProto f4 = raw_tensor("f4", 23, {2}, std::string(1, '\0'));  // FLOAT4E2M1
  auto m = model_with({s, c, f4});
  auto* sp = m.mutable_graph()->add_sparse_initializer();
  *sp->mutable_values() = raw_tensor("sp", onnx::TensorProto::FLOAT, {1}, bytes_of(std::vector<float>{1}));
  *sp->mutable_indices() = raw_tensor("", onnx::TensorProto::INT64, {1}, bytes_of(std::vector<int64_t>{2}));
  sp->add_dims(4);
  const Model md = weightdiff::open_model(save(m));
  EXPECT_EQ(find(md, "s").unsupported_dtype, "STRING");
  EXPECT_EQ(find(md, "c").unsupported_dtype, "COMPLEX64");
  EXPECT_EQ(find(md, "f4").unsupported_dtype, "FLOAT4E2M1");
  EXPECT_EQ(find(md, "sp").unsupported_dtype, "sparse FLOAT");
  EXPECT_EQ(find(md, "sp").shape, (std::vector<uint64_t>{4}));
}

TEST_F(OnnxTest, DiffAgainstSafetensorsWithTheSameValues) {
  const std::vector<float> v{1.5f, -2.0f, 3.25f, 0.0f};
  save(model_with({raw_tensor("w", onnx::TensorProto::FLOAT, {2, 2}, bytes_of(v))}));
  write_safetensors(file("m.safetensors"), st_file({st_f32("w", {2, 2}, v)}));
  const auto run = diff_files(file("model.onnx"), file("m.safetensors"));
  EXPECT_EQ(run.result.summary.identical, 1u);
  EXPECT_EQ(run.tensor("w").status, weightdiff::Status::identical);
}

// ------------------------------------------------------------ rejections

TEST_F(OnnxTest, NotAModelProto) {
  write_bytes(file("text.onnx"), "just some text\n");
  expect_error([&] { weightdiff::open_model(path("text.onnx")); }, Errc::malformed, {"text.onnx"});
  write_bytes(file("empty.onnx"), "");
  expect_error([&] { weightdiff::open_model(path("empty.onnx")); }, Errc::malformed, {"empty.onnx"});
  write_bytes(file("cut.onnx"), std::string("\x08\x0a\x3a\x40", 4));  // graph length past the end
  expect_error([&] { weightdiff::open_model(path("cut.onnx")); }, Errc::malformed, {"cut.onnx", "byte 2"});
  write_bytes(file("wt.onnx"), std::string("\x08\x0a\x3b\x00", 4));  // wire type 3 group never closed
  expect_error([&] { weightdiff::open_model(path("wt.onnx")); }, Errc::malformed, {"wt.onnx"});
}

TEST_F(OnnxTest, BadTensors) {
  struct Case {
    const char* what;
    std::function<void(onnx::TensorProto&)> mutate;
    Errc code;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"raw short", [](auto& t) { t.set_raw_data(t.raw_data().substr(4)); }, Errc::malformed, "raw_data holds 20 bytes"},
      {"unknown type", [](auto& t) { t.set_data_type(99); }, Errc::malformed, "unknown data_type 99"},
      {"undefined type", [](auto& t) { t.set_data_type(0); }, Errc::malformed, "unknown data_type 0"},
      {"negative dim", [](auto& t) { t.set_dims(0, -1); }, Errc::malformed, "negative dimension"},
      {"overflow", [](auto& t) { t.set_dims(0, INT64_MAX); t.set_dims(1, INT64_MAX); }, Errc::malformed, "overflows"},
      {"two fields", [](auto& t) { t.add_float_data(1); }, Errc::malformed, "more than one data field"},
      {"no data", [](auto& t) { t.clear_raw_data(); }, Errc::malformed, "holds no data"},
      {"wrong field", [](auto& t) { t.clear_raw_data(); for (int i = 0; i < 6; ++i) t.add_int64_data(1); }, Errc::malformed, "cannot be stored"},
      {"typed count", [](auto& t) { t.clear_raw_data(); t.add_float_data(1); }, Errc::malformed, "1 values"},
      {"segment", [](auto& t) { t.mutable_segment()->set_begin(0); }, Errc::unsupported, "segmented"},
      {"external without flag", [](auto& t) { t.clear_raw_data(); auto* e = t.add_external_data(); e->set_key("location"); e->set_value("x"); }, Errc::malformed, "data_location is not EXTERNAL"},
      {"inline and external", [](auto& t) { t.set_data_location(onnx::TensorProto::EXTERNAL); auto* e = t.add_external_data(); e->set_key("location"); e->set_value("x"); }, Errc::malformed, "both inline and external"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    const auto p = one_tensor(c.mutate);
    expect_error([&] { weightdiff::open_model(p); }, c.code, {"model.onnx", "'w'", c.message});
  }
}

TEST_F(OnnxTest, TypedValuesOutOfRange) {
  for (auto [type, value] : {std::pair{onnx::TensorProto::INT8, 128}, {onnx::TensorProto::UINT8, -1},
                             {onnx::TensorProto::FLOAT16, 65536}, {onnx::TensorProto::INT16, -40000}}) {
    SCOPED_TRACE(type);
    onnx::TensorProto t;
    t.set_name("w");
    t.set_data_type(type);
    t.add_dims(1);
    t.add_int32_data(value);
    const auto p = save(model_with({t}));
    expect_error([&] { weightdiff::open_model(p); }, Errc::malformed, {"model.onnx", "'w'", "out of range"});
  }
}

TEST_F(OnnxTest, ExternalDataGood) {
  const auto p = external([](auto&, auto& add) { add("offset", "0"); add("length", "24"); });
  const Model m = weightdiff::open_model(p);
  EXPECT_EQ(data_of(find(m, "w")), bytes_of(std::vector<float>(6, 1.5f)));
}

TEST_F(OnnxTest, ExternalDataRejections) {
  struct Case {
    const char* what;
    std::function<void(onnx::TensorProto&, std::function<void(const std::string&, const std::string&)>)> mutate;
    Errc code;
    std::vector<std::string> names;
  };
  const auto set_location = [](onnx::TensorProto& t, const std::string& v) {
    t.mutable_external_data(0)->set_value(v);
  };
  std::filesystem::create_directory(file("folder.data"));
  const std::vector<Case> cases = {
      {"empty", [&](auto& t, auto) { set_location(t, ""); }, Errc::unsafe_path, {"model.onnx", "'w'", "empty"}},
      {"absolute", [&](auto& t, auto) { set_location(t, path("model.data")); }, Errc::unsafe_path, {"absolute"}},
      {"dotdot", [&](auto& t, auto) { set_location(t, "a/../../model.data"); }, Errc::unsafe_path, {"leaves the model folder"}},
      {"missing", [&](auto& t, auto) { set_location(t, "nope.bin"); }, Errc::io, {"nope.bin", "'w'", "not found"}},
      {"directory", [&](auto& t, auto) { set_location(t, "folder.data"); }, Errc::io, {"folder.data", "not a regular file"}},
      {"unknown key", [](auto&, auto add) { add("compression", "zstd"); }, Errc::malformed, {"unknown external_data key 'compression'"}},
      {"key twice", [](auto&, auto add) { add("offset", "0"); add("offset", "0"); }, Errc::malformed, {"given twice"}},
      {"no location", [](auto& t, auto) { t.mutable_external_data(0)->set_key("basepath"); }, Errc::malformed, {"without a location"}},
      {"offset past end", [](auto&, auto add) { add("offset", "25"); }, Errc::malformed, {"model.data", "past the end"}},
      {"offset at end, length 0", [](auto&, auto add) { add("offset", "24"); }, Errc::malformed, {"holds 0 bytes"}},
      {"length past end", [](auto&, auto add) { add("offset", "4"); add("length", "24"); }, Errc::malformed, {"runs past the end"}},
      {"length short", [](auto&, auto add) { add("length", "20"); }, Errc::malformed, {"holds 20 bytes", "need 24"}},
      {"bad offset", [](auto&, auto add) { add("offset", "0x10"); }, Errc::malformed, {"not a non-negative integer"}},
      {"negative length", [](auto&, auto add) { add("length", "-24"); }, Errc::malformed, {"not a non-negative integer"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    const auto p = external(c.mutate);
    expect_error([&] { weightdiff::open_model(p); }, c.code, c.names);
  }
}

TEST_F(OnnxTest, ExternalSymlinkEscapeRefused) {
  TempDir outside;
  write_bytes(outside / "secret.bin", bytes_of(std::vector<float>(6, 2.0f)));
  const auto p = external([](auto&, auto) {});
  std::filesystem::remove(file("model.data"));
  std::filesystem::create_symlink(outside / "secret.bin", file("model.data"));
  expect_error([&] { weightdiff::open_model(p); }, Errc::unsafe_path, {"model.data", "'w'", "outside the model folder"});
}

// Sibling subgraphs (If branches) may each define `w`: the scopes tell them
// apart. A name defined twice in the main graph stays a conflict.
TEST_F(OnnxTest, SubgraphNamesAreQualifiedOnlyWhenTheyCollide) {
  auto m = model_with({raw_tensor("w", onnx::TensorProto::FLOAT, {1}, bytes_of(std::vector<float>{1}))});
  auto* n = m.mutable_graph()->add_node();
  n->set_op_type("If");
  for (const char* branch : {"then_branch", "else_branch"}) {
    auto* a = n->add_attribute();
    a->set_name(branch);
    a->set_type(onnx::AttributeProto::GRAPH);
    *a->mutable_g()->add_initializer() =
        raw_tensor("w", onnx::TensorProto::FLOAT, {1}, bytes_of(std::vector<float>{branch[0] == 't' ? 2.0f : 3.0f}));
    *a->mutable_g()->add_initializer() =
        raw_tensor(std::string(branch) + ".only", onnx::TensorProto::FLOAT, {1}, bytes_of(std::vector<float>{4}));
  }
  const Model md = weightdiff::open_model(save(m));
  std::vector<std::string> names;
  for (const auto& t : md.tensors) names.push_back(t.name);
  EXPECT_EQ(names, (std::vector<std::string>{"If#0.else_branch/w", "If#0.then_branch/w", "else_branch.only",
                                             "then_branch.only", "w"}));
  EXPECT_EQ(data_of(find(md, "w")), bytes_of(std::vector<float>{1}));
  EXPECT_EQ(data_of(find(md, "If#0.then_branch/w")), bytes_of(std::vector<float>{2}));
  EXPECT_EQ(data_of(find(md, "If#0.else_branch/w")), bytes_of(std::vector<float>{3}));
  // A named node scopes by its name.
  n->set_name("gate");
  const Model named = weightdiff::open_model(save(m, "named.onnx"));
  EXPECT_EQ(find(named, "gate.then_branch/w").numel, 1u);
}

TEST_F(OnnxTest, WireErrorsInATensorNameIt) {
  // raw_data (field 9) sent as a varint: a bad wire type for a bytes field.
  std::string t;
  t += "\x08\x01\x10\x01\x42\x05" "bad_w" "\x48\x07";
  std::string model = std::string("\x08\x0a\x3a", 3);
  model.push_back(static_cast<char>(t.size() + 2));
  model.push_back('\x2a');
  model.push_back(static_cast<char>(t.size()));
  model += t;
  write_bytes(file("wt.onnx"), model);
  expect_error([&] { weightdiff::open_model(path("wt.onnx")); }, Errc::malformed,
               {"wt.onnx", "'bad_w'", "bad wire type"});
}

TEST_F(OnnxTest, LengthsAbove32BitsAreNotTruncated) {
  // A graph whose length varint is 2^32 + 2: read as 32 bits it would be 2
  // and the two bytes after it would parse as a message.
  std::string model("\x08\x0a\x3a\x82\x80\x80\x80\x10\x08\x01", 10);
  write_bytes(file("len.onnx"), model);
  expect_error([&] { weightdiff::open_model(path("len.onnx")); }, Errc::malformed, {"len.onnx", "past the end"});
}

TEST_F(OnnxTest, TooManyTensorsIsRefusedWhileParsing) {
  // 1,000,001 empty initializers in ~12 MB: each would keep a few KiB of
  // statistics; the loader stops at the limit instead.
  std::string graph;
  for (int i = 0; i <= 1'000'000; ++i) {
    std::string t = "\x08";
    t.push_back('\0');  // dims: [0]
    t += "\x10\x01\x42";  // FLOAT, name:
    const std::string name = std::to_string(i);
    t.push_back(static_cast<char>(name.size()));
    t += name;
    graph.push_back('\x2a');
    graph.push_back(static_cast<char>(t.size()));
    graph += t;
  }
  std::string model("\x08\x0a\x3a", 3);
  for (uint64_t n = graph.size(); ; n >>= 7) {  // varint length
    if (n < 0x80) {
      model.push_back(static_cast<char>(n));
      break;
    }
    model.push_back(static_cast<char>(0x80 | (n & 0x7f)));
  }
  model += graph;
  write_bytes(file("many.onnx"), model);
  expect_error([&] { weightdiff::open_model(path("many.onnx")); }, Errc::unsupported,
               {"many.onnx", "1000000 tensors"});
}

TEST_F(OnnxTest, ConstantNamesObeyTheNameLimit) {
  auto m = model_with({});
  auto* c = m.mutable_graph()->add_node();
  c->set_op_type("Constant");
  c->add_output(std::string(16 * 1024 + 1, 'c'));
  auto* a = c->add_attribute();
  a->set_name("value_floats");
  a->add_floats(1);
  const auto p = save(m);
  expect_error([&] { weightdiff::open_model(p); }, Errc::malformed, {"model.onnx", "longer than 16 KiB"});
}

TEST_F(OnnxTest, DuplicateNamesInTheMainGraphConflict) {
  auto m = model_with({raw_tensor("w", onnx::TensorProto::FLOAT, {1}, bytes_of(std::vector<float>{1}))});
  auto* c = m.mutable_graph()->add_node();
  c->set_op_type("Constant");
  c->add_output("w");
  auto* a = c->add_attribute();
  a->set_name("value_float");
  a->set_f(2);
  const auto p = save(m);
  expect_error([&] { weightdiff::open_model(p); }, Errc::conflict, {"model.onnx", "'w'"});
}

TEST_F(OnnxTest, DeeplyNestedSubgraphsRefused) {
  onnx::GraphProto g;
  for (int i = 0; i < 70; ++i) {
    onnx::GraphProto outer;
    auto* n = outer.add_node();
    n->set_op_type("Loop");
    auto* a = n->add_attribute();
    a->set_name("body");
    *a->mutable_g() = g;
    g = outer;
  }
  onnx::ModelProto m = model_with({});
  *m.mutable_graph() = g;
  const auto p = save(m);
  expect_error([&] { weightdiff::open_model(p); }, Errc::malformed, {"model.onnx", "nested"});
}

}  // namespace
}  // namespace wdtest
