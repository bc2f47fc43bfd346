// --dequant: the composite tensors of FP8 + scales and GPTQ/AWQ int4 and
// their values. The reference here dequantizes from the integers and codes
// the test drew before packing them (the packing written from AutoGPTQ's
// and AutoAWQ's descriptions), so it shares no code with the unpacking under
// test. Through the engine: the values compared against a float64 copy of
// the reference are identical on the CPU (1 and 3 threads) and on the CUDA
// path's host emulation (the same launch plan and slot fill as the device).
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <random>

#include "backend/dequant.hpp"
#include "backend/element.hpp"
#include "cuda_compare.hpp"
#include "encode.hpp"
#include "engine/dequant_catalog.hpp"
#include "kernels/emulated_backend.hpp"
#include "weightdiff/diff.hpp"
#include "weightdiff/error.hpp"
#include "weightdiff/model.hpp"

namespace weightdiff {
namespace {

// One model's tensors held in memory, with what the test knows they mean.
struct Parts {
  std::vector<std::vector<uint8_t>> bytes;  // kept alive for the model
  std::vector<BufferTensor> tensors;
  template <class T>
  void add(std::string name, DType t, std::vector<uint64_t> shape, const std::vector<T>& v) {
    auto& b = bytes.emplace_back(v.size() * sizeof(T));
    std::memcpy(b.data(), v.data(), b.size());
    tensors.push_back({std::move(name), t, std::move(shape), b.data(), b.size()});
  }
  Model model(const std::string& path = "q") { return model_from_buffers(path, tensors); }
};

// Through the test-side codec (tests/unit/encode), not _Float16: clang on
// x86 without AVX512-FP16 rejects that type.
uint16_t f16_bits(float x) { return wdtest::f32_to_f16(x); }  // exact for the values used
double f16_value(uint16_t bits) { return wdtest::decode_small_float(DType::f16, bits); }

const TensorRef& only(const Model& m, const std::string& name) {
  for (const auto& t : m.tensors)
    if (t.name == name) return t;
  throw std::runtime_error("no tensor " + name);
}

std::vector<double> values_of(const TensorRef& t) {
  std::vector<double> out(t.numel);
  backend::dequantize(*t.dequant, 0, t.numel, out.data());
  return out;
}

// The composite's values, read in pieces at odd offsets: the same as whole.
void expect_pieces_match(const TensorRef& t, const std::vector<double>& whole) {
  std::vector<double> piece(t.numel);
  for (uint64_t first = 0; first < t.numel;) {
    const uint64_t n = std::min<uint64_t>(t.numel - first, 37 + first % 101);
    backend::dequantize(*t.dequant, first, n, piece.data() + first);
    first += n;
  }
  for (uint64_t i = 0; i < t.numel; ++i) ASSERT_EQ(std::bit_cast<uint64_t>(piece[i]), std::bit_cast<uint64_t>(whole[i])) << i;
}

struct Fp8Case {
  Parts parts;
  std::vector<double> expect;  // [rows, cols]
};

// An fp8 weight [rows, cols] of random codes (no NaN) and f32 scales of
// shape `scale_shape`, each element's scale given by scale_of(r, c).
template <class ScaleOf>
Fp8Case fp8_case(uint64_t rows, uint64_t cols, std::vector<uint64_t> scale_shape, const std::string& suffix,
                 ScaleOf scale_of, uint64_t seed) {
  std::mt19937_64 rng(seed);
  uint64_t ns = 1;
  for (uint64_t x : scale_shape) ns *= x;
  std::vector<float> scales(ns);
  for (auto& s : scales) s = std::ldexp(1.0f + static_cast<float>(rng() % 1000) / 1000.0f, -static_cast<int>(rng() % 12));
  std::vector<uint8_t> codes(rows * cols);
  Fp8Case c;
  c.expect.resize(rows * cols);
  for (uint64_t r = 0; r < rows; ++r)
    for (uint64_t col = 0; col < cols; ++col) {
      uint8_t code = static_cast<uint8_t>(rng());
      if ((code & 0x7f) == 0x7f) code &= 0xfe;  // not NaN
      codes[r * cols + col] = code;
      c.expect[r * cols + col] = backend::f8_value(DType::f8e4m3fn, code) * static_cast<double>(scales[scale_of(r, col)]);
    }
  c.parts.add("l.w.weight", DType::f8e4m3fn, {rows, cols}, codes);
  c.parts.add("l.w.weight" + suffix, DType::f32, scale_shape, scales);
  return c;
}

TEST(DequantFp8, BlockScalesOverPartialEdgeBlocks) {
  const uint64_t rows = 300, cols = 200;  // 3 x 2 blocks of 128, the last ones partial
  auto c = fp8_case(rows, cols, {3, 2}, "_scale_inv", [](uint64_t r, uint64_t col) { return (r / 128) * 2 + col / 128; }, 1);
  const Model m = engine::dequantized(c.parts.model());
  ASSERT_EQ(m.tensors.size(), 1u) << "the scale tensor is part of the composite";
  const TensorRef& t = only(m, "l.w.weight");
  ASSERT_TRUE(t.dequant);
  EXPECT_EQ(t.dequant->scheme, DequantScheme::fp8_block);
  EXPECT_EQ(t.dequant->label, "f8e4m3fn*scale[128x128]");
  EXPECT_EQ(t.shape, (std::vector<uint64_t>{rows, cols}));
  const auto got = values_of(t);
  for (uint64_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], c.expect[i]) << i;
  expect_pieces_match(t, got);
}

TEST(DequantFp8, OtherBlockEdgesInferredFromTheScaleShape) {
  auto c = fp8_case(60, 90, {4, 3}, "_scale_inv", [](uint64_t r, uint64_t col) { return (r / 15) * 3 + col / 30; }, 2);
  const Model m = engine::dequantized(c.parts.model());
  const TensorRef& t = only(m, "l.w.weight");
  EXPECT_EQ(t.dequant->label, "f8e4m3fn*scale[15x30]");
  const auto got = values_of(t);
  for (uint64_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], c.expect[i]) << i;
}

TEST(DequantFp8, ChannelAndTensorScales) {
  for (const auto& shape : {std::vector<uint64_t>{40}, std::vector<uint64_t>{40, 1}}) {
    auto c = fp8_case(40, 24, shape, "_scale", [](uint64_t r, uint64_t) { return r; }, 3);
    const Model m = engine::dequantized(c.parts.model());
    const TensorRef& t = only(m, "l.w.weight");
    EXPECT_EQ(t.dequant->label, "f8e4m3fn*scale[channel]");
    const auto got = values_of(t);
    for (uint64_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], c.expect[i]) << i;
    expect_pieces_match(t, got);
  }
  auto c = fp8_case(40, 24, {1}, "_scale", [](uint64_t, uint64_t) { return 0; }, 4);
  const Model m = engine::dequantized(c.parts.model());
  const TensorRef& t = only(m, "l.w.weight");
  EXPECT_EQ(t.dequant->label, "f8e4m3fn*scale[tensor]");
  const auto got = values_of(t);
  for (uint64_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], c.expect[i]) << i;
}

// GPTQ/AWQ int4 over [out, in] with `groups` input groups.
struct IntCase {
  Parts parts;
  std::vector<double> expect;  // [out, in]
};

enum class IntKind { gptq_v1, gptq_v2, gptq_v1_g_idx, awq };

IntCase int_case(IntKind kind, uint64_t outs, uint64_t in, uint64_t groups, uint64_t seed) {
  std::mt19937_64 rng(seed);
  const uint64_t gsize = in / groups;
  std::vector<uint32_t> q(in * outs);  // [in, out]
  for (auto& x : q) x = static_cast<uint32_t>(rng() % 16);
  std::vector<uint32_t> zero(groups * outs);  // [groups, out], 1..15 (v1 stores zero - 1)
  for (auto& x : zero) x = 1 + static_cast<uint32_t>(rng() % 15);
  std::vector<uint16_t> scale(groups * outs);
  for (auto& s : scale) s = f16_bits(std::ldexp(static_cast<float>(1 + rng() % 1023), -16));
  std::vector<int32_t> g_of(in);
  for (uint64_t i = 0; i < in; ++i) g_of[i] = static_cast<int32_t>(i / gsize);
  if (kind == IntKind::gptq_v1_g_idx) std::shuffle(g_of.begin(), g_of.end(), rng);  // act-order
  IntCase c;
  c.expect.resize(outs * in);
  for (uint64_t o = 0; o < outs; ++o)
    for (uint64_t i = 0; i < in; ++i) {
      const uint64_t g = static_cast<uint64_t>(g_of[i]);
      c.expect[o * in + i] = (static_cast<double>(q[i * outs + o]) - zero[g * outs + o]) * f16_value(scale[g * outs + o]);
    }
  constexpr unsigned kAwqOrder[8] = {0, 2, 4, 6, 1, 3, 5, 7};  // AutoAWQ's pack order: nibble k holds column order[k]
  const auto pack_columns = [&](const std::vector<uint32_t>& v, uint64_t n, uint64_t m, bool awq) {
    std::vector<int32_t> w(n * (m / 8), 0);
    for (uint64_t r = 0; r < n; ++r)
      for (uint64_t j = 0; j < m / 8; ++j)
        for (unsigned k = 0; k < 8; ++k) {
          const uint64_t col = j * 8 + (awq ? kAwqOrder[k] : k);
          w[r * (m / 8) + j] = static_cast<int32_t>(static_cast<uint32_t>(w[r * (m / 8) + j]) | ((v[r * m + col] & 15u) << (4 * k)));
        }
    return w;
  };
  std::vector<uint32_t> stored_zero = zero;
  if (kind == IntKind::gptq_v1 || kind == IntKind::gptq_v1_g_idx)
    for (auto& z : stored_zero) z -= 1;
  const bool awq = kind == IntKind::awq;
  if (awq) {
    c.parts.add("p.qweight", DType::i32, {in, outs / 8}, pack_columns(q, in, outs, true));
  } else {  // GPTQ: along the input dimension, input i in nibble i % 8 of row i / 8
    std::vector<int32_t> w(in / 8 * outs, 0);
    for (uint64_t i = 0; i < in; ++i)
      for (uint64_t o = 0; o < outs; ++o)
        w[(i / 8) * outs + o] = static_cast<int32_t>(static_cast<uint32_t>(w[(i / 8) * outs + o]) | (q[i * outs + o] << (4 * (i % 8))));
    c.parts.add("p.qweight", DType::i32, {in / 8, outs}, w);
  }
  c.parts.add("p.qzeros", DType::i32, {groups, outs / 8}, pack_columns(stored_zero, groups, outs, awq));
  c.parts.add("p.scales", DType::f16, {groups, outs}, scale);
  if (kind == IntKind::gptq_v1_g_idx) c.parts.add("p.g_idx", DType::i32, {in}, g_of);
  return c;
}

Model with_format(Model m, const char* format) {
  m.metadata["checkpoint_format"] = format;
  return m;
}

TEST(DequantInt, GptqAndAwqAgainstTheirPublishedPacking) {
  struct Case {
    IntKind kind;
    const char* format;
    const char* label;
  };
  for (const Case k : {Case{IntKind::gptq_v1, "gptq", "gptq_int4[g32]"}, Case{IntKind::gptq_v2, "gptq_v2", "gptq_int4[g32]"},
                       Case{IntKind::gptq_v1_g_idx, "gptq", "gptq_int4[g32]"}, Case{IntKind::awq, "", "awq_int4[g32]"}}) {
    SCOPED_TRACE(k.label + std::to_string(static_cast<int>(k.kind)));
    auto c = int_case(k.kind, 48, 128, 4, 10 + static_cast<int>(k.kind));
    Model q = c.parts.model();
    if (*k.format) q = with_format(std::move(q), k.format);
    const Model m = engine::dequantized(q);
    ASSERT_EQ(m.tensors.size(), 1u);
    const TensorRef& t = only(m, "p.weight");
    EXPECT_EQ(t.dequant->label, k.label);
    EXPECT_EQ(t.shape, (std::vector<uint64_t>{48, 128}));
    const auto got = values_of(t);
    for (uint64_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], c.expect[i]) << i << " [" << i / 128 << ", " << i % 128 << "]";
    expect_pieces_match(t, got);
  }
}

TEST(DequantInt, V1ZeroPointsReadAsV2AreOffByOneScale) {
  auto c = int_case(IntKind::gptq_v1, 16, 64, 2, 21);
  const Model m = engine::dequantized(with_format(c.parts.model(), "gptq_v2"));
  const auto got = values_of(only(m, "p.weight"));
  uint64_t differ = 0;
  for (uint64_t i = 0; i < got.size(); ++i) differ += got[i] != c.expect[i];
  EXPECT_EQ(differ, got.size());
}

// Through the engine: a float64 copy of the reference against the
// quantized parts is identical, on every backend path.
TEST(DequantEngine, IdenticalToTheReferenceOnCpuAndTheCudaEmulation) {
  auto fp8 = fp8_case(300, 200, {3, 2}, "_scale_inv", [](uint64_t r, uint64_t col) { return (r / 128) * 2 + col / 128; }, 5);
  auto awq = int_case(IntKind::awq, 64, 256, 2, 6);
  Parts b;
  for (Parts* p : {&fp8.parts, &awq.parts})
    for (size_t i = 0; i < p->tensors.size(); ++i) b.add(p->tensors[i].name, p->tensors[i].dtype, p->tensors[i].shape, p->bytes[i]);
  Parts a;
  a.add("l.w.weight", DType::f64, {300, 200}, fp8.expect);
  a.add("p.weight", DType::f64, {64, 256}, awq.expect);
  const Model ma = a.model("a"), mb = b.model("b");
  for (unsigned threads : {1u, 3u}) {
    DiffOptions opt;
    opt.backend = BackendKind::cpu;
    opt.threads = threads;
    const DiffResult r = diff_models(ma, mb, opt);
    ASSERT_EQ(r.tensors.size(), 2u);
    for (const TensorDiff& t : r.tensors) {
      SCOPED_TRACE(t.name);
      EXPECT_EQ(t.status, Status::identical);
      EXPECT_TRUE(t.quant_a.empty());
      EXPECT_EQ(t.quant_b, t.name == "p.weight" ? "awq_int4[g128]" : "f8e4m3fn*scale[128x128]");
      EXPECT_EQ(t.dtype_b, t.name == "p.weight" ? "i32" : "f8e4m3fn");
      EXPECT_EQ(quant_type(t, false), t.quant_b);
    }
  }
  // The CUDA path's host mirror: the composite's values staged in its slots.
  const Model da = ma, db = engine::dequantized(mb);
  for (const auto& [x, y] : {std::pair{&only(da, "l.w.weight"), &only(db, "l.w.weight")},
                             std::pair{&only(da, "p.weight"), &only(db, "p.weight")}}) {
    std::vector<backend::ChunkTask> tasks;
    for (uint64_t first = 0; first < x->numel; first += 5000) {
      backend::ChunkTask task{};
      task.a = x;
      task.b = y;
      task.first = first;
      task.count = std::min<uint64_t>(5000, x->numel - first);
      tasks.push_back(task);
    }
    const HistRange hist;
    const auto cpu = wdtest::cpu_stats(tasks, hist);
    const auto emu = wdtest::reduce_stats(*cuda::make_emulated_cuda_backend(), tasks, hist);
    ASSERT_EQ(cpu.size(), emu.size());
    for (size_t i = 0; i < cpu.size(); ++i) {
      EXPECT_EQ(emu[i].equal, tasks[i].count) << y->name << " task " << i;
      EXPECT_EQ(emu[i].sum_sq_diff, 0.0);
      EXPECT_EQ(emu[i].max_b, cpu[i].max_b);
      EXPECT_EQ(emu[i].min_b, cpu[i].min_b);
      // Sums in the kernels' order: within 1e-9 of the CPU's, as every pair (cuda_compare.hpp).
      EXPECT_NEAR(emu[i].dot, cpu[i].dot, 1e-9 * std::abs(cpu[i].dot));
      EXPECT_NEAR(emu[i].sum_sq_b, cpu[i].sum_sq_b, 1e-9 * cpu[i].sum_sq_b);
    }
  }
}

TEST(DequantSides, AutoOnlyWhenOneSideHoldsScales) {
  auto q = fp8_case(8, 8, {1}, "_scale", [](uint64_t, uint64_t) { return 0; }, 7);
  Parts plain;
  plain.add("l.w.weight", DType::f32, {8, 8}, std::vector<float>(64, 1.0f));
  const Model mq = q.parts.model(), mp = plain.model();
  EXPECT_TRUE(engine::has_quantized_weights(mq));
  EXPECT_FALSE(engine::has_quantized_weights(mp));
  const auto s = engine::dequant_sides(mp, mq, DequantMode::automatic);
  EXPECT_FALSE(s.a);
  EXPECT_TRUE(s.b);
  const auto both = engine::dequant_sides(mq, mq, DequantMode::automatic);
  EXPECT_FALSE(both.a || both.b);
  const auto always = engine::dequant_sides(mq, mq, DequantMode::always);
  EXPECT_TRUE(always.a && always.b);
  const auto never = engine::dequant_sides(mp, mq, DequantMode::never);
  EXPECT_FALSE(never.a || never.b);
}

Errc errc_of(const Model& m) {
  try {
    (void)engine::dequantized(m);
  } catch (const Error& e) {
    return e.code();
  }
  ADD_FAILURE() << "no error";
  return Errc::usage;
}

TEST(DequantErrors, MalformedGroupsNameTheirClass) {
  {  // block scales that tile no block size
    Parts p;
    p.add("x.weight", DType::f8e4m3fn, {10, 8}, std::vector<uint8_t>(80, 0x38));
    p.add("x.weight_scale_inv", DType::f32, {6, 1}, std::vector<float>(6, 1.0f));
    EXPECT_EQ(errc_of(p.model()), Errc::malformed);
  }
  {  // an integer scale
    Parts p;
    p.add("x.weight", DType::f8e4m3fn, {4, 8}, std::vector<uint8_t>(32, 0x38));
    p.add("x.weight_scale", DType::i32, {1}, std::vector<int32_t>(1, 1));
    EXPECT_EQ(errc_of(p.model()), Errc::malformed);
  }
  {  // 3-bit packing: unsupported
    auto c = int_case(IntKind::gptq_v2, 32, 64, 2, 8);
    Parts p;
    p.add("p.qweight", DType::i32, {6, 32}, std::vector<int32_t>(6 * 32, 0));
    p.add("p.qzeros", DType::i32, {2, 3}, std::vector<int32_t>(6, 0));
    p.add("p.scales", DType::f16, {2, 32}, std::vector<uint16_t>(64, f16_bits(1.0f)));
    EXPECT_EQ(errc_of(p.model()), Errc::unsupported);
  }
  {  // the Linear's weight stored too
    auto c = int_case(IntKind::gptq_v2, 16, 64, 2, 9);
    c.parts.add("p.weight", DType::f16, {16, 64}, std::vector<uint16_t>(16 * 64, 0));
    EXPECT_EQ(errc_of(c.parts.model()), Errc::conflict);
  }
  {  // a g_idx entry outside the groups: found when the values are read
    auto c = int_case(IntKind::gptq_v1_g_idx, 16, 64, 2, 11);
    std::vector<int32_t> g(64, 0);
    g[40] = 2;
    c.parts.tensors.pop_back();
    c.parts.bytes.pop_back();
    c.parts.add("p.g_idx", DType::i32, {64}, g);
    const Model m = engine::dequantized(c.parts.model());
    try {
      (void)values_of(only(m, "p.weight"));
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::malformed);
      EXPECT_NE(std::string(e.what()).find("g_idx[40] = 2"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace weightdiff
