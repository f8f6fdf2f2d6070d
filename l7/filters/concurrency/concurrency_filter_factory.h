#pragma once
// Builds the concurrency part of a route's filter chain: one ConcurrencyFilter for the route's
// `concurrency_limit = "name"`.
//
// Limiters are built once per config generation from the document's [[concurrency_limit]] tables
// and shared by every route that names them. A reload keeps the limiter (and so the count of
// requests in flight) of every limit whose definition did not change: requests of the old
// generation still hold slots, and a SIGHUP must not double the limit meanwhile.
//
// Two ways in, as for rate limits (rate_limit_filter_factory.h): BuildConcurrencyRegistry +
// MakeConcurrencyFilters, or BuildConcurrencyFilters(config, route, loop) per route, caching the
// registry per document.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/config/toml.h"
#include "common/metrics/prometheus.h"
#include "common/uring/event_loop.h"
#include "l7/config/gateway_config.h"
#include "l7/filters/concurrency/concurrency_filter.h"
#include "l7/filters/filter.h"

namespace edge::l7 {

struct ConcurrencyRegistry {
  std::map<std::string, std::shared_ptr<ConcurrencyLimiter>, std::less<>> limiters;
};

// `previous` (may be null): the registry of the previous generation, whose unchanged limiters
// are carried over.
absl::StatusOr<std::shared_ptr<ConcurrencyRegistry>> BuildConcurrencyRegistry(
    const toml::table& document, const std::string& path,
    const ConcurrencyRegistry* previous = nullptr);

// No filter when the route has no concurrency_limit; an error when it names an unknown one.
absl::StatusOr<std::vector<std::unique_ptr<Filter>>> MakeConcurrencyFilters(
    const ConcurrencyRegistry& registry, const RouteConfig& route);

// The per-route entry point of l7/server/filter_chain.cc (the loop is unused: counting is
// synchronous).
absl::StatusOr<std::vector<std::unique_ptr<Filter>>> BuildConcurrencyFilters(
    const GatewayConfig& config, const RouteConfig& route, uring::EventLoop* loop);

// The newest registry BuildConcurrencyFilters built (null before any), for metrics.
std::shared_ptr<const ConcurrencyRegistry> CurrentConcurrencyRegistry();

// gw7_concurrency_requests_total{limit,outcome="admitted|rejected"},
// gw7_concurrency_in_flight{limit}.
void WriteConcurrencyMetrics(const ConcurrencyRegistry& registry, metrics::PrometheusText* out);

}  // namespace edge::l7
