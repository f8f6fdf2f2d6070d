#include "l4/balancer/round_robin_balancer.h"

#include <algorithm>
#include <numeric>
#include <queue>

namespace edge::l4 {
namespace {

// Tickets taken for one Pick before falling back to walking the schedule: bounds the atomic
// increments when most backends are down, at the cost of favouring successors in that case only.
constexpr int kMaxTickets = 16;

std::vector<int32_t> BuildSchedule(const BackendList& backends) {
  std::vector<uint64_t> weights;
  weights.reserve(backends.size());
  uint64_t divisor = 0;
  for (const auto& b : backends) {
    weights.push_back(b->weight);
    divisor = std::gcd(divisor, uint64_t{b->weight});
  }
  uint64_t total = 0;
  for (uint64_t& w : weights) total += (w /= std::max<uint64_t>(divisor, 1));
  if (total > RoundRobinBalancer::kMaxSchedule) {
    uint64_t scaled_total = 0;
    for (uint64_t& w : weights) {
      // w * kMaxSchedule < 2^48: no overflow.
      w = std::max<uint64_t>(1, w * RoundRobinBalancer::kMaxSchedule / total);
      scaled_total += w;
    }
    total = scaled_total;
  }

  // Smooth interleave: the next entry goes to the backend with the smallest turns / weight, ties to
  // the lower index (the same order as the weighted Maglev population).
  struct Turn {
    uint64_t turns;
    uint64_t weight;
    int32_t index;
  };
  auto later = [](const Turn& a, const Turn& b) {
    // turns <= weight <= kMaxSchedule here: the products fit easily.
    const uint64_t lhs = a.turns * b.weight;
    const uint64_t rhs = b.turns * a.weight;
    return lhs != rhs ? lhs > rhs : a.index > b.index;
  };
  std::priority_queue<Turn, std::vector<Turn>, decltype(later)> queue(later);
  for (size_t i = 0; i < weights.size(); ++i) {
    queue.push({0, weights[i], static_cast<int32_t>(i)});
  }
  std::vector<int32_t> schedule;
  schedule.reserve(total);
  while (!queue.empty()) {
    Turn t = queue.top();
    queue.pop();
    schedule.push_back(t.index);
    if (++t.turns < t.weight) queue.push(t);
  }
  return schedule;
}

}  // namespace

RoundRobinBalancer::RoundRobinBalancer(BackendList backends)
    : backends_(std::move(backends)), schedule_(BuildSchedule(backends_)) {}

int RoundRobinBalancer::Pick(const net::SocketAddress& /*client*/, const std::vector<bool>& tried) {
  const size_t n = schedule_.size();
  if (n == 0) return -1;
  uint64_t ticket = next_.fetch_add(1, std::memory_order_relaxed);
  int32_t index = schedule_[ticket % n];
  if (IsEligible(backends_, tried, index)) return index;
  if (!AnyEligible(backends_, tried)) return -1;
  for (int i = 0; i < kMaxTickets; ++i) {
    ticket = next_.fetch_add(1, std::memory_order_relaxed);
    index = schedule_[ticket % n];
    if (IsEligible(backends_, tried, index)) return index;
  }
  // Found by AnyEligible, and every backend is in the schedule, so this walk ends with one (unless
  // a health check flipped it meanwhile).
  for (size_t i = 1; i < n; ++i) {
    index = schedule_[(ticket + i) % n];
    if (IsEligible(backends_, tried, index)) return index;
  }
  return -1;
}

}  // namespace edge::l4
