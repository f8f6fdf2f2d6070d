// MakeBalancer: the one place that maps a pool's `balance` setting to an implementation.

#include "l4/balancer/balancer.h"

#include "absl/strings/str_format.h"
#include "l4/balancer/least_conn_balancer.h"
#include "l4/balancer/maglev_balancer.h"
#include "l4/balancer/random_two_balancer.h"
#include "l4/balancer/round_robin_balancer.h"

namespace edge::l4 {

absl::StatusOr<std::unique_ptr<Balancer>> MakeBalancer(
    const BalancerOptions& options, std::vector<std::shared_ptr<Backend>> backends) {
  for (size_t i = 0; i < backends.size(); ++i) {
    if (backends[i] == nullptr) {
      return absl::InvalidArgumentError(absl::StrFormat("backend %d is null", i));
    }
    if (backends[i]->weight == 0) {
      return absl::InvalidArgumentError(
          absl::StrFormat("backend \"%s\": weight must be >= 1, got 0", backends[i]->key));
    }
  }
  switch (options.kind) {
    case BalanceKind::kMaglev: {
      auto maglev = MaglevBalancer::Create(std::move(backends), options.hash, options.table_size);
      if (!maglev.ok()) return maglev.status();
      return std::unique_ptr<Balancer>(std::move(*maglev));
    }
    case BalanceKind::kRoundRobin:
      return std::make_unique<RoundRobinBalancer>(std::move(backends));
    case BalanceKind::kLeastConn:
      return std::make_unique<LeastConnBalancer>(std::move(backends));
    case BalanceKind::kRandomTwo:
      return std::make_unique<RandomTwoBalancer>(std::move(backends));
  }
  return absl::InvalidArgumentError(
      absl::StrFormat("unknown balance kind %d", static_cast<int>(options.kind)));
}

}  // namespace edge::l4
