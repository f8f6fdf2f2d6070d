#pragma once
// Builds the cache part of a route's filter chain: one CacheFilter for `cache = "name"`, over the
// [[cache]] of that name (cache_registry.h). Same shape as the concurrency factory: the registry
// is built once per config document and keeps unchanged caches across reloads.

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "common/config/toml.h"
#include "common/metrics/prometheus.h"
#include "l7/config/gateway_config.h"
#include "l7/filters/cache/cache_registry.h"
#include "l7/filters/filter.h"

namespace edge::l7 {

// `previous` (may be null): caches with the same definition are carried over, contents and all.
absl::StatusOr<std::shared_ptr<CacheRegistry>> BuildCacheRegistry(
    const toml::table& document, const std::string& path, const CacheRegistry* previous = nullptr);

// No filter when the route has no cache; an error when it names an unknown one.
absl::StatusOr<std::vector<std::unique_ptr<Filter>>> MakeCacheFilters(const CacheRegistry& registry,
                                                                      const RouteConfig& route);

// The per-route entry point of l7/server/filter_chain.cc.
absl::StatusOr<std::vector<std::unique_ptr<Filter>>> BuildCacheFilters(const GatewayConfig& config,
                                                                       const RouteConfig& route);

// The newest registry BuildCacheFilters built (null before any), for metrics.
std::shared_ptr<const CacheRegistry> CurrentCacheRegistry();

// gw7_cache_requests_total{cache,result}, gw7_cache_stores_total, gw7_cache_evictions_total,
// gw7_cache_bytes, gw7_cache_objects, ...
void WriteCacheMetrics(const CacheRegistry& registry, metrics::PrometheusText* out);

}  // namespace edge::l7
