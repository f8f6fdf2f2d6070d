#include "l7/balancer/round_robin_balancer.h"

#include <algorithm>

namespace edge::l7 {

RoundRobinBalancer::RoundRobinBalancer(std::vector<uint32_t> weights)
    : weights_(weights.begin(), weights.end()), current_(weights.size(), 0) {
  for (int64_t& w : weights_) w = std::max<int64_t>(w, 1);
}

int RoundRobinBalancer::Pick(std::string_view /*key*/, const std::vector<bool>& excluded) {
  int best = -1;
  int64_t total = 0;
  for (size_t i = 0; i < weights_.size(); ++i) {
    if (IsExcluded(excluded, i)) continue;
    current_[i] += weights_[i];
    total += weights_[i];
    if (best < 0 || current_[i] > current_[static_cast<size_t>(best)]) best = static_cast<int>(i);
  }
  if (best >= 0) current_[static_cast<size_t>(best)] -= total;
  return best;
}

void RoundRobinBalancer::SetWeights(const std::vector<uint32_t>& weights) {
  for (size_t i = 0; i < weights_.size() && i < weights.size(); ++i) {
    weights_[i] = std::max<int64_t>(weights[i], 1);
  }
}

}  // namespace edge::l7
