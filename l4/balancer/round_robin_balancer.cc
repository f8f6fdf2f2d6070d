#include "l4/balancer/round_robin_balancer.h"

namespace edge::l4 {
namespace {

// Tickets taken for one Pick before falling back to walking the schedule: bounds the atomic
// increments when most backends are down, at the cost of favouring successors in that case only.
constexpr int kMaxTickets = 16;

}  // namespace

RoundRobinBalancer::RoundRobinBalancer(BackendList backends)
    : backends_(std::move(backends)), schedule_(WeightedSchedule(backends_)) {}

int RoundRobinBalancer::Pick(const net::SocketAddress& /*client*/, const std::vector<bool>& tried) {
  const size_t n = schedule_.size();
  if (n == 0) return -1;
  uint64_t ticket = next_.fetch_add(1, std::memory_order_relaxed);
  int32_t index = schedule_[ticket % n];
  if (IsEligible(backends_, tried, index)) return index;
  if (!AnyEligible(backends_, tried)) return -1;
  for (int i = 0; i < kMaxTickets; ++i) {
    ticket = next_.fetch_add(1, std::memory_order_relaxed);
    index = schedule_[ticket % n];
    if (IsEligible(backends_, tried, index)) return index;
  }
  // Found by AnyEligible, and every backend is in the schedule, so this walk ends with one (unless
  // a health check flipped it meanwhile).
  for (size_t i = 1; i < n; ++i) {
    index = schedule_[(ticket + i) % n];
    if (IsEligible(backends_, tried, index)) return index;
  }
  return -1;
}

}  // namespace edge::l4
