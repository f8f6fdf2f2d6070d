#pragma once
// Smooth weighted round robin, as nginx does it (ngx_http_upstream_get_peer): each pick, every
// eligible server's `current` grows by its weight, the largest `current` wins and gives back the
// total. Weights 5,1,1 give a a b a c a a, not a a a a a b c: a heavy server's turns are spread
// out, so it never takes a burst. Excluded servers take no part in a pick (their `current` stays),
// so the others keep their proportions among themselves.

#include <cstdint>
#include <vector>

#include "l7/balancer/upstream_balancer.h"

namespace edge::l7 {

class RoundRobinBalancer final : public UpstreamBalancer {
 public:
  // One weight per server (each >= 1; a 0 is treated as 1).
  explicit RoundRobinBalancer(std::vector<uint32_t> weights);
  int Pick(std::string_view key, const std::vector<bool>& excluded) override;
  void SetWeights(const std::vector<uint32_t>& weights) override;

 private:
  std::vector<int64_t> weights_;
  std::vector<int64_t> current_;
};

}  // namespace edge::l7
