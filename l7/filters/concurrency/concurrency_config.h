#pragma once
// The [[concurrency_limit]] tables of gateway.toml: how many requests may be in flight at once,
// per route or per consumer. A route names one with `concurrency_limit = "name"`.
//
//   [[concurrency_limit]]
//   name = "orders-inflight"   # required, unique
//   key = "route"              # route (all of the route's requests) | consumer
//   max_in_flight = 64         # 1 .. 1000000; one more gets 503
//
// key = "consumer" uses the authenticated consumer; a request without one (no auth on the route)
// is counted under its client address, like a rate limit's key.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/config/toml.h"

namespace edge::l7 {

enum class ConcurrencyKeyKind { kRoute, kConsumer };

struct ConcurrencyLimitConfig {
  std::string name;
  ConcurrencyKeyKind key = ConcurrencyKeyKind::kRoute;
  uint64_t max_in_flight = 0;
};

// Reads and validates every [[concurrency_limit]] of `document`; errors as FILE:LINE:COL.
absl::StatusOr<std::vector<ConcurrencyLimitConfig>> ParseConcurrencyLimitConfigs(
    const toml::table& document, const std::string& path);

}  // namespace edge::l7
