#pragma once
// RoundRobinBalancer: weighted round robin. The order is a WeightedSchedule (each backend weight
// times per cycle, smoothly interleaved); Pick takes the next ticket of one shared atomic counter,
// so it is lock-free and exact over a full cycle whichever threads pick.

#include <atomic>
#include <cstdint>
#include <vector>

#include "l4/balancer/balancer.h"
#include "l4/balancer/eligible.h"
#include "l4/balancer/weighted_schedule.h"

namespace edge::l4 {

class RoundRobinBalancer final : public Balancer {
 public:
  explicit RoundRobinBalancer(BackendList backends);

  // The next backend of the schedule. An ineligible one makes Pick take further tickets rather
  // than its successor in the schedule, so its turns are shared by the others in proportion to
  // their weights instead of all going to one neighbour.
  int Pick(const net::SocketAddress& client, const std::vector<bool>& tried) override;

  // One full cycle of backend indexes (for tests and /status).
  const std::vector<int32_t>& schedule() const { return schedule_; }

 private:
  const BackendList backends_;
  const std::vector<int32_t> schedule_;
  // On its own cache line: every worker increments it.
  alignas(64) std::atomic<uint64_t> next_{0};
};

}  // namespace edge::l4
