#pragma once
// Least request: the eligible server with the fewest requests in flight relative to its weight
// (in_flight / weight, compared exactly by cross-multiplying). Ties rotate: the scan starts one
// server further each pick, so idle servers share the load evenly instead of the first one taking
// every request of a quiet period.

#include <cstdint>
#include <vector>

#include "l7/balancer/upstream_balancer.h"

namespace edge::l7 {

class LeastRequestBalancer final : public UpstreamBalancer {
 public:
  explicit LeastRequestBalancer(std::vector<uint32_t> weights);
  int Pick(std::string_view key, const std::vector<bool>& excluded) override;
  void OnRequestStart(int server) override;
  void OnRequestEnd(int server, int64_t latency_ns, bool success) override;
  void SetWeights(const std::vector<uint32_t>& weights) override;

  int64_t in_flight(int server) const { return in_flight_[static_cast<size_t>(server)]; }

 private:
  std::vector<int64_t> weights_;
  std::vector<int64_t> in_flight_;
  size_t next_start_ = 0;
};

}  // namespace edge::l7
