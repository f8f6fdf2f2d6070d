#include "l7/balancer/least_request_balancer.h"

#include <algorithm>

namespace edge::l7 {

LeastRequestBalancer::LeastRequestBalancer(std::vector<uint32_t> weights)
    : weights_(weights.begin(), weights.end()), in_flight_(weights.size(), 0) {
  for (int64_t& w : weights_) w = std::max<int64_t>(w, 1);
}

int LeastRequestBalancer::Pick(std::string_view /*key*/, const std::vector<bool>& excluded) {
  const size_t n = weights_.size();
  if (n == 0) return -1;
  const size_t start = next_start_ % n;
  next_start_ = start + 1;
  int best = -1;
  for (size_t k = 0; k < n; ++k) {
    const size_t i = (start + k) % n;
    if (IsExcluded(excluded, i)) continue;
    if (best < 0) {
      best = static_cast<int>(i);
      continue;
    }
    const size_t b = static_cast<size_t>(best);
    // in_flight[i] / w[i] < in_flight[b] / w[b], without division.
    if (in_flight_[i] * weights_[b] < in_flight_[b] * weights_[i]) best = static_cast<int>(i);
  }
  return best;
}

void LeastRequestBalancer::OnRequestStart(int server) {
  if (server >= 0 && static_cast<size_t>(server) < in_flight_.size()) {
    ++in_flight_[static_cast<size_t>(server)];
  }
}

void LeastRequestBalancer::OnRequestEnd(int server, int64_t /*latency_ns*/, bool /*success*/) {
  if (server >= 0 && static_cast<size_t>(server) < in_flight_.size() &&
      in_flight_[static_cast<size_t>(server)] > 0) {
    --in_flight_[static_cast<size_t>(server)];
  }
}

void LeastRequestBalancer::SetWeights(const std::vector<uint32_t>& weights) {
  for (size_t i = 0; i < weights_.size() && i < weights.size(); ++i) {
    weights_[i] = std::max<int64_t>(weights[i], 1);
  }
}

}  // namespace edge::l7
