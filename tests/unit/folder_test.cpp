// Sharded folders (SPEC §1, §7): with and without an index, unsafe index
// entries, missing shards and tensors, duplicates, and symlinks (escaping the
// folder vs the Hugging Face cache layout).
#include <gtest/gtest.h>

#include "test_files.hpp"
#include "weightdiff/model.hpp"

namespace wdtest {
namespace {

using weightdiff::Errc;

const char* const kShard1 = "model-00001-of-00002.safetensors";
const char* const kShard2 = "model-00002-of-00002.safetensors";
const char* const kIndex = "model.safetensors.index.json";

StFile shard1() {
  StFile f;
  f.tensors.push_back(st_f32("layer.0.w", {2, 2}, {1, 2, 3, 4}));
  f.tensors.push_back(st_f32("layer.0.b", {2}, {5, 6}));
  f.metadata = std::map<std::string, std::string>{{"format", "pt"}};
  return f;
}

StFile shard2() {
  StFile f;
  f.tensors.push_back(st_f32("layer.1.w", {3}, {7, 8, 9}));
  return f;
}

std::string index_json(const std::vector<std::pair<std::string, std::string>>& map) {
  std::string s = R"({"metadata":{"total_size":36},"weight_map":{)";
  for (size_t i = 0; i < map.size(); ++i) {
    if (i) s += ',';
    s += '"';
    s += map[i].first;
    s += "\":\"";
    s += map[i].second;
    s += '"';
  }
  return s + "}}";
}

std::vector<std::pair<std::string, std::string>> good_map() {
  return {{"layer.0.w", kShard1}, {"layer.0.b", kShard1}, {"layer.1.w", kShard2}};
}

std::vector<std::string> names(const weightdiff::Model& m) {
  std::vector<std::string> out;
  for (const auto& t : m.tensors) out.push_back(t.name);
  return out;
}

class FolderTest : public FileTest {
 protected:
  fs::path model_dir() const { return file("model"); }
  std::string model_path() const { return model_dir().string(); }
  std::string in_model(const std::string& name) const { return (model_dir() / name).string(); }

  void write_shards(const fs::path& dir) {
    write_safetensors(dir / kShard1, shard1());
    write_safetensors(dir / kShard2, shard2());
  }
  void write_index(const std::vector<std::pair<std::string, std::string>>& map) {
    write_bytes(model_dir() / kIndex, index_json(map));
  }
  void expect_bad(Errc code, const std::vector<std::string>& must_name) {
    expect_error([&] { weightdiff::open_model(model_path()); }, code, must_name);
  }
};

const std::vector<std::string> kAll{"layer.0.b", "layer.0.w", "layer.1.w"};

TEST_F(FolderTest, IndexPoolsItsShards) {
  write_shards(model_dir());
  write_index(good_map());
  const auto m = weightdiff::open_model(model_path());
  EXPECT_EQ(m.path, model_path());
  EXPECT_EQ(m.format, "safetensors");
  EXPECT_EQ(names(m), kAll);
  EXPECT_EQ(m.bytes, 36u);
  EXPECT_EQ(m.metadata.at("format"), "pt");
  // The index file itself is a valid argument too.
  EXPECT_EQ(names(weightdiff::open_model(in_model(kIndex))), kAll);
}

TEST_F(FolderTest, WithoutIndexEveryShardIsPooled) {
  write_shards(model_dir());
  EXPECT_EQ(names(weightdiff::open_model(model_path())), kAll);
}

TEST_F(FolderTest, IndexEntryThatNormalizesInsideIsAccepted) {
  write_shards(model_dir());
  auto map = good_map();
  map[2].second = std::string("sub/../") + kShard2;
  write_index(map);
  EXPECT_EQ(names(weightdiff::open_model(model_path())), kAll);
}

TEST_F(FolderTest, IndexEntryWithAbsolutePathIsUnsafe) {
  write_shards(model_dir());
  auto map = good_map();
  map[2].second = in_model(kShard2);  // absolute, even though it is inside
  write_index(map);
  expect_bad(Errc::unsafe_path, {in_model(kIndex)});
}

TEST_F(FolderTest, IndexEntryLeavingTheFolderIsUnsafe) {
  write_shards(model_dir());
  write_safetensors(file(kShard2), shard2());  // a real file one level up
  for (const std::string& rel : {std::string("../") + kShard2, std::string("sub/../../") + kShard2,
                                std::string("./../") + kShard2, std::string("..")}) {
    SCOPED_TRACE(rel);
    auto map = good_map();
    map[2].second = rel;
    write_index(map);
    expect_bad(Errc::unsafe_path, {in_model(kIndex)});
  }
}

TEST_F(FolderTest, MissingShardIsAnIoError) {
  write_safetensors(model_dir() / kShard1, shard1());
  write_index(good_map());
  expect_bad(Errc::io, {in_model(kShard2)});
}

TEST_F(FolderTest, TensorMissingFromItsShard) {
  write_shards(model_dir());
  auto map = good_map();
  map.emplace_back("layer.2.w", kShard2);
  write_index(map);
  expect_bad(Errc::malformed, {in_model(kShard2), "layer.2.w"});
}

TEST_F(FolderTest, MalformedIndex) {
  write_shards(model_dir());
  for (const std::string& text : {std::string("[]"), std::string("{}"), std::string("{\"weight_map\":[]}"),
                                 std::string("{\"weight_map\":{\"a\":3}}"), std::string("{"),
                                 std::string("{\"weight_map\":{},\"weight_map\":{}}")}) {
    SCOPED_TRACE(text);
    write_bytes(model_dir() / kIndex, text);
    try {
      weightdiff::open_model(model_path());
      ADD_FAILURE() << "accepted";
    } catch (const weightdiff::Error& e) {
      EXPECT_TRUE(e.code() == Errc::malformed || e.code() == Errc::conflict) << e.what();
      EXPECT_NE(std::string(e.what()).find(in_model(kIndex)), std::string::npos) << e.what();
    }
  }
}

TEST_F(FolderTest, BadShardIsNamedWithItsFolder) {
  write_shards(model_dir());
  StFile bad = shard2();
  bad.trailing = "junk";
  write_safetensors(model_dir() / kShard2, bad);
  expect_bad(Errc::malformed, {in_model(kShard2)});
  write_index(good_map());
  expect_bad(Errc::malformed, {in_model(kShard2)});
}

TEST_F(FolderTest, TensorInTwoShardsWithoutIndexConflicts) {
  write_shards(model_dir());
  StFile dup = shard2();
  dup.tensors[0] = st_f32("layer.0.b", {2}, {5, 6});
  write_safetensors(model_dir() / kShard2, dup);
  expect_bad(Errc::conflict, {"layer.0.b", in_model(kShard2)});
}

// With an index too: which copy is meant is ambiguous (SPEC §7), even though
// the index names one of them.
TEST_F(FolderTest, TensorInTwoShardsWithIndexConflicts) {
  write_shards(model_dir());
  StFile dup = shard2();
  dup.tensors.push_back(st_f32("layer.0.b", {2}, {5, 6}));
  write_safetensors(model_dir() / kShard2, dup);
  write_index(good_map());
  expect_bad(Errc::conflict, {"layer.0.b", in_model(kShard2)});
}

TEST_F(FolderTest, SymlinkedShardEscapingTheFolderIsUnsafe) {
  write_safetensors(file("outside") / kShard2, shard2());
  write_safetensors(model_dir() / kShard1, shard1());
  fs::create_symlink(fs::path("..") / "outside" / kShard2, model_dir() / kShard2);
  expect_bad(Errc::unsafe_path, {in_model(kShard2)});  // without an index
  write_index(good_map());
  expect_bad(Errc::unsafe_path, {in_model(kShard2)});  // with one
}

TEST_F(FolderTest, SymlinkInsideTheFolderIsFine) {
  write_safetensors(model_dir() / "store" / "s2.bin", shard2());
  write_safetensors(model_dir() / kShard1, shard1());
  fs::create_symlink(fs::path("store") / "s2.bin", model_dir() / kShard2);
  write_index(good_map());
  EXPECT_EQ(names(weightdiff::open_model(model_path())), kAll);
}

// models--org--name/{blobs/<hash>, snapshots/<rev>/<file> -> ../../blobs/<hash>}
class HfCacheTest : public FolderTest {
 protected:
  fs::path repo() const { return file("hub") / "models--org--name"; }
  fs::path snapshot() const { return repo() / "snapshots" / "0123abcd"; }
  void link_blob(const std::string& name, const std::string& hash) {
    fs::create_directories(snapshot());
    fs::create_symlink(fs::path("..") / ".." / "blobs" / hash, snapshot() / name);
  }
  void write_cache(bool with_index) {
    write_safetensors(repo() / "blobs" / "1111aaaa", shard1());
    write_safetensors(repo() / "blobs" / "2222bbbb", shard2());
    link_blob(kShard1, "1111aaaa");
    link_blob(kShard2, "2222bbbb");
    if (with_index) {
      write_bytes(repo() / "blobs" / "3333cccc", index_json(good_map()));
      link_blob(kIndex, "3333cccc");
    }
  }
};

TEST_F(HfCacheTest, SnapshotWithIndexOpens) {
  write_cache(true);
  EXPECT_EQ(names(weightdiff::open_model(snapshot().string())), kAll);
  EXPECT_EQ(names(weightdiff::open_model((snapshot() / kIndex).string())), kAll);
}

TEST_F(HfCacheTest, SnapshotWithoutIndexOpens) {
  write_cache(false);
  EXPECT_EQ(names(weightdiff::open_model(snapshot().string())), kAll);
  EXPECT_EQ(names(weightdiff::open_model((snapshot() / kShard1).string())).size(), 2u);
}

TEST_F(HfCacheTest, LinkOutOfTheCacheIsStillUnsafe) {
  write_cache(false);
  write_safetensors(file("elsewhere.safetensors"), shard2());
  fs::remove(snapshot() / kShard2);
  fs::create_symlink(file("elsewhere.safetensors"), snapshot() / kShard2);
  const std::string shown = (snapshot() / kShard2).string();
  expect_error([&] { weightdiff::open_model(snapshot().string()); }, Errc::unsafe_path, {shown});
}

}  // namespace
}  // namespace wdtest
