// The safetensors loader: what it accepts, and every SPEC §7 malformation
// rejected with its Errc and a message naming the file (and the tensor).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "encode.hpp"
#include "io/mapped_file.hpp"
#include "test_files.hpp"
#include "weightdiff/model.hpp"

namespace wdtest {
namespace {

using weightdiff::DType;
using weightdiff::Errc;

// A valid two-tensor file: "w" f32 [2, 3] then "b" f16 [3].
StFile valid_file() {
  StFile f;
  f.tensors.push_back(st_f32("w", {2, 3}, {1, 2, 3, 4, 5, 6}));
  f.tensors.push_back(st_tensor("b", DType::f16, {3}, encode_values(DType::f16, {0.5, -1, 2})));
  return f;
}

class SafetensorsTest : public FileTest {
 protected:
  // Writes f, opens it, expects `code` and a message naming the file and `also`.
  void expect_bad(const StFile& f, Errc code, const std::vector<std::string>& also = {}) {
    write_safetensors(file("m.safetensors"), f);
    expect_bad_file(code, also);
  }
  void expect_bad_bytes(const std::string& bytes, Errc code) {
    write_bytes(file("m.safetensors"), bytes);
    expect_bad_file(code, {});
  }
  void expect_bad_header(const std::string& header, Errc code,
                         const std::vector<std::string>& also = {}) {
    StFile f;
    f.header_json = header;
    expect_bad(f, code, also);
  }
  void expect_bad_file(Errc code, const std::vector<std::string>& also) {
    const std::string p = path("m.safetensors");
    std::vector<std::string> names{p};
    names.insert(names.end(), also.begin(), also.end());
    expect_error([&] { weightdiff::open_model(p); }, code, names);
  }
  // "w" of valid_file() with one field replaced by raw JSON.
  void expect_bad_w(const char* field, const std::string& json, Errc code = Errc::malformed) {
    SCOPED_TRACE(std::string(field) + " = " + json);
    StFile f = valid_file();
    if (std::string(field) == "dtype") f.tensors[0].dtype_json = json;
    if (std::string(field) == "shape") f.tensors[0].shape_json = json;
    if (std::string(field) == "data_offsets") f.tensors[0].offsets_json = json;
    expect_bad(f, code, {"'w'"});
  }
};

TEST_F(SafetensorsTest, ValidFileLoadsSortedWithExtentsAndMetadata) {
  StFile f = valid_file();
  f.metadata = std::map<std::string, std::string>{{"format", "pt"}, {"note", "ü"}};
  write_safetensors(file("m.safetensors"), f);
  const weightdiff::Model m = weightdiff::open_model(path("m.safetensors"));
  EXPECT_EQ(m.path, path("m.safetensors"));
  EXPECT_EQ(m.format, "safetensors");
  EXPECT_EQ(m.metadata, (std::map<std::string, std::string>{{"format", "pt"}, {"note", "ü"}}));
  ASSERT_EQ(m.tensors.size(), 2u);
  const uint64_t data_start = 8 + header_text(f).size();
  const auto& b = m.tensors[0];  // sorted by name
  const auto& w = m.tensors[1];
  EXPECT_EQ(b.name, "b");
  EXPECT_EQ(b.dtype, DType::f16);
  EXPECT_EQ(b.shape, (std::vector<uint64_t>{3}));
  EXPECT_EQ(b.numel, 3u);
  EXPECT_EQ(b.nbytes, 6u);
  EXPECT_EQ(b.offset, data_start + 24);
  EXPECT_EQ(w.name, "w");
  EXPECT_EQ(w.dtype, DType::f32);
  EXPECT_EQ(w.numel, 6u);
  EXPECT_EQ(w.nbytes, 24u);
  EXPECT_EQ(w.offset, data_start);
  EXPECT_EQ(m.bytes, 30u);
  float first;
  std::memcpy(&first, w.data(), 4);
  EXPECT_EQ(first, 1.0f);
}

TEST_F(SafetensorsTest, EverySafetensorsDtypeMaps) {
  const std::pair<const char*, DType> table[] = {
      {"F64", DType::f64}, {"F32", DType::f32},   {"F16", DType::f16},     {"BF16", DType::bf16},
      {"F8_E4M3", DType::f8e4m3fn}, {"F8_E5M2", DType::f8e5m2}, {"I64", DType::i64},
      {"I32", DType::i32}, {"I16", DType::i16},   {"I8", DType::i8},       {"U64", DType::u64},
      {"U32", DType::u32}, {"U16", DType::u16},   {"U8", DType::u8},       {"BOOL", DType::boolean},
  };
  StFile f;
  for (const auto& [name, t] : table) {
    const uint64_t bytes = weightdiff::dtype_bits(t) / 8 * 2;
    f.tensors.push_back(StTensor{std::string("t_") + name, name, {2}, std::vector<uint8_t>(bytes, 1),
                                 {}, {}, {}});
  }
  write_safetensors(file("m.safetensors"), f);
  const weightdiff::Model m = weightdiff::open_model(path("m.safetensors"));
  ASSERT_EQ(m.tensors.size(), std::size(table));
  for (const auto& [name, t] : table) {
    const std::string want = std::string("t_") + name;  // (clang 14 cannot capture a binding)
    const auto it = std::find_if(m.tensors.begin(), m.tensors.end(),
                                 [&](const auto& r) { return r.name == want; });
    ASSERT_NE(it, m.tensors.end()) << name;
    EXPECT_EQ(it->dtype, t) << name;
    EXPECT_TRUE(it->unsupported_dtype.empty()) << name;
  }
}

TEST_F(SafetensorsTest, DefinedButUndecodableDtypeIsKeptAsUnsupported) {
  StFile f = valid_file();
  f.tensors.push_back(StTensor{"e8", "F8_E8M0", {4}, {1, 2, 3, 4}, {}, {}, {}});
  write_safetensors(file("m.safetensors"), f);
  const weightdiff::Model m = weightdiff::open_model(path("m.safetensors"));
  ASSERT_EQ(m.tensors.size(), 3u);
  EXPECT_EQ(m.tensors[1].name, "e8");
  EXPECT_EQ(m.tensors[1].unsupported_dtype, "F8_E8M0");
}

TEST_F(SafetensorsTest, AcceptedVariants) {
  // Data laid out in another order than the header lists it.
  StFile f = valid_file();
  f.tensors[0].offsets_json = "[6,30]";
  f.tensors[1].offsets_json = "[0,6]";
  std::swap(f.tensors[0].data, f.tensors[1].data);
  write_safetensors(file("order.safetensors"), f);
  const auto m = weightdiff::open_model(path("order.safetensors"));
  EXPECT_EQ(m.tensors[1].offset - m.tensors[0].offset, 6u);

  // Header padded with spaces; empty tensors; no tensors at all.
  StFile padded = valid_file();
  padded.header_json = header_text(padded) + "        ";
  write_safetensors(file("padded.safetensors"), padded);
  EXPECT_EQ(weightdiff::open_model(path("padded.safetensors")).tensors.size(), 2u);

  StFile empty;
  empty.tensors.push_back(StTensor{"e", "F32", {0, 4}, {}, {}, {}, {}});
  empty.tensors.push_back(st_f32("x", {1}, {3}));
  write_safetensors(file("empty_tensor.safetensors"), empty);
  EXPECT_EQ(weightdiff::open_model(path("empty_tensor.safetensors")).tensors[0].numel, 0u);

  StFile none;
  none.metadata = std::map<std::string, std::string>{};
  write_safetensors(file("none.safetensors"), none);
  EXPECT_TRUE(weightdiff::open_model(path("none.safetensors")).tensors.empty());

  // Detected from content, whatever the name.
  write_safetensors(file("weights.bin"), valid_file());
  EXPECT_EQ(weightdiff::open_model(path("weights.bin")).format, "safetensors");
}

TEST_F(SafetensorsTest, ShorterThanEightBytes) {
  for (const size_t n : {0, 1, 7}) {
    SCOPED_TRACE(n);
    expect_bad_bytes(std::string(n, '\x01'), Errc::malformed);
  }
}

TEST_F(SafetensorsTest, HeaderLengthOverTheLimitOrPastTheEnd) {
  StFile f = valid_file();
  f.header_len = 100'000'001;
  expect_bad(f, Errc::malformed);
  f.header_len = ~uint64_t{0};  // 8 + len would wrap
  expect_bad(f, Errc::malformed);
  f.header_len = header_text(f).size() + 30 + 1;  // one byte past the end
  expect_bad(f, Errc::malformed);
}

TEST_F(SafetensorsTest, HeaderNotUtf8) {
  for (const char* bad : {"\xff", "\xc0\x80", "\xed\xa0\x80", "\xe2\x82", "\xf4\x90\x80\x80"}) {
    SCOPED_TRACE(::testing::PrintToString(std::string(bad)));
    expect_bad_header(std::string("{\"__metadata__\":{\"k\":\"") + bad + "\"}}", Errc::malformed);
  }
}

TEST_F(SafetensorsTest, HeaderNotJsonOrNotAnObject) {
  for (const char* h : {"", "{", "{\"a\":", "{abc}", "{} x", "{\"a\":1,}"}) {
    SCOPED_TRACE(h);
    expect_bad_header(h, Errc::malformed);
  }
  for (const char* h : {"[]", "\"x\"", "3", "null", "[{}]"}) {
    SCOPED_TRACE(h);
    expect_bad_header(h, Errc::malformed);
  }
}

TEST_F(SafetensorsTest, DuplicateKeysConflict) {
  const std::string w = R"({"dtype":"F32","shape":[1],"data_offsets":[0,4]})";
  StFile f;
  f.tensors.push_back(st_f32("w", {1}, {1}));
  f.header_json = "{\"w\":" + w + ",\"w\":" + w + "}";
  expect_bad(f, Errc::conflict, {"'w'"});
  f.header_json = R"({"w":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  expect_bad(f, Errc::conflict, {"'dtype'"});
  f.header_json = R"({"__metadata__":{"k":"a","k":"b"},"w":)" + w + "}";
  expect_bad(f, Errc::conflict, {"'k'"});
}

TEST_F(SafetensorsTest, MetadataMustBeAStringToStringMap) {
  for (const char* meta : {R"({"k":1})", R"("text")", R"(["a"])", R"({"k":{"x":"y"}})",
                           R"({"k":null})", R"({"k":["v"]})", "7"}) {
    SCOPED_TRACE(meta);
    StFile f = valid_file();
    f.metadata_json = meta;
    expect_bad(f, Errc::malformed);
  }
}

TEST_F(SafetensorsTest, UnknownDtype) {
  expect_bad_w("dtype", "\"F33\"");
  expect_bad_w("dtype", "\"f32\"");  // the format's names are upper case
  expect_bad_w("dtype", "\"\"");
  expect_bad_w("dtype", "32");
  expect_bad_w("dtype", "null");
}

TEST_F(SafetensorsTest, ShapeMustBeNonNegativeIntegers) {
  for (const char* shape : {"[-1,3]", "[2,-3]", "[2.0,3]", "[2.5,3]", "[\"2\",3]", "[2,null]",
                            "6", "null", "\"2x3\"", "{\"0\":6}", "[1e300,3]", "[[2],3]"})
    expect_bad_w("shape", shape);
}

TEST_F(SafetensorsTest, OffsetsMustBeAPairOfNonNegativeIntegers) {
  for (const char* offsets : {"[-24,0]", "[0,-24]", "[0.0,24]", "[0,24.5]", "[\"0\",24]",
                              "[0]", "[0,24,24]", "[]", "24", "null", "[0,1e2]"})
    expect_bad_w("data_offsets", offsets);
  expect_bad_w("data_offsets", "[24,0]");  // end before begin
}

// A hostile header nests arrays 100k deep where a number belongs: the error
// must be a clean malformed-file message (describing, not dumping, the value:
// dumping recurses without bound).
// Refused by the header scan, before any entry is read: the message names
// the file and the nesting limit, not the tensor.
TEST_F(SafetensorsTest, DeeplyNestedValueIsMalformedNotACrash) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  for (const std::string field : {"shape", "data_offsets"}) {
    StFile f = valid_file();
    (field == "shape" ? f.tensors[0].shape_json : f.tensors[0].offsets_json) =
        field == "shape" ? deep : "[" + deep + ",4]";
    expect_bad(f, Errc::malformed, {"nested deeper than 8 levels"});
  }
}

// Names past 16 KiB are refused when the file is opened (formats/limits.hpp).
TEST_F(SafetensorsTest, OverlongTensorNameIsMalformed) {
  StFile ok = st_file({st_f32(std::string(16 * 1024, 'n'), {1}, {1})});
  write_safetensors(file("m.safetensors"), ok);
  EXPECT_EQ(weightdiff::open_model(path("m.safetensors")).tensors.size(), 1u);
  expect_bad(st_file({st_f32(std::string(16 * 1024 + 1, 'n'), {1}, {1})}), Errc::malformed,
             {"tensor name of 16385 bytes"});
}

TEST_F(SafetensorsTest, ShapeProductOrByteSizeOverflow) {
  expect_bad_w("shape", "[4294967296,4294967296]");              // numel = 2^64
  expect_bad_w("shape", "[18446744073709551615,2]");             // numel > 2^64
  expect_bad_w("shape", "[4611686018427387904]");                // f32: 2^62 x 4 bytes = 2^64
  expect_bad_w("shape", "[3,1537228672809129302]");              // f32: 2^64 + 8 bytes
  expect_bad_w("shape", "[18446744073709551616]");               // not even a uint64
}

TEST_F(SafetensorsTest, OffsetsNotContiguousFromZero) {
  StFile gap = valid_file();  // w: 24 bytes, b: 6 bytes
  gap.tensors[1].offsets_json = "[28,34]";
  gap.tensors[1].data.resize(10);
  expect_bad(gap, Errc::malformed, {"'b'"});

  StFile late = valid_file();
  late.tensors[0].offsets_json = "[6,30]";
  late.tensors[1].offsets_json = "[30,36]";
  late.trailing = std::string(6, '\0');
  expect_bad(late, Errc::malformed);

  StFile overlap = valid_file();
  overlap.tensors[1].offsets_json = "[18,24]";
  overlap.tensors[1].data.clear();
  expect_bad(overlap, Errc::malformed);
}

TEST_F(SafetensorsTest, ByteLengthIsNotNumelTimesSize) {
  StFile f = valid_file();
  f.tensors[0].offsets_json = "[0,20]";
  f.tensors[0].data.resize(20);
  f.tensors[1].offsets_json = "[20,26]";
  expect_bad(f, Errc::malformed, {"'w'"});

  StFile g = valid_file();
  g.tensors[0].shape_json = "[2,4]";  // 32 bytes needed, 24 given
  expect_bad(g, Errc::malformed, {"'w'"});
}

TEST_F(SafetensorsTest, BytesAfterTheLastTensor) {
  StFile f = valid_file();
  f.trailing = "x";
  expect_bad(f, Errc::malformed);
}

TEST_F(SafetensorsTest, FileShorterThanTheHeaderSays) {
  for (const uint64_t cut : {1, 6, 30}) {
    SCOPED_TRACE(cut);
    StFile f = valid_file();
    f.truncate = cut;
    expect_bad(f, Errc::malformed);
  }
}

// The header is read in one SAX pass, with no DOM: these pin what a DOM
// walk gave, which the pass must reproduce.

// Written out of name order with the metadata in the middle: loaded sorted,
// each tensor at its own extent.
TEST_F(SafetensorsTest, HeaderOutOfNameOrderLoadsSorted) {
  StFile f;
  for (const int i : {7, 2, 9, 0, 5}) {
    const float v = static_cast<float>(i) + 0.5f;
    f.tensors.push_back(st_f32("t" + std::to_string(i), {2}, {v, -v}));
  }
  f.metadata = std::map<std::string, std::string>{{"z", "1"}, {"a", "2"}};
  write_safetensors(file("m.safetensors"), f);
  const weightdiff::Model m = weightdiff::open_model(path("m.safetensors"));
  const uint64_t data_start = 8 + header_text(f).size();
  ASSERT_EQ(m.tensors.size(), 5u);
  const std::vector<int> text_position{3, 1, 4, 0, 2};  // of t0, t2, t5, t7, t9
  for (size_t i = 0; i < 5; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(m.tensors[i].name, "t" + std::to_string(std::vector<int>{0, 2, 5, 7, 9}[i]));
    EXPECT_EQ(m.tensors[i].offset, data_start + 8 * static_cast<uint64_t>(text_position[i]));
  }
  EXPECT_EQ(m.metadata, (std::map<std::string, std::string>{{"a", "2"}, {"z", "1"}}));
}

// Of several bad entries, the one first in byte order is reported, wherever
// it stands in the text ("__metadata__" sorts between upper and lower case).
TEST_F(SafetensorsTest, FirstBadEntryInNameOrderIsReported) {
  const std::string bad_x = R"({"dtype":"XX","shape":[1],"data_offsets":[0,4]})";
  const std::string bad_y = R"({"dtype":"F32","shape":[2],"data_offsets":[0,4]})";
  StFile f;
  f.header_json = "{\"b\":" + bad_x + ",\"a\":" + bad_y + "}";
  write_safetensors(file("m.safetensors"), f);
  const std::string msg = expect_error([&] { weightdiff::open_model(path("m.safetensors")); },
                                       Errc::malformed, {"'a'", "need 8"});
  EXPECT_EQ(msg.find("'b'"), std::string::npos) << msg;
  f.header_json = "{\"b\":" + bad_x + ",\"__metadata__\":{\"k\":1},\"A\":" + bad_y + "}";
  expect_bad(f, Errc::malformed, {"'A'", "need 8"});
  f.header_json = "{\"b\":" + bad_x + ",\"__metadata__\":{\"k\":1}}";
  expect_bad(f, Errc::malformed, {"__metadata__ value of 'k'"});
}

// Problems come in the DOM's order: syntax anywhere, then a duplicate key
// (the first given twice, in text order, at any depth), then bad entries.
TEST_F(SafetensorsTest, SyntaxThenDuplicatesThenEntries) {
  const std::string bad = R"({"dtype":"XX","shape":[1],"data_offsets":[0,4]})";
  const std::string ok = R"({"dtype":"F32","shape":[1],"data_offsets":[0,4]})";
  StFile f;
  f.header_json = "{\"a\":" + bad + ",\"z\":" + ok + ",\"z\":" + ok + "}";
  expect_bad(f, Errc::conflict, {"duplicate key 'z'"});
  f.header_json = "{\"z\":" + ok + ",\"a\":" + ok + ",\"z\":" + ok + ",\"a\":" + ok + "}";
  expect_bad(f, Errc::conflict, {"duplicate key 'z'"});
  f.header_json = R"({"y":{"dtype":"F32","k":1,"k":2},"z":)" + ok + ",\"z\":" + ok + "}";
  expect_bad(f, Errc::conflict, {"duplicate key 'k'"});
  f.header_json = "{\"z\":" + ok + ",\"z\":" + ok + ",\"w\":}";
  expect_bad(f, Errc::malformed, {"not valid JSON"});
}

TEST_F(SafetensorsTest, MissingFileIsAnIoError) {
  const std::string p = path("absent.safetensors");
  expect_error([&] { weightdiff::open_model(p); }, Errc::io, {p});
}

}  // namespace
}  // namespace wdtest
