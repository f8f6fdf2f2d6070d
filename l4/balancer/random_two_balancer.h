#pragma once
// RandomTwoBalancer: power of two choices. Draws two eligible backends at random (with probability
// proportional to weight) and takes the one with the lower active / weight. Nearly as good as
// least_conn at keeping load even, in O(1), and without least_conn's herding of every worker onto
// the same momentarily-idle backend. Each thread draws from its own generator: no shared state.

#include <cstdint>
#include <vector>

#include "l4/balancer/balancer.h"
#include "l4/balancer/eligible.h"
#include "l4/balancer/weighted_schedule.h"

namespace edge::l4 {

class RandomTwoBalancer final : public Balancer {
 public:
  explicit RandomTwoBalancer(BackendList backends);

  int Pick(const net::SocketAddress& client, const std::vector<bool>& tried) override;

 private:
  // One weighted draw among the eligible backends; -1 when there is none.
  int DrawEligible(const std::vector<bool>& tried) const;

  const BackendList backends_;
  // Each backend in proportion to its weight: a uniform draw from it is a weighted draw.
  const std::vector<int32_t> schedule_;
};

}  // namespace edge::l4
