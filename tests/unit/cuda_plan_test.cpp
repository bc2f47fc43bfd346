// Host-side planning of the CUDA backend (no GPU needed): how batches are
// packed into staging slots, device lists, multi-pipeline splits, config.
#include <gtest/gtest.h>

#include "cuda_compare.hpp"
#include "kernels/launch_plan.hpp"
#include "kernels/slot_fill.hpp"
#include "weightdiff/error.hpp"

namespace weightdiff::cuda {
namespace {

using wdtest::MemTensor;

// `count` tensors of n f32 elements cut out of one tensor's storage, the
// k-th at element k * stride (a file of many small tensors).
std::vector<TensorRef> cut(const MemTensor& whole, size_t count, uint64_t n, uint64_t stride,
                           bool reversed = false) {
  std::vector<TensorRef> out;
  for (size_t i = 0; i < count; ++i) {
    const uint64_t k = reversed ? count - 1 - i : i;
    TensorRef t = whole.ref;
    t.name = "t";  // += only: GCC 12's -Wrestrict misfires on "t" + s
    t.name += std::to_string(k);
    t.shape = {n};
    t.numel = n;
    t.offset = whole.ref.offset + k * stride * 4;
    t.nbytes = n * 4;
    out.push_back(std::move(t));
  }
  return out;
}

std::vector<backend::ChunkTask> tasks_of(const std::vector<TensorRef>& a, const std::vector<TensorRef>& b) {
  std::vector<backend::ChunkTask> tasks;
  for (size_t i = 0; i < a.size(); ++i) tasks.push_back({&a[i], &b[i], 0, a[i].numel, 1e-5, 1e-3});
  return tasks;
}

// Many small tensors of two files: one run per file, whatever the count.
TEST(SlotFill, AdjacentCopiesOfOneFileAreOneRun) {
  const MemTensor wa = wdtest::random_tensor(DType::f32, 100 * 300, 5);
  const MemTensor wb = wdtest::random_tensor(DType::f32, 100 * 300, 6, &wa);
  const auto a = cut(wa, 100, 300, 300), b = cut(wb, 100, 300, 300);
  const auto tasks = tasks_of(a, b);
  const auto groups = plan_launches(tasks, StagingLimits{});
  ASSERT_EQ(groups.size(), 1u);
  const auto runs = copy_runs(groups[0]);
  ASSERT_EQ(runs.size(), 2u);
  for (const CopyRun& r : runs) {
    const bool is_a = r.storage == wa.ref.storage.get();
    EXPECT_EQ(r.storage, (is_a ? wa : wb).ref.storage.get());
    EXPECT_EQ(r.ops.size(), 100u);
    EXPECT_EQ(r.src_begin, (is_a ? wa : wb).ref.offset);
    EXPECT_EQ(r.src_end, r.src_begin + 100 * 300 * 4);
    for (size_t k = 0; k < r.ops.size(); ++k) EXPECT_EQ(r.ops[k], 2 * k + (is_a ? 0 : 1));
  }
  // Gaps under a page join a run; larger gaps and copies going backwards start new ones.
  const auto near_a = cut(wa, 50, 300, 600), near_b = cut(wb, 50, 300, 600);
  const auto near = tasks_of(near_a, near_b);
  EXPECT_EQ(copy_runs(plan_launches(near, StagingLimits{})[0]).size(), 2u);
  const MemTensor fa = wdtest::random_tensor(DType::f32, 20 * 2000, 7);
  const MemTensor fb = wdtest::random_tensor(DType::f32, 20 * 2000, 8, &fa);
  const auto far_a = cut(fa, 20, 300, 2000), far_b = cut(fb, 20, 300, 2000);
  EXPECT_EQ(copy_runs(plan_launches(tasks_of(far_a, far_b), StagingLimits{})[0]).size(), 40u);
  const auto back_a = cut(wa, 10, 300, 300, true), back_b = cut(wb, 10, 300, 300, true);
  EXPECT_EQ(copy_runs(plan_launches(tasks_of(back_a, back_b), StagingLimits{})[0]).size(), 20u);
}

// The merged fill writes exactly what copying each op on its own writes.
TEST(SlotFill, FillsTheSlotAsCopyingEachOp) {
  const MemTensor wa = wdtest::random_tensor(DType::bf16, 64 * 700 + 3, 9);
  const MemTensor wb = wdtest::random_tensor(DType::f32, 64 * 700 + 3, 10, &wa);
  std::vector<TensorRef> a, b;
  for (size_t k = 0; k < 64; ++k) {  // uneven sizes, one past a MiB piece
    TensorRef ta = wa.ref, tb = wb.ref;
    const uint64_t first = k * 700, n = k == 63 ? 703 : 700;
    ta.offset += first * 2, ta.numel = n, ta.shape = {n}, ta.nbytes = n * 2;
    tb.offset += first * 4, tb.numel = n, tb.shape = {n}, tb.nbytes = n * 4;
    a.push_back(ta), b.push_back(tb);
  }
  const MemTensor big_a = wdtest::random_tensor(DType::f32, 600000, 11);
  const MemTensor big_b = wdtest::random_tensor(DType::f32, 600000, 12, &big_a);
  a.push_back(big_a.ref), b.push_back(big_b.ref);  // 2.4 MB: several pieces
  const auto tasks = tasks_of(a, b);
  for (const LaunchGroup& g : plan_launches(tasks, StagingLimits{})) {
    std::vector<uint8_t> merged(g.bytes, 0xAB), each(g.bytes, 0xAB);
    fill_slot(g, copy_runs(g), merged.data(), nullptr);
    write_metadata(g, each.data());
    for (const CopyOp& op : g.copies) copy_bytes(op, each.data(), 0, op.bytes);
    EXPECT_EQ(merged, each);
    tbb::task_arena arena(2);
    std::vector<uint8_t> parallel(g.bytes, 0xAB);
    fill_slot(g, copy_runs(g), parallel.data(), &arena);
    EXPECT_EQ(parallel, each);
  }
}

TEST(CudaPlan, GroupsCoverTheBatchInOrderWithinTheSlotBound) {
  std::vector<MemTensor> as, bs;
  const DType kinds[] = {DType::f64, DType::bf16, DType::u4};
  for (int i = 0; i < 30; ++i)
    as.push_back(wdtest::random_tensor(kinds[i % 3], 1 + 5000 * static_cast<uint64_t>(i % 5), 40 + i));
  for (int i = 0; i < 30; ++i)
    bs.push_back(wdtest::random_tensor(kinds[(i + 1) % 3], as[i].ref.numel, 80 + i, &as[i]));
  std::vector<backend::ChunkTask> tasks;
  for (int i = 0; i < 30; ++i)
    for (const auto& t : wdtest::chunk_tasks(as[i], bs[i], 7001)) tasks.push_back(t);
  const StagingLimits limits{96 << 10, 6};
  const auto groups = plan_launches(tasks, limits);
  ASSERT_GT(groups.size(), 3u);
  size_t next = 0;
  for (const LaunchGroup& g : groups) {
    EXPECT_EQ(g.first_task, next);
    ASSERT_FALSE(g.tasks.empty());
    EXPECT_LE(g.bytes, limits.slot_bytes);
    EXPECT_LE(g.tile_table.size(), limits.max_tiles);
    EXPECT_GE(g.tile_table_offset, g.tasks.size() * sizeof(TaskDesc));
    EXPECT_EQ(g.tile_table_offset % kSlotAlign, 0u);
    EXPECT_EQ(g.copies.size(), 2 * g.tasks.size());
    uint64_t end_of_meta = g.tile_table_offset + g.tile_table.size() * sizeof(TileDesc), last = 0;
    uint32_t tile = 0;
    for (size_t k = 0; k < g.tasks.size(); ++k) {
      const TaskDesc& d = g.tasks[k];
      const backend::ChunkTask& t = tasks[next + k];
      EXPECT_EQ(d.first, t.first);
      EXPECT_EQ(d.count, t.count);
      EXPECT_EQ(d.first_tile, tile);
      EXPECT_EQ(d.tiles, (t.count + kTileElems - 1) / kTileElems);
      for (uint32_t i = 0; i < d.tiles; ++i) {
        EXPECT_EQ(g.tile_table[tile + i].task, k);
        EXPECT_EQ(g.tile_table[tile + i].tile, i);
      }
      tile += d.tiles;
      EXPECT_EQ(d.off_a % kSlotAlign, 0u);
      EXPECT_EQ(d.off_b % kSlotAlign, 0u);
      EXPECT_GE(d.off_a, end_of_meta);
      EXPECT_GE(d.off_a, last);
      EXPECT_GE(d.off_b, d.off_a + g.copies[2 * k].bytes);
      last = d.off_b + g.copies[2 * k + 1].bytes;
      EXPECT_LE(last, g.bytes);
      const backend::ByteRange ra = backend::chunk_bytes(*t.a, t.first, t.count);
      EXPECT_EQ(g.copies[2 * k].src_begin, ra.begin);
      EXPECT_EQ(g.copies[2 * k].bytes, ra.end - ra.begin);
      EXPECT_EQ(g.copies[2 * k].dst, d.off_a);
      EXPECT_EQ(d.phase_a, t.a->dtype == DType::u4 ? t.first % 2 : 0);
      EXPECT_EQ(d.dtype_b, static_cast<uint8_t>(t.b->dtype));
    }
    EXPECT_EQ(tile, g.tile_table.size());
    next += g.tasks.size();
  }
  EXPECT_EQ(next, tasks.size());
}

// A one-sided task (inspect: b is a) is staged once: one copy, and b reads
// a's bytes in the slot.
TEST(CudaPlan, OneSidedTasksAreStagedOnce) {
  const MemTensor a = wdtest::random_tensor(DType::bf16, 20000, 5);
  std::vector<backend::ChunkTask> tasks;
  for (const auto& t : wdtest::one_sided_tasks(a, 7001)) tasks.push_back(t);
  const auto two_sided = plan_launches(wdtest::chunk_tasks(a, wdtest::random_tensor(DType::bf16, 20000, 6), 7001), {});
  const auto groups = plan_launches(tasks, {});
  ASSERT_EQ(groups.size(), 1u);
  const LaunchGroup& g = groups[0];
  EXPECT_EQ(g.copies.size(), g.tasks.size());
  for (size_t k = 0; k < g.tasks.size(); ++k) {
    EXPECT_EQ(g.tasks[k].off_b, g.tasks[k].off_a);
    EXPECT_EQ(g.copies[k].dst, g.tasks[k].off_a);
  }
  EXPECT_LT(g.bytes, two_sided[0].bytes);
}

TEST(CudaPlan, ATaskLargerThanASlotIsABackendError) {
  const MemTensor a = wdtest::random_tensor(DType::f64, 20000, 1);
  const auto tasks = wdtest::chunk_tasks(a, a, 20000);
  try {
    plan_launches(tasks, {64 << 10, 1 << 16});
    FAIL() << "expected Error(backend)";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::backend);
  }
  EXPECT_EQ(plan_launches(tasks, {1 << 20, 1 << 16}).size(), 1u);
}

// 64-bit first indices: offsets come from chunk_bytes, nothing truncates.
TEST(CudaPlan, FirstIndicesPast2To32AreKept) {
  TensorRef t;
  t.name = "huge";
  t.dtype = DType::bf16;
  t.numel = uint64_t{3} << 32;
  t.shape = {t.numel};
  t.nbytes = t.numel * 2;
  const uint64_t first = (uint64_t{5} << 31) + 3;
  const std::vector<backend::ChunkTask> tasks = {{&t, &t, first, 1 << 20, 0, 0}};
  const auto groups = plan_launches(tasks, {});
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].tasks[0].first, first);
  EXPECT_EQ(groups[0].copies[0].src_begin, first * 2);
  EXPECT_EQ(groups[0].tasks[0].tiles, (1u << 20) / kTileElems);
}

TEST(CudaPlan, DeviceLists) {
  EXPECT_EQ(parse_device_list(""), std::vector<int>{});
  EXPECT_EQ(parse_device_list("0"), std::vector<int>{0});
  EXPECT_EQ(parse_device_list("0,1,0"), (std::vector<int>{0, 1, 0}));
  for (const char* bad : {",", "0,", "a", "-1", "0,,1", " 0", "1.5", "99999"}) {
    try {
      parse_device_list(bad);
      ADD_FAILURE() << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::usage) << bad;
    }
  }
}

TEST(CudaPlan, SplitByBytesGivesConsecutiveBalancedRanges) {
  const std::vector<uint64_t> bytes = {10, 10, 10, 10, 10, 10, 10, 10};
  EXPECT_EQ(split_by_bytes(bytes, 2), (std::vector<size_t>{0, 4, 8}));
  EXPECT_EQ(split_by_bytes(bytes, 1), (std::vector<size_t>{0, 8}));
  const std::vector<uint64_t> skewed = {100, 1, 1, 1, 1, 100};
  EXPECT_EQ(split_by_bytes(skewed, 2), (std::vector<size_t>{0, 3, 6}));
  const auto many = split_by_bytes(std::vector<uint64_t>{5, 5}, 4);
  ASSERT_EQ(many.size(), 5u);
  for (size_t i = 1; i < many.size(); ++i) EXPECT_GE(many[i], many[i - 1]);
  EXPECT_EQ(many.back(), 2u);
}

// The config is plain fields (nothing read from the environment); validate
// holds the bounds: Error(usage) outside them.
TEST(CudaPlan, ConfigDefaultsAndBounds) {
  const CudaConfig d;
  EXPECT_EQ(d.staging.slot_bytes, uint64_t{32} << 20);
  EXPECT_EQ(d.slots, 3u);
  EXPECT_TRUE(d.devices.empty());
  EXPECT_NO_THROW(validate(d));
  auto with = [](uint64_t slot_bytes, unsigned slots) {
    CudaConfig c;
    c.staging.slot_bytes = slot_bytes;
    c.slots = slots;
    return c;
  };
  for (const CudaConfig& ok : {with(kMinSlotBytes, kMinSlots), with(kMaxSlotBytes, kMaxSlots)})
    EXPECT_NO_THROW(validate(ok));
  for (const CudaConfig& bad : {with(kMinSlotBytes - 1, 3), with(kMaxSlotBytes + 1, 3),
                                with(kMinSlotBytes, kMinSlots - 1), with(kMinSlotBytes, kMaxSlots + 1)}) {
    try {
      validate(bad);
      ADD_FAILURE() << bad.staging.slot_bytes << " bytes x " << bad.slots << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::usage) << e.what();
    }
  }
}

// Why the lower bound: one engine chunk (1 Mi elements) of an f64 pair fits
// the smallest slot, and not one 1 MiB smaller.
TEST(CudaPlan, OneF64ChunkPairFitsTheSmallestSlot) {
  const uint64_t n = uint64_t{1} << 20;
  const MemTensor a = wdtest::random_tensor(DType::f64, n, 501);
  const MemTensor b = wdtest::random_tensor(DType::f64, n, 502, &a);
  const auto tasks = wdtest::chunk_tasks(a, b, n);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(plan_launches(tasks, StagingLimits{kMinSlotBytes, 1u << 16}).size(), 1u);
  EXPECT_THROW(plan_launches(tasks, StagingLimits{kMinSlotBytes - (1 << 20), 1u << 16}), Error);
}

}  // namespace
}  // namespace weightdiff::cuda
