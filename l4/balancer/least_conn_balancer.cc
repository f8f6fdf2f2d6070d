#include "l4/balancer/least_conn_balancer.h"

#include <algorithm>

namespace edge::l4 {

int LeastConnBalancer::Pick(const net::SocketAddress& /*client*/, const std::vector<bool>& tried) {
  const size_t n = backends_.size();
  if (n == 0) return -1;
  size_t i = start_.fetch_add(1, std::memory_order_relaxed) % n;
  int best = -1;
  int64_t best_active = 0;
  uint32_t best_weight = 1;
  for (size_t seen = 0; seen < n; ++seen, i = (i + 1 == n ? 0 : i + 1)) {
    if (!IsEligible(backends_, tried, i)) continue;
    const Backend& b = *backends_[i];
    // A counter racing below zero (decrement before increment) counts as idle.
    const int64_t active = std::max<int64_t>(0, b.active.load(std::memory_order_relaxed));
    // active / weight < best_active / best_weight, without division; 128 bits cannot overflow.
    if (best < 0 || static_cast<__int128>(active) * best_weight <
                        static_cast<__int128>(best_active) * b.weight) {
      best = static_cast<int>(i);
      best_active = active;
      best_weight = b.weight;
    }
  }
  return best;
}

}  // namespace edge::l4
