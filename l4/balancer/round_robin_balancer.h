#pragma once
// RoundRobinBalancer: weighted round robin. The order is a precomputed schedule in which each
// backend appears weight times (after dividing the weights by their gcd), interleaved smoothly
// (weights 3 and 1 give A B A A, not A A A B); Pick takes the next ticket of one shared atomic
// counter, so it is lock-free and exact over a full cycle whichever threads pick.

#include <atomic>
#include <cstdint>
#include <vector>

#include "l4/balancer/balancer.h"
#include "l4/balancer/eligible.h"

namespace edge::l4 {

class RoundRobinBalancer final : public Balancer {
 public:
  // Longest schedule built; larger weight sums are scaled down to it (each weight at least 1),
  // which keeps the shares within about (number of backends / kMaxSchedule) of the configured ones.
  static constexpr uint64_t kMaxSchedule = 1 << 16;

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
