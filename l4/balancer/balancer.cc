// MakeBalancer: the one place that maps a pool's `balance` setting to an implementation.

#include "l4/balancer/balancer.h"

#include "absl/strings/str_format.h"
#include "l4/balancer/least_conn_balancer.h"
#include "l4/balancer/maglev_balancer.h"
#include "l4/balancer/random_two_balancer.h"
#include "l4/balancer/round_robin_balancer.h"

namespace edge::l4 {

std::optional<BalanceKind> BalanceKindFromName(std::string_view name) {
  if (name == "maglev") return BalanceKind::kMaglev;
  if (name == "round_robin") return BalanceKind::kRoundRobin;
  if (name == "least_conn") return BalanceKind::kLeastConn;
  if (name == "random_two") return BalanceKind::kRandomTwo;
  return std::nullopt;
}

std::string_view BalanceKindName(BalanceKind kind) {
  switch (kind) {
    case BalanceKind::kMaglev:
      return "maglev";
    case BalanceKind::kRoundRobin:
      return "round_robin";
    case BalanceKind::kLeastConn:
      return "least_conn";
    case BalanceKind::kRandomTwo:
      return "random_two";
  }
  return "unknown";
}

std::optional<HashKey> HashKeyFromName(std::string_view name) {
  if (name == "source_ip") return HashKey::kSourceIp;
  if (name == "source_ip_port") return HashKey::kSourceIpPort;
  return std::nullopt;
}

std::string_view HashKeyName(HashKey key) {
  return key == HashKey::kSourceIpPort ? "source_ip_port" : "source_ip";
}

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
