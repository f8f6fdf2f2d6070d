#pragma once
// Builds a route's filter chain (DESIGN.md "gw7's request pipeline") from the config, once per
// config generation. Each kind of filter has a factory in its own folder (l7/filters/<kind>/);
// this file is the one place that knows them all and the order they run in:
//   headers -> cors -> compress (transform_filter_factory.h) -> auth (authentication and the
//   route's require_scopes / require_claims) -> rate limit -> concurrency limit (a request refused
//   by its rate limit never holds a slot) -> cache (answers only what the filters above admitted).
// The proxy (l7/filters/proxy/) is the last filter of every route; BuildGatewayRuntime appends it
// once the route's upstream is known.

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "common/uring/event_loop.h"
#include "l7/config/gateway_config.h"
#include "l7/filters/filter.h"

namespace edge::l7 {

// What factories may need besides the config: the loop (a filter that talks to Redis runs its
// I/O on it).
struct FilterEnvironment {
  uring::EventLoop* loop = nullptr;
};

// The route's filters in run order. An error names the route and the filter (a route that names
// an [[auth]] or [[rate_limit]] no factory can build is a config error: exit 2 or a refused
// reload).
absl::StatusOr<std::vector<std::unique_ptr<Filter>>> BuildRouteFilters(
    const GatewayConfig& config, const RouteConfig& route, const FilterEnvironment& env);

}  // namespace edge::l7
