#include "match/fingerprint.hpp"

#include <algorithm>
#include <cstring>
#include <map>
#include <string_view>
#include <utility>

#include "io/sigbus_guard.hpp"
#include "weightdiff/error.hpp"

namespace weightdiff::match {
namespace {

// Read and fingerprinted a chunk at a time; its pages dropped after each
// tensor, so a hint over gigabytes leaves nothing resident.
constexpr uint64_t kChunkBytes = uint64_t{16} << 20;
// Rules printed on the notice line; more go to the JSON report only.
constexpr size_t kRulesShown = 3;
// Tile edge of the transposed compare: both sides stay in cache.
constexpr uint64_t kTile = 64;

uint64_t mix64(uint64_t x) noexcept {  // splitmix64's finalizer
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

struct Side {
  const TensorRef* t;
  std::string key;
  Fingerprint fp;
  bool constant = true;  // every element the same bits: says nothing of its origin
};

// Whether the n elements at p all have the bits of the one at `first`.
bool all_equal(const std::byte* p, uint64_t n, size_t e, const std::byte* first) noexcept {
  for (uint64_t i = 0; i < n; ++i)
    if (std::memcmp(p + i * e, first, e) != 0) return false;
  return true;
}

size_t elem_bytes_of(const TensorRef& t) { return dtype_bits(t.dtype) / 8; }

// A name that a shell-quoted rule on one line can carry.
bool quotable(std::string_view name) {
  return !name.empty() && std::none_of(name.begin(), name.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return c == '\'' || u < 0x20 || u == 0x7f;
  });
}

// Runs read(data) on the tensor's bytes, pinned and guarded, then drops them.
template <typename Read>
void with_bytes(const TensorRef& a, const TensorRef* b, Read&& read) {
  const StoragePin pa(a.storage.get());
  const std::optional<StoragePin> pb = b ? std::optional<StoragePin>(std::in_place, b->storage.get()) : std::nullopt;
  io::read_guarded(a.storage.get(), b ? b->storage.get() : nullptr, [&] { read(); });
  a.storage->release_touched(a.offset, a.nbytes);
  if (b) b->storage->release_touched(b->offset, b->nbytes);
}

void fingerprint_of(Side& s, const CancelFlag* cancel) {
  const TensorRef& t = *s.t;
  Fingerprint& fp = s.fp;
  const size_t e = elem_bytes_of(t);
  const uint64_t step = kChunkBytes / e * e;
  for (uint64_t done = 0; done < t.nbytes; done += step) {
    throw_if_cancelled(cancel);
    const uint64_t n = std::min(step, t.nbytes - done);
    const StoragePin pin(t.storage.get());
    io::read_guarded(t.storage.get(), nullptr, [&] {
      fp.add(t.data() + done, n / e, e);
      if (s.constant) s.constant = all_equal(t.data() + done, n / e, e, t.data());
    });
    t.storage->release_touched(t.offset + done, n);
  }
}

// Exactly equal as stored, or exactly A = Bᵀ for 2-D; nullopt: neither.
std::optional<bool> verify(const TensorRef& a, const TensorRef& b) {
  bool same = false, transposed = false;
  const bool swapped = a.shape.size() == 2 && b.shape.size() == 2 && a.shape[0] == b.shape[1] &&
                       a.shape[1] == b.shape[0];
  with_bytes(a, &b, [&] {
    if (a.shape == b.shape) same = std::memcmp(a.data(), b.data(), a.nbytes) == 0;
    if (!same && swapped)
      transposed = equal_transposed(a.data(), b.data(), a.shape[0], a.shape[1], elem_bytes_of(a));
  });
  if (same) return false;
  if (transposed) return true;
  return std::nullopt;
}

// One loop per element width: a constant-size memcpy is one load.
template <size_t E>
uint64_t mixed_sum(const std::byte* p, uint64_t n) noexcept {
  uint64_t sum = 0;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t bits = 0;
    std::memcpy(&bits, p + i * E, E);  // little-endian host
    sum += mix64(bits ^ E);
  }
  return sum;
}

}  // namespace

void Fingerprint::add(const std::byte* p, uint64_t n, size_t e) noexcept {
  switch (e) {
    case 1: sum += mixed_sum<1>(p, n); break;
    case 2: sum += mixed_sum<2>(p, n); break;
    case 4: sum += mixed_sum<4>(p, n); break;
    default: sum += mixed_sum<8>(p, n); break;
  }
  count += n;
}

bool equal_transposed(const std::byte* a, const std::byte* b, uint64_t rows, uint64_t cols,
                      size_t e) noexcept {
  for (uint64_t r0 = 0; r0 < rows; r0 += kTile)
    for (uint64_t c0 = 0; c0 < cols; c0 += kTile)
      for (uint64_t r = r0; r < std::min(rows, r0 + kTile); ++r)
        for (uint64_t c = c0; c < std::min(cols, c0 + kTile); ++c)
          if (std::memcmp(a + (r * cols + c) * e, b + (c * rows + r) * e, e) != 0) return false;
  return true;
}

MapRule exact_rename_rule(const std::string& from, const std::string& to) {
  MapRule r;
  r.pattern.push_back('^');
  for (const char c : from) {
    if (c == '=') {  // parse_map_rule splits at the first '='
      r.pattern += "\\x3d";
      continue;
    }
    if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) r.pattern.push_back('\\');
    r.pattern.push_back(c);
  }
  r.pattern.push_back('$');
  for (const char c : to) {
    if (c == '$') r.replacement.push_back('$');
    r.replacement.push_back(c);
  }
  return r;
}

std::optional<ContentHint> suggest_content_map(const std::vector<Entry>& entries, const CancelFlag* cancel,
                                               uint64_t byte_cap) {
  // Unmatched, decodable, whole-byte elements, grouped by (dtype, count).
  std::map<std::pair<DType, uint64_t>, std::pair<std::vector<Side>, std::vector<Side>>> groups;
  for (const auto& e : entries) {
    const TensorRef* t = e.a ? e.a : e.b;
    if ((e.a != nullptr) == (e.b != nullptr) || !t->unsupported_dtype.empty() || t->numel == 0 ||
        dtype_bits(t->dtype) % 8 != 0 || !t->storage)
      continue;
    std::string key = e.matched_as.empty() ? e.name : e.matched_as;
    if (!quotable(key)) continue;
    auto& g = groups[{t->dtype, t->numel}];
    (e.a ? g.first : g.second).push_back({t, std::move(key), {}});
  }
  uint64_t bytes = 0;
  for (auto it = groups.begin(); it != groups.end();) {
    if (it->second.first.empty() || it->second.second.empty()) {
      it = groups.erase(it);
      continue;
    }
    for (const auto* side : {&it->second.first, &it->second.second})
      for (const auto& s : *side) bytes += s.t->nbytes;
    ++it;
  }
  if (groups.empty() || bytes > byte_cap) return std::nullopt;

  ContentHint hint;
  try {
    for (auto& [_, g] : groups) {
      for (auto* side : {&g.first, &g.second})
        for (auto& s : *side) fingerprint_of(s, cancel);
      // A value found twice on a side names no one tensor: no suggestion.
      std::map<std::pair<uint64_t, uint64_t>, std::pair<const Side*, size_t>> in_a, in_b;
      for (const auto& s : g.first) {
        auto& [first, n] = in_a[{s.fp.count, s.fp.sum}];
        if (n++ == 0) first = &s;
      }
      for (const auto& s : g.second) ++in_b[{s.fp.count, s.fp.sum}].second;
      for (const auto& b : g.second) {
        const auto it = in_a.find({b.fp.count, b.fp.sum});
        if (b.constant || it == in_a.end() || it->second.second != 1 || in_b[{b.fp.count, b.fp.sum}].second != 1)
          continue;
        const Side& a = *it->second.first;
        throw_if_cancelled(cancel);
        if (const auto how = verify(*a.t, *b.t)) hint.pairs.push_back({a.key, b.key, *how});
      }
    }
  } catch (const Error& e) {
    if (e.code() == Errc::cancelled) throw;
    return std::nullopt;  // a file that changed: the hint is not worth an error
  }
  if (hint.pairs.empty()) return std::nullopt;
  std::sort(hint.pairs.begin(), hint.pairs.end(),
            [](const ContentPair& x, const ContentPair& y) { return x.b_key < y.b_key; });
  for (const auto& p : hint.pairs) hint.rules.push_back(exact_rename_rule(p.b_key, p.a_key));
  return hint;
}

std::string content_hint_text(const ContentHint& h, bool after_other_maps) {
  size_t transposed = 0;
  for (const auto& p : h.pairs) transposed += p.transposed;
  const size_t n = h.pairs.size();
  std::string text = std::to_string(n);
  text += n == 1 ? " tensor only in B equals a tensor only in A" : " tensors only in B equal a tensor only in A";
  text += " by content";
  if (transposed > 0) {
    text += " (";
    text += std::to_string(transposed);
    text += " transposed)";
  }
  if (n > kRulesShown) {
    text += "; the --json report lists the --map rules that pair them (suggested_map)";
    return text;
  }
  text += ": try";
  for (const auto& r : h.rules) {
    text += " --map '";
    text += r.pattern;
    text += '=';
    text += r.replacement;
    text += '\'';
  }
  if (after_other_maps) text += " after your --map rules";
  return text;
}

}  // namespace weightdiff::match
