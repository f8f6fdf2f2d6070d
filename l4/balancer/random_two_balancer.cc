#include "l4/balancer/random_two_balancer.h"

#include <algorithm>
#include <random>
#include <thread>

namespace edge::l4 {
namespace {

// Random draws tried before building the list of eligible backends: with most backends eligible,
// one or two draws succeed and the O(backends) path is for pools that are mostly down.
constexpr int kQuickDraws = 4;

// splitmix64: tiny, fast and plenty for spreading load. Seeded per thread from random_device so
// that threads (and lb4 processes) do not draw in lockstep.
class ThreadRng {
 public:
  ThreadRng() {
    std::random_device rd;
    state_ =
        (uint64_t{rd()} << 32) ^ rd() ^ std::hash<std::thread::id>()(std::this_thread::get_id());
  }
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, bound) by multiply-shift (Lemire); the bias is below bound / 2^64.
  uint64_t Below(uint64_t bound) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * bound) >> 64);
  }

 private:
  uint64_t state_;
};

ThreadRng& Rng() {
  thread_local ThreadRng rng;
  return rng;
}

}  // namespace

RandomTwoBalancer::RandomTwoBalancer(BackendList backends)
    : backends_(std::move(backends)), schedule_(WeightedSchedule(backends_)) {}

int RandomTwoBalancer::DrawEligible(const std::vector<bool>& tried) const {
  if (schedule_.empty()) return -1;
  ThreadRng& rng = Rng();
  for (int i = 0; i < kQuickDraws; ++i) {
    const int32_t index = schedule_[rng.Below(schedule_.size())];
    if (IsEligible(backends_, tried, index)) return index;
  }
  // Most draws miss: draw among the eligible ones only. The buffers live per thread so this path
  // allocates once per thread, not per pick.
  thread_local std::vector<uint64_t> sums;
  thread_local std::vector<int> indexes;
  sums.clear();
  indexes.clear();
  uint64_t sum = 0;
  for (size_t i = 0; i < backends_.size(); ++i) {
    if (!IsEligible(backends_, tried, i)) continue;
    sums.push_back(sum += backends_[i]->weight);
    indexes.push_back(static_cast<int>(i));
  }
  if (indexes.empty()) return -1;
  const uint64_t r = rng.Below(sum);
  return indexes[std::upper_bound(sums.begin(), sums.end(), r) - sums.begin()];
}

int RandomTwoBalancer::Pick(const net::SocketAddress& /*client*/, const std::vector<bool>& tried) {
  const int a = DrawEligible(tried);
  if (a < 0) return -1;
  // A second draw equal to the first (likely in small pools) is drawn again, a few times: two
  // distinct candidates are what makes the choice balance load.
  int b = a;
  for (int i = 0; i < kQuickDraws && b == a; ++i) b = DrawEligible(tried);
  if (b == a) return a;
  const Backend& ba = *backends_[a];
  const Backend& bb = *backends_[b];
  const int64_t active_a = std::max<int64_t>(0, ba.active.load(std::memory_order_relaxed));
  const int64_t active_b = std::max<int64_t>(0, bb.active.load(std::memory_order_relaxed));
  // b wins only when strictly less loaded per unit of weight: on ties the first (random) draw wins.
  return static_cast<__int128>(active_b) * ba.weight < static_cast<__int128>(active_a) * bb.weight
             ? b
             : a;
}

}  // namespace edge::l4
