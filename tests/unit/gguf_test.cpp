// GGUF loader on files built in memory byte by byte (served through
// MappedFile::from_bytes, so the parser sees exactly these bytes): dtypes,
// row-major shapes, offsets, metadata text, the block types' byte sizes,
// alignment, and the error class of every rejection. Files written by the
// official gguf package, and the exact messages, are in
// tests/python/test_gguf*.py.
#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <optional>

#include "formats/gguf.hpp"
#include "io/mapped_file.hpp"
#include "test_files.hpp"
#include "weightdiff/model.hpp"

namespace wdtest {
namespace {

using weightdiff::DType;
using weightdiff::Errc;
using weightdiff::Model;
using weightdiff::TensorRef;

// GGUF value and ggml tensor type numbers used below.
enum : uint32_t { kU8 = 0, kI8, kU16, kI16, kU32, kI32, kF32, kBool, kString, kArray, kU64, kI64, kF64 };
enum : uint32_t { kTF32 = 0, kTF16 = 1, kTQ8_0 = 8, kTQ4_K = 12 };

template <typename T>
std::string le(T v) {
  std::string s(sizeof(T), '\0');
  std::memcpy(s.data(), &v, sizeof(T));  // the test hosts are little-endian, as GGUF
  return s;
}

std::string gstr(const std::string& s) { return le<uint64_t>(s.size()) + s; }

std::string kv(const std::string& key, uint32_t type, const std::string& payload) {
  return gstr(key) + le<uint32_t>(type) + payload;
}

// ne in GGUF order, fastest first.
std::string info(const std::string& name, const std::vector<uint64_t>& ne, uint32_t type, uint64_t offset,
                 std::optional<uint32_t> n_dims = std::nullopt) {
  std::string s = gstr(name) + le<uint32_t>(n_dims.value_or(static_cast<uint32_t>(ne.size())));
  for (auto d : ne) s += le<uint64_t>(d);
  s += le<uint32_t>(type);
  s += le<uint64_t>(offset);
  return s;
}

struct Spec {
  uint32_t version = 3;
  std::vector<std::string> kvs;
  std::vector<std::string> infos;
  std::string data;
  uint64_t pad_to = 32;  // the padding written before the data
  std::optional<uint64_t> n_tensors, n_kv;
};

std::string build(const Spec& s) {
  std::string out = "GGUF" + le<uint32_t>(s.version);
  out += le<uint64_t>(s.n_tensors.value_or(s.infos.size()));
  out += le<uint64_t>(s.n_kv.value_or(s.kvs.size()));
  for (const auto& k : s.kvs) out += k;
  for (const auto& i : s.infos) out += i;
  out.append((s.pad_to - out.size() % s.pad_to) % s.pad_to, '\0');
  return out + s.data;
}

std::string f32_bytes(const std::vector<float>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

// Two f32 tensors, a: [8] at 0, b: ne [4, 2] (rows of 4) at 32.
Spec good() {
  Spec s;
  s.kvs = {kv("general.architecture", kString, gstr("llama"))};
  s.infos = {info("a", {8}, kTF32, 0), info("b", {4, 2}, kTF32, 32)};
  s.data = f32_bytes({1, 2, 3, 4, 5, 6, 7, 8}) + f32_bytes({-1, -2, -3, -4, 0.5f, 1.5f, 2.5f, 3.5f});
  return s;
}

Model parse(const std::string& bytes, const std::string& name = "mem.gguf") {
  std::vector<std::byte> b(bytes.size());
  if (!bytes.empty()) std::memcpy(b.data(), bytes.data(), bytes.size());  // the empty prefix too
  return weightdiff::formats::open_gguf(weightdiff::MappedFile::from_bytes(std::move(b), name));
}

const TensorRef& find(const Model& m, const std::string& name) {
  for (const auto& t : m.tensors)
    if (t.name == name) return t;
  throw std::runtime_error("no tensor " + name);
}

std::string bytes_of(const TensorRef& t) { return std::string(reinterpret_cast<const char*>(t.data()), t.nbytes); }

TEST(Gguf, PlainTypesAreComparedWithRowMajorShapesInPlace) {
  struct Case {
    uint32_t type;
    DType dtype;
    unsigned bytes;
  };
  const std::vector<Case> cases = {{0, DType::f32, 4},  {1, DType::f16, 2},  {30, DType::bf16, 2},
                                   {28, DType::f64, 8}, {24, DType::i8, 1},  {25, DType::i16, 2},
                                   {26, DType::i32, 4}, {27, DType::i64, 8}};
  Spec s;
  uint64_t offset = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    std::string name = "t";
    name += std::to_string(i);
    s.infos.push_back(info(name, {3, 2, 2}, cases[i].type, offset));  // 12 elements, row-major [2, 2, 3]
    std::string data;
    for (unsigned k = 0; k < 12 * cases[i].bytes; ++k) data += static_cast<char>(i * 31 + k * 7 + 1);
    s.data += data;
    s.data.append((32 - data.size() % 32) % 32, '\x5a');
    offset = s.data.size();
  }
  const std::string file = build(s);
  const uint64_t data_start = file.size() - s.data.size();
  const Model m = parse(file);
  EXPECT_EQ(m.format, "gguf");
  ASSERT_EQ(m.tensors.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    const TensorRef& t = m.tensors[i];
    SCOPED_TRACE(t.name);
    EXPECT_EQ(t.dtype, cases[i].dtype);
    EXPECT_TRUE(t.unsupported_dtype.empty());
    EXPECT_EQ(t.shape, (std::vector<uint64_t>{2, 2, 3}));
    EXPECT_EQ(t.numel, 12u);
    EXPECT_EQ(t.nbytes, 12u * cases[i].bytes);
    EXPECT_EQ(t.offset % 32, 0u);
    EXPECT_GE(t.offset, data_start);
    EXPECT_EQ(bytes_of(t), file.substr(t.offset, t.nbytes));
    EXPECT_EQ(static_cast<uint8_t>(file[t.offset]), static_cast<uint8_t>(i * 31 + 1));  // its own bytes
  }
}

TEST(Gguf, ScalarsAndEmptyTensors) {
  Spec s = good();
  s.infos.push_back(info("scalar", {}, kTF32, 64));  // n_dims 0: one element, as ggml reads it
  s.infos.push_back(info("empty", {0, 5}, kTF32, 0));
  s.data += f32_bytes({9.5f});
  const Model m = parse(build(s));
  const auto& scalar = find(m, "scalar");
  EXPECT_TRUE(scalar.shape.empty());
  EXPECT_EQ(scalar.numel, 1u);
  float v = 0;
  std::memcpy(&v, scalar.data(), 4);
  EXPECT_EQ(v, 9.5f);
  const auto& empty = find(m, "empty");
  EXPECT_EQ(empty.shape, (std::vector<uint64_t>{5, 0}));
  EXPECT_EQ(empty.numel, 0u);
  EXPECT_EQ(empty.nbytes, 0u);
}

TEST(Gguf, MetadataIsKeptAsText) {
  Spec s = good();
  s.version = 2;
  s.kvs = {kv("k.u8", kU8, le<uint8_t>(255)),
           kv("k.i8", kI8, le<int8_t>(-128)),
           kv("k.u16", kU16, le<uint16_t>(65535)),
           kv("k.i16", kI16, le<int16_t>(-2)),
           kv("k.u32", kU32, le<uint32_t>(4096)),
           kv("k.i32", kI32, le<int32_t>(-7)),
           kv("k.f32", kF32, le<float>(0.1f)),
           kv("k.bool", kBool, le<uint8_t>(0)),
           kv("k.str", kString, gstr("héllo")),
           kv("k.u64", kU64, le<uint64_t>(std::numeric_limits<uint64_t>::max())),
           kv("k.i64", kI64, le<int64_t>(std::numeric_limits<int64_t>::min())),
           kv("k.f64", kF64, le<double>(1e300)),
           kv("k.tokens", kArray, le<uint32_t>(kString) + le<uint64_t>(3) + gstr("a") + gstr("") + gstr("ccc")),
           kv("k.nested", kArray,
              le<uint32_t>(kArray) + le<uint64_t>(2) + le<uint32_t>(kI16) + le<uint64_t>(1) + le<int16_t>(5) +
                  le<uint32_t>(kBool) + le<uint64_t>(2) + std::string("\x01\x00", 2))};
  const Model m = parse(build(s));
  const std::map<std::string, std::string> expect = {
      {"gguf.k.u8", "255"},          {"gguf.k.i8", "-128"},      {"gguf.k.u16", "65535"},
      {"gguf.k.i16", "-2"},          {"gguf.k.u32", "4096"},     {"gguf.k.i32", "-7"},
      {"gguf.k.f32", "0.1"},         {"gguf.k.bool", "false"},   {"gguf.k.str", "héllo"},
      {"gguf.k.u64", "18446744073709551615"},
      {"gguf.k.i64", "-9223372036854775808"},
      {"gguf.k.f64", "1e+300"},      {"gguf.k.tokens", "[array of 3 string]"},
      {"gguf.k.nested", "[array of 2 array]"},
      {"gguf.version", "2"}};
  EXPECT_EQ(m.metadata, expect);
  EXPECT_EQ(find(m, "b").shape, (std::vector<uint64_t>{2, 4}));  // v2 reads as v3
}

TEST(Gguf, BlockTypesAreListedWithGgmlByteSizes) {
  // {id, name, elements per block, bytes per block}: ggml's type_traits.
  struct Case {
    uint32_t id;
    const char* name;
    uint64_t elems, bytes;
  };
  const std::vector<Case> cases = {
      {2, "q4_0", 32, 18},       {3, "q4_1", 32, 20},      {6, "q5_0", 32, 22},    {7, "q5_1", 32, 24},
      {8, "q8_0", 32, 34},       {9, "q8_1", 32, 36},      {10, "q2_K", 256, 84},  {11, "q3_K", 256, 110},
      {12, "q4_K", 256, 144},    {13, "q5_K", 256, 176},   {14, "q6_K", 256, 210}, {15, "q8_K", 256, 292},
      {16, "iq2_xxs", 256, 66},  {17, "iq2_xs", 256, 74},  {18, "iq3_xxs", 256, 98}, {19, "iq1_s", 256, 50},
      {20, "iq4_nl", 32, 18},    {21, "iq3_s", 256, 110},  {22, "iq2_s", 256, 82}, {23, "iq4_xs", 256, 136},
      {29, "iq1_m", 256, 56},    {34, "tq1_0", 256, 54},   {35, "tq2_0", 256, 66}, {39, "mxfp4", 32, 17},
      {40, "nvfp4", 64, 36},     {41, "q1_0", 128, 18}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Spec s;
    const uint64_t nbytes = 2 * 3 * c.bytes;  // 2 rows of 3 blocks
    s.infos = {info("q", {3 * c.elems, 2}, c.id, 0)};
    s.data = std::string(nbytes, '\x3c');
    const Model m = parse(build(s));
    const auto& t = find(m, "q");
    // The ten types weightdiff dequantizes are dtypes of the same name and
    // geometry; the others are listed as unsupported with their ggml name.
    const auto dt = weightdiff::dtype_from_name(c.name);
    if (dt) {
      EXPECT_TRUE(t.unsupported_dtype.empty());
      EXPECT_EQ(t.dtype, *dt);
      EXPECT_EQ(weightdiff::dtype_block_elems(*dt), c.elems);
      EXPECT_EQ(weightdiff::dtype_block_bytes(*dt), c.bytes);
      EXPECT_EQ(weightdiff::dtype_storage_bytes(*dt, 6 * c.elems), nbytes);
    } else {
      EXPECT_EQ(t.unsupported_dtype, c.name);
    }
    EXPECT_EQ(t.shape, (std::vector<uint64_t>{2, 3 * c.elems}));
    EXPECT_EQ(t.nbytes, nbytes);
    // One byte short of the data: the size is really checked.
    s.data.pop_back();
    expect_error([&] { parse(build(s)); }, Errc::malformed, {"mem.gguf", "tensor 'q'", "past the end"});
  }
}

TEST(Gguf, AlignmentPlacesTheDataSection) {
  for (uint32_t align : {1u, 8u, 64u, 4096u}) {
    SCOPED_TRACE(align);
    Spec s = good();
    s.kvs.push_back(kv("general.alignment", kU32, le<uint32_t>(align)));
    s.infos[1] = info("b", {4, 2}, kTF32, align >= 32 ? align : 32);
    s.pad_to = align;
    if (align > 32) s.data.insert(32, align - 32, '\x77');
    const std::string file = build(s);
    const Model m = parse(file);
    EXPECT_EQ(m.metadata.at("gguf.general.alignment"), std::to_string(align));
    EXPECT_EQ(find(m, "a").offset % align, 0u);
    EXPECT_EQ(bytes_of(find(m, "b")), f32_bytes({-1, -2, -3, -4, 0.5f, 1.5f, 2.5f, 3.5f}));
  }
}

TEST(Gguf, EveryStrictPrefixOfAFileIsMalformed) {
  const std::string file = build(good());
  ASSERT_NO_THROW(parse(file));
  for (size_t n = 0; n < file.size(); ++n)
    expect_error([&] { parse(file.substr(0, n)); }, Errc::malformed, {"mem.gguf"});
}

struct BadCase {
  const char* what;
  std::string bytes;
  Errc code;
  std::vector<std::string> must_name;
};

std::vector<BadCase> bad_cases() {
  const auto with = [](auto&& edit) {
    Spec s = good();
    edit(s);
    return build(s);
  };
  std::vector<BadCase> c;
  const auto add = [&](const char* what, std::string bytes, Errc code, std::vector<std::string> names) {
    c.push_back({what, std::move(bytes), code, std::move(names)});
  };
  const Errc M = Errc::malformed;
  std::string bad_magic = build(good());
  bad_magic[3] = 'G';
  add("magic", bad_magic, M, {"magic 'GGUG'"});
  add("version 1", with([](Spec& s) { s.version = 1; }), Errc::unsupported, {"version 1"});
  add("big-endian", with([](Spec& s) { s.version = 0x02000000; }), Errc::unsupported, {"big-endian"});
  add("version 7", with([](Spec& s) { s.version = 7; }), M, {"version 7"});
  add("tensor count", with([](Spec& s) { s.n_tensors = 1u << 20; }), M, {"tensor count 1048576"});
  add("kv count negative", with([](Spec& s) { s.n_kv = ~uint64_t{0}; }), M, {"metadata key count is negative"});
  add("kv type", with([](Spec& s) { s.kvs[0] = kv("x", 13, ""); }), M, {"value type 13"});
  add("array type", with([](Spec& s) { s.kvs[0] = kv("x", kArray, le<uint32_t>(77) + le<uint64_t>(0)); }), M,
      {"item type 77"});
  add("array length", with([](Spec& s) { s.kvs[0] = kv("x", kArray, le<uint32_t>(kU64) + le<uint64_t>(1u << 30)); }),
      M, {"array of 1073741824 uint64"});
  add("string length", with([](Spec& s) { s.kvs[0] = kv("x", kString, le<uint64_t>(~uint64_t{0})); }), M,
      {"'x' value (18446744073709551615 bytes"});
  add("bool", with([](Spec& s) { s.kvs[0] = kv("x", kBool, "\x09"); }), M, {"bool value 9"});
  add("duplicate key", with([](Spec& s) { s.kvs.push_back(s.kvs[0]); }), Errc::conflict,
      {"'general.architecture' defined twice"});
  add("alignment 3", with([](Spec& s) { s.kvs.push_back(kv("general.alignment", kU32, le<uint32_t>(3))); }), M,
      {"alignment 3 is not a power of two"});
  add("alignment type", with([](Spec& s) { s.kvs.push_back(kv("general.alignment", kI32, le<int32_t>(32))); }), M,
      {"must be a uint32, not int32"});
  add("duplicate tensor", with([](Spec& s) { s.infos[1] = info("a", {4, 2}, kTF32, 32); }), Errc::conflict,
      {"tensor 'a'", "defined twice"});
  add("long name", with([](Spec& s) { s.infos[0] = info(std::string(17000, 'n'), {8}, kTF32, 0); }), M,
      {"longer than 16 KiB"});
  add("n_dims 5", with([](Spec& s) { s.infos[1] = info("b", {1, 1, 1, 1, 8}, kTF32, 32); }), M,
      {"tensor 'b'", "5 dimensions"});
  add("negative ne", with([](Spec& s) { s.infos[1] = info("b", {~uint64_t{0}, 2}, kTF32, 32); }), M,
      {"tensor 'b'", "ne[0] is negative (-1)"});
  add("ne overflow", with([](Spec& s) { s.infos[1] = info("b", {1u << 31, 1u << 31, 1u << 31}, kTF32, 32); }), M,
      {"tensor 'b'", "overflows int64"});
  add("bytes overflow", with([](Spec& s) { s.infos[1] = info("b", {uint64_t{1} << 61, 2}, kTF32, 32); }), M,
      {"tensor 'b'", "byte size overflows"});
  add("type 31", with([](Spec& s) { s.infos[1] = info("b", {4, 2}, 31, 32); }), M, {"tensor 'b'", "ggml type 31"});
  add("block multiple", with([](Spec& s) { s.infos[1] = info("b", {48, 2}, kTQ8_0, 32); }), M,
      {"tensor 'b'", "ne[0] = 48", "q8_0 block size 32"});
  add("block zero row", with([](Spec& s) { s.infos[1] = info("b", {0}, kTQ4_K, 32); }), M,
      {"tensor 'b'", "ne[0] = 0"});
  add("misaligned", with([](Spec& s) { s.infos[1] = info("b", {4, 2}, kTF32, 16); }), M,
      {"tensor 'b'", "data offset 16", "alignment 32"});
  add("overlap", with([](Spec& s) { s.infos[0] = info("a", {9}, kTF32, 0); }), M,
      {"tensor 'b'", "overlap tensor 'a'"});
  add("past end", with([](Spec& s) { s.infos[1] = info("b", {4, 2}, kTF32, 64); }), M,
      {"tensor 'b'", "past the end of the file"});
  add("offset overflow", with([](Spec& s) { s.infos[1] = info("b", {4, 2}, kTF32, ~uint64_t{31}); }), M,
      {"tensor 'b'", "overflows 64 bits"});
  add("data cut", with([](Spec& s) { s.data.resize(60); }), M, {"tensor 'b'", "holds 60 bytes"});
  return c;
}

TEST(Gguf, EveryRejectionHasItsClassAndNamesTheFile) {
  const auto cases = bad_cases();
  EXPECT_GE(cases.size(), 25u);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    auto names = c.must_name;
    names.push_back("mem.gguf");
    expect_error([&] { parse(c.bytes); }, c.code, names);
  }
}

TEST(Gguf, TooManyTensorsIsUnsupportedBeforeAnyIsRead) {
  Spec s;
  s.n_tensors = 1'000'001;
  s.data = std::string(24 * 1'000'001, '\0');  // room for the smallest infos: the count is plausible
  expect_error([&] { parse(build(s)); }, Errc::unsupported, {"1000001 tensors"});
}

// Metadata is bounded whatever the file's size (SPEC §7): many keys or huge
// strings cannot make memory grow with the file.
TEST(Gguf, MetadataIsBounded) {
  {  // more keys than any real file: refused before any is read
    Spec s = good();
    s.n_kv = 65537;
    s.data += std::string(65537 * 13, '\0');  // room for the smallest key/values: plausible
    expect_error([&] { parse(build(s)); }, Errc::unsupported, {"65537 metadata keys"});
  }
  {  // a long string value is summarised, not copied into every report
    Spec s = good();
    s.kvs.push_back(kv("tokenizer.chat_template", kString, gstr(std::string(70000, 'x'))));
    s.kvs.push_back(kv("short", kString, gstr(std::string(100, 'y'))));
    const Model m = parse(build(s));
    EXPECT_EQ(m.metadata.at("gguf.tokenizer.chat_template"), "[string of 70000 bytes]");
    EXPECT_EQ(m.metadata.at("gguf.short"), std::string(100, 'y'));
  }
  {  // the text kept, keys and values, stays under 16 MiB
    Spec s = good();
    for (int i = 0; i < 300; ++i) {
      std::string key = "k";
      key += std::to_string(i);
      s.kvs.push_back(kv(key, kString, gstr(std::string(60000, 'z'))));
    }
    expect_error([&] { parse(build(s)); }, Errc::unsupported, {"metadata text of more than 16 MiB"});
  }
}

class GgufFileTest : public FileTest {};

TEST_F(GgufFileTest, FoundByContentByNameAndInAFolder) {
  const std::string bytes = build(good());
  write_bytes(file("weights.bin"), bytes);
  const Model by_content = weightdiff::open_model(path("weights.bin"));
  EXPECT_EQ(by_content.format, "gguf");
  EXPECT_EQ(by_content.tensors.size(), 2u);
  EXPECT_EQ(find(by_content, "b").storage->display_path(), path("weights.bin"));

  fs::create_directories(file("dl"));
  write_bytes(file("dl/model.gguf"), bytes);
  const Model folder = weightdiff::open_model(path("dl"));
  EXPECT_EQ(folder.format, "gguf");
  EXPECT_EQ(folder.path, path("dl"));

  write_bytes(file("dl/other.gguf"), bytes);  // two models: not guessed
  expect_error([&] { weightdiff::open_model(path("dl")); }, Errc::unsupported, {"dl"});

  write_bytes(file("not.gguf"), "PK\x03\x04 not a gguf at all");
  expect_error([&] { weightdiff::open_model(path("not.gguf")); }, Errc::malformed, {"not.gguf", "magic 'PK"});
}

TEST_F(GgufFileTest, DiffAgainstSafetensorsOfTheSameValues) {
  write_bytes(file("m.gguf"), build(good()));
  write_safetensors(file("m.safetensors"),
                    st_file({st_f32("a", {8}, {1, 2, 3, 4, 5, 6, 7, 8}),
                             st_f32("b", {2, 4}, {-1, -2, -3, -4, 0.5f, 1.5f, 2.5f, 3.5f})}));
  const DiffRun same = diff_files(file("m.gguf"), file("m.safetensors"));
  EXPECT_EQ(same.result.summary.identical, 2u);
  write_safetensors(file("c.safetensors"),
                    st_file({st_f32("a", {8}, {1, 2, 3, 4, 5, 6, 7, 8}),
                             st_f32("b", {2, 4}, {-1, -2, -3, -4, 0.5f, 1.5f, 2.5f, 4.5f})}));
  const DiffRun changed = diff_files(file("m.gguf"), file("c.safetensors"));
  EXPECT_EQ(changed.tensor("b").status, weightdiff::Status::different);
  EXPECT_EQ(changed.tensor("b").stats->max_abs_index, 7u);
}

}  // namespace
}  // namespace wdtest
