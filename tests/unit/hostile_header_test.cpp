// Hostile headers (SPEC §7): file content quoted in a message is cut and
// made printable; JSON nesting and array length are limited before a DOM is
// built; a safetensors header with a BOM or NUL padding is refused as the
// reference implementation refuses it.
#include <gtest/gtest.h>

#include <string>

#include "core/excerpt.hpp"
#include "test_files.hpp"
#include "weightdiff/error.hpp"
#include "weightdiff/model.hpp"

namespace wdtest {
namespace {

using weightdiff::Errc;
using weightdiff::core::excerpt;

constexpr size_t kTenMB = 10'000'000;
// A message quoting at most one 200-byte excerpt plus the path and wording.
constexpr size_t kShortLine = 1000;

TEST(Excerpt, KeepsShortPrintableTextAsItIs) {
  EXPECT_EQ(excerpt("F32"), "F32");
  EXPECT_EQ(excerpt("gewicht.ü.日本"), "gewicht.ü.日本");
  EXPECT_EQ(excerpt(""), "");
}

TEST(Excerpt, EscapesControlBytesAndBrokenUtf8) {
  EXPECT_EQ(excerpt(std::string("a\nb\0c\x7f", 6)), "a\\x0Ab\\x00c\\x7F");
  EXPECT_EQ(excerpt("\x1b[31m"), "\\x1B[31m");
  EXPECT_EQ(excerpt("\xff\xfe"), "\\xFF\\xFE");
  EXPECT_EQ(excerpt("\xc3"), "\\xC3");          // truncated sequence
  EXPECT_EQ(excerpt("\xc0\xaf"), "\\xC0\\xAF");  // overlong '/'
  EXPECT_EQ(excerpt("\xc2\x9b"), "\\xC2\\x9B");  // C1 control (CSI)
}

TEST(Excerpt, CutsAtTheLimitWithoutSplittingACharacterOrEscape) {
  const std::string cut = excerpt(std::string(kTenMB, 'a'));
  EXPECT_EQ(cut, std::string(200, 'a') + "…");
  EXPECT_EQ(excerpt("abcdef", 3), "abc…");
  EXPECT_EQ(excerpt("ab\n", 4), "ab…");     // the escape would pass 4 bytes
  EXPECT_EQ(excerpt("aü", 2), "a…");        // ü is 2 bytes
  EXPECT_EQ(excerpt(std::string(kTenMB, '\0')).size(), 200 + std::string("…").size());
}

TEST(ErrorLine, CutsTheTensorNameButKeepsItWholeInTensor) {
  const std::string name(16 * 1024, 'n');
  const weightdiff::Error e(Errc::malformed, "bad", "m.safetensors", name);
  EXPECT_EQ(std::string(e.what()), "m.safetensors: tensor '" + std::string(200, 'n') + "…': bad");
  EXPECT_EQ(e.tensor(), name);
  const weightdiff::Error ctl(Errc::malformed, "bad", "f", "a\nb");
  EXPECT_EQ(std::string(ctl.what()), "f: tensor 'a\\x0Ab': bad");
}

class HostileHeaderTest : public FileTest {
 protected:
  // Opens a safetensors file with `header` (and the data of `data`) and
  // returns the error line, expecting `code`.
  std::string open_bad(const std::string& header, Errc code, const std::string& data = {}) {
    StFile f;
    f.header_json = header;
    f.trailing = data;
    write_safetensors(file("m.safetensors"), f);
    const std::string p = path("m.safetensors");
    const std::string line = expect_error([&] { weightdiff::open_model(p); }, code, {p});
    EXPECT_LT(line.size(), kShortLine) << line.substr(0, 300);
    return line;
  }
  // A valid one-tensor header with `tail` after its closing brace.
  static std::string x_header(const std::string& tail = {}) {
    return R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})" + tail;
  }
  static std::string x_data() { return std::string(8, '\0'); }
};

TEST_F(HostileHeaderTest, TenMegabyteDtypeIsQuotedCut) {
  const std::string line = open_bad(
      R"({"x":{"dtype":")" + std::string(kTenMB, 'D') + R"(","shape":[0],"data_offsets":[0,0]}})",
      Errc::malformed);
  EXPECT_NE(line.find("unknown dtype '" + std::string(200, 'D') + "…'"), std::string::npos) << line;
}

TEST_F(HostileHeaderTest, DtypeWithControlBytesIsMadePrintable) {
  const std::string line = open_bad(
      R"({"x":{"dtype":"F\u001b[2J","shape":[0],"data_offsets":[0,0]}})", Errc::malformed);
  EXPECT_NE(line.find("unknown dtype 'F\\x1B[2J'"), std::string::npos) << line;
}

TEST_F(HostileHeaderTest, TenMegabyteUnterminatedStringOrNumberIsCut) {
  open_bad(R"({")" + std::string(kTenMB, 'a'), Errc::malformed);
  open_bad(R"({"x":)" + std::string(kTenMB, '1') + "e", Errc::malformed);
  open_bad(R"({"x":1)" + std::string(kTenMB, '9') + "e99999}", Errc::malformed);  // overflow
}

TEST_F(HostileHeaderTest, TenMegabyteKeysAreCut) {
  const std::string key(kTenMB, 'k');
  open_bad("{\"" + key + "\":1,\"" + key + "\":1}", Errc::conflict);
  open_bad(R"({"__metadata__":{")" + key + R"(":1}})", Errc::malformed);
  // A tensor name over the limit.
  open_bad("{\"" + key + R"(":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}})", Errc::malformed);
}

TEST_F(HostileHeaderTest, NestingDeeperThanEightLevelsIsRefusedBeforeTheDom) {
  const std::string line = open_bad(std::string(kTenMB, '['), Errc::malformed);
  EXPECT_NE(line.find("nested deeper than 8 levels"), std::string::npos) << line;
  open_bad(R"({"__metadata__":{"a":[[[[[[[[1]]]]]]]}})", Errc::malformed);  // 10 levels
  // 8 levels pass the scan (and fail later, on what the value is).
  const std::string eight = open_bad(R"({"__metadata__":{"a":[[[[[[1]]]]]]}})", Errc::malformed);
  EXPECT_NE(eight.find("__metadata__ value of 'a' is not a string"), std::string::npos) << eight;
}

TEST_F(HostileHeaderTest, ArraysOfMoreThan1024ElementsAreRefused) {
  std::string shape = "[";
  for (int i = 0; i < 1025; ++i) shape += i ? ",0" : "0";
  const std::string line = open_bad(
      R"({"x":{"dtype":"F32","shape":)" + shape + R"(],"data_offsets":[0,0]}})", Errc::malformed);
  EXPECT_NE(line.find("array of more than 1024 elements"), std::string::npos) << line;
}

TEST_F(HostileHeaderTest, ByteOrderMarkIsRefused) {
  const std::string line = open_bad("\xEF\xBB\xBF" + x_header(), Errc::malformed, x_data());
  EXPECT_NE(line.find("byte order mark"), std::string::npos) << line;
}

TEST_F(HostileHeaderTest, NulPaddingOrNulBeforeGarbageIsRefused) {
  open_bad(x_header(std::string(6, '\0')), Errc::malformed, x_data());
  open_bad(x_header(std::string("\0garbage", 8)), Errc::malformed, x_data());
  const std::string line = open_bad(x_header("  " + std::string(4, '\0')), Errc::malformed, x_data());
  EXPECT_NE(line.find("NUL byte (byte 56)"), std::string::npos) << line;
}

TEST_F(HostileHeaderTest, WhitespacePaddingIsAcceptedAsByTheReference) {
  // serde_json (the safetensors crate) skips JSON whitespace around the value.
  for (const std::string pad : {"    ", " \t\r\n"}) {
    StFile f;
    f.header_json = x_header(pad);
    f.trailing = x_data();
    write_safetensors(file("m.safetensors"), f);
    EXPECT_EQ(weightdiff::open_model(path("m.safetensors")).tensors.size(), 1u);
  }
}

class HostileIndexTest : public FileTest {};

TEST_F(HostileIndexTest, TenMegabyteShardPathIsCut) {
  for (const std::string& shard :
       {std::string(kTenMB, 's'), "/" + std::string(kTenMB, 's'), "../" + std::string(kTenMB, 's')}) {
    write_bytes(file("m.safetensors.index.json"),
                R"({"weight_map":{"x":")" + shard + R"("}})");
    const std::string p = path("m.safetensors.index.json");
    const std::string line = expect_error([&] { weightdiff::open_model(p); },
                                          shard[0] == 's' ? Errc::malformed : Errc::unsafe_path, {p});
    EXPECT_LT(line.size(), kShortLine) << line.substr(0, 300);
  }
}

}  // namespace
}  // namespace wdtest
