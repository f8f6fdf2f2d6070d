#include "l7/server/filter_chain.h"

#include "absl/strings/str_format.h"

// The filter factories. Each kind plugs in here when its folder provides a factory header:
//   l7/filters/auth/auth_filter_factory.h        (auth, require_scopes, require_claims)
//   l7/filters/ratelimit/rate_limit_filter_factory.h
//   l7/filters/concurrency/concurrency_filter_factory.h
#if __has_include("l7/filters/auth/auth_filter_factory.h")
#include "l7/filters/auth/auth_filter_factory.h"
#define EDGE_L7_HAVE_AUTH_FACTORY 1
#endif
#if __has_include("l7/filters/ratelimit/rate_limit_filter_factory.h")
#include "l7/filters/ratelimit/rate_limit_filter_factory.h"
#define EDGE_L7_HAVE_RATE_LIMIT_FACTORY 1
#endif
#include "l7/filters/cache/cache_filter_factory.h"
#include "l7/filters/concurrency/concurrency_filter_factory.h"
#include "l7/filters/soap/soap_filter_factory.h"
#include "l7/filters/transform/transform_filter_factory.h"

namespace edge::l7 {

absl::StatusOr<std::vector<std::unique_ptr<Filter>>> BuildRouteFilters(
    const GatewayConfig& config, const RouteConfig& route, const FilterEnvironment& env) {
  std::vector<std::unique_ptr<Filter>> chain;
  (void)config;
  (void)env;
  // Header edits, CORS and compression first (transform_filter_factory.h says why).
  for (auto& f : BuildTransformFilters(route)) chain.push_back(std::move(f));
  if (!route.auth.empty() || !route.require_scopes.empty() || !route.require_claims.empty()) {
#ifdef EDGE_L7_HAVE_AUTH_FACTORY
    auto filters = BuildAuthFilters(config, route, env.loop);
    if (!filters.ok()) return filters.status();
    for (auto& f : *filters) chain.push_back(std::move(f));
#else
    return absl::UnimplementedError(
        absl::StrFormat("route \"%s\": auth \"%s\": this gw7 was built without the auth filter",
                        route.name, route.auth));
#endif
  }
  if (!route.rate_limit.empty()) {
#ifdef EDGE_L7_HAVE_RATE_LIMIT_FACTORY
    auto filters = BuildRateLimitFilters(config, route, env.loop);
    if (!filters.ok()) return filters.status();
    for (auto& f : *filters) chain.push_back(std::move(f));
#else
    return absl::UnimplementedError(absl::StrFormat(
        "route \"%s\": rate_limit \"%s\": this gw7 was built without the rate-limit filter",
        route.name, route.rate_limit));
#endif
  }
  if (!route.concurrency_limit.empty()) {
    auto filters = BuildConcurrencyFilters(config, route, env.loop);
    if (!filters.ok()) return filters.status();
    for (auto& f : *filters) chain.push_back(std::move(f));
  }
  // The cache answers only requests every filter above admitted, right before the proxy.
  if (!route.cache.empty()) {
    auto filters = BuildCacheFilters(config, route);
    if (!filters.ok()) return filters.status();
    for (auto& f : *filters) chain.push_back(std::move(f));
  }
  // The translation is the last step before the proxy, whose request and response it rewrites.
  for (auto& f : BuildSoapFilters(route)) chain.push_back(std::move(f));
  return chain;
}

}  // namespace edge::l7
