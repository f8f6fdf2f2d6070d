#include "l4/balancer/weighted_schedule.h"

#include <algorithm>
#include <numeric>
#include <queue>

namespace edge::l4 {

std::vector<int32_t> WeightedSchedule(const BackendList& backends) {
  std::vector<uint64_t> weights;
  weights.reserve(backends.size());
  uint64_t divisor = 0;
  for (const auto& b : backends) {
    weights.push_back(b->weight);
    divisor = std::gcd(divisor, uint64_t{b->weight});
  }
  uint64_t total = 0;
  for (uint64_t& w : weights) total += (w /= std::max<uint64_t>(divisor, 1));
  if (total > kMaxWeightedSchedule) {
    uint64_t scaled_total = 0;
    for (uint64_t& w : weights) {
      // w < 2^32 and kMaxWeightedSchedule = 2^16: no overflow.
      w = std::max<uint64_t>(1, w * kMaxWeightedSchedule / total);
      scaled_total += w;
    }
    total = scaled_total;
  }

  // The next entry goes to the backend with the smallest turns / weight, ties to the lower index
  // (the order in which the weighted Maglev population takes turns).
  struct Turn {
    uint64_t turns;
    uint64_t weight;
    int32_t index;
  };
  auto later = [](const Turn& a, const Turn& b) {
    // turns <= weight <= kMaxWeightedSchedule here: the products fit easily.
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

}  // namespace edge::l4
