#pragma once
// Builds the rate-limit part of a route's filter chain: one RateLimitFilter for the route's
// `rate_limit = "name"`.
//
// Policies are built once per config generation from the document's [[rate_limit]] and [redis]
// tables and shared by every route that names them (a policy keyed by consumer limits a consumer
// across all of its routes). The Redis connection is one per loop and generation. A reload keeps
// the local buckets of every policy whose definition did not change, so a SIGHUP does not hand
// every client a fresh quota.
//
// Two ways in, as for auth (auth_filter_factory.h): BuildRateLimitRegistry + MakeRateLimitFilters,
// or BuildRateLimitFilters(config, route, loop) per route, caching the registry per document.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/config/toml.h"
#include "common/metrics/prometheus.h"
#include "common/uring/event_loop.h"
#include "l7/config/gateway_config.h"
#include "l7/filters/filter.h"
#include "l7/filters/ratelimit/rate_limit_filter.h"

namespace edge::l7 {

struct RateLimitRegistry {
  std::map<std::string, std::shared_ptr<RateLimitPolicy>, std::less<>> policies;
  std::shared_ptr<RedisRateLimiter> redis;  // when a policy uses redis and a loop was given
  MonotonicClock clock;
};

// `loop` may be null (gw7 --check): redis policies are then validated but have no connection.
// `previous` (may be null): the registry of the previous generation, whose unchanged local
// stores are carried over.
absl::StatusOr<std::shared_ptr<RateLimitRegistry>> BuildRateLimitRegistry(
    const toml::table& document, const std::string& path, uring::EventLoop* loop,
    const RateLimitRegistry* previous = nullptr);

// No filter when the route has no rate_limit; an error when it names an unknown policy.
absl::StatusOr<std::vector<std::unique_ptr<Filter>>> MakeRateLimitFilters(
    const RateLimitRegistry& registry, const RouteConfig& route);

// The per-route entry point of l7/server/filter_chain.cc.
absl::StatusOr<std::vector<std::unique_ptr<Filter>>> BuildRateLimitFilters(
    const GatewayConfig& config, const RouteConfig& route, uring::EventLoop* loop);

// The newest registry BuildRateLimitFilters built (null before any), for metrics.
std::shared_ptr<const RateLimitRegistry> CurrentRateLimitRegistry();

// gw7_rate_limit_requests_total{policy,outcome}, gw7_rate_limit_local_keys{policy},
// gw7_rate_limit_local_evictions_total{policy}, gw7_redis_* (commands, timeouts, disconnects...).
void WriteRateLimitMetrics(const RateLimitRegistry& registry, metrics::PrometheusText* out);

}  // namespace edge::l7
