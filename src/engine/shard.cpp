#include "weightdiff/shard.hpp"

#include <algorithm>
#include <charconv>
#include <numeric>
#include <queue>
#include <string>

#include "weightdiff/error.hpp"

namespace weightdiff {
namespace {

constexpr uint32_t kMaxShards = 65536;

bool parse_count(std::string_view s, uint32_t& out) {
  if (s.empty() || s.size() > 6) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

Shard parse_shard(std::string_view text) {
  const size_t slash = text.find('/');
  Shard s;
  std::string msg = "--shard '";
  msg += text;
  if (slash == std::string_view::npos || !parse_count(text.substr(0, slash), s.k) ||
      !parse_count(text.substr(slash + 1), s.n))
    throw Error(Errc::usage, msg + "': expected K/N, e.g. 1/4");
  if (s.n < 1 || s.n > kMaxShards || s.k < 1 || s.k > s.n)
    throw Error(Errc::usage, msg + "': needs 1 <= K <= N <= " + std::to_string(kMaxShards));
  return s;
}

std::vector<uint32_t> assign_shards(const std::vector<uint64_t>& bytes, uint32_t n) {
  std::vector<uint32_t> part(bytes.size(), 0);
  if (n <= 1) return part;
  std::vector<size_t> order(bytes.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) { return bytes[x] > bytes[y]; });
  // (load, part): the least loaded part on top, the lower part on ties.
  using Load = std::pair<uint64_t, uint32_t>;
  std::priority_queue<Load, std::vector<Load>, std::greater<>> loads;
  for (uint32_t p = 0; p < n; ++p) loads.push({0, p});
  for (const size_t i : order) {
    auto [load, p] = loads.top();
    loads.pop();
    part[i] = p;
    loads.push({load + bytes[i], p});
  }
  return part;
}

}  // namespace weightdiff
