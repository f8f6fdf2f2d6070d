#pragma once
// LeastConnBalancer: the eligible backend with the fewest live connections per unit of weight
// (lowest active / weight). Reads the `active` counters that the relay maintains; the scan starts
// at a rotating position so that ties (an idle pool, a burst of connects) are spread, not all sent
// to the first backend.

#include <atomic>
#include <cstdint>
#include <vector>

#include "l4/balancer/balancer.h"
#include "l4/balancer/eligible.h"

namespace edge::l4 {

class LeastConnBalancer final : public Balancer {
 public:
  explicit LeastConnBalancer(BackendList backends) : backends_(std::move(backends)) {}

  // O(backends): a full scan of the relaxed `active` counters.
  int Pick(const net::SocketAddress& client, const std::vector<bool>& tried) override;

 private:
  const BackendList backends_;
  alignas(64) std::atomic<uint64_t> start_{0};
};

}  // namespace edge::l4
