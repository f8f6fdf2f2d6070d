#pragma once
// Builds the auth part of a route's filter chain (DESIGN.md "gw7's request pipeline"):
//   AuthFilter (route `auth`) -> AuthorizationFilter (route `require_scopes` / `require_claims`).
//
// Providers are built once per config generation from the document's [[auth]] tables (keys are
// loaded then, so a reload re-reads JWKS and key files) and shared by every route that names
// them. Two ways in:
//   - BuildAuthRegistry + MakeAuthFilters: explicit, for tests and callers that keep the registry;
//   - BuildAuthFilters(config, route, loop): what l7/server/filter_chain.cc calls per route; it
//     builds the registry on the first route of a config generation and reuses it for the others.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/config/toml.h"
#include "common/metrics/prometheus.h"
#include "common/uring/event_loop.h"
#include "l7/config/gateway_config.h"
#include "l7/filters/auth/auth_filter.h"
#include "l7/filters/auth/auth_provider.h"
#include "l7/filters/filter.h"

namespace edge::l7 {

struct AuthRegistry {
  std::map<std::string, std::shared_ptr<const AuthProvider>, std::less<>> providers;
  UnixClock clock = SystemUnixClock();

  std::shared_ptr<const AuthProvider> Find(std::string_view name) const;
};

// Parses and validates every [[auth]] of `document` (errors as FILE:LINE:COL, see auth_config.h)
// and builds the providers.
absl::StatusOr<AuthRegistry> BuildAuthRegistry(const toml::table& document,
                                               const std::string& path);

// The route's auth filters in order: none when the route has no `auth`; AuthFilter; then an
// AuthorizationFilter when it requires scopes or claims. Errors: an unknown provider name, or
// require_scopes / require_claims without auth.
absl::StatusOr<std::vector<std::unique_ptr<Filter>>> MakeAuthFilters(const AuthRegistry& registry,
                                                                     const RouteConfig& route);

// The per-route entry point of filter_chain.cc (the loop is unused: authentication is synchronous).
absl::StatusOr<std::vector<std::unique_ptr<Filter>>> BuildAuthFilters(const GatewayConfig& config,
                                                                      const RouteConfig& route,
                                                                      uring::EventLoop* loop);

// The registry of `config`'s generation: built on first use (by this or BuildAuthFilters) and
// shared by both, so key files are read once per generation.
absl::StatusOr<std::shared_ptr<const AuthRegistry>> AuthRegistryFor(const GatewayConfig& config);

// The request fields that carry an identity upstream for some provider of `registry`: every
// consumer_header, scopes_header and claims_to_headers name. gw7 strips them from every client
// request, on every route (l7/server/trusted_headers.h).
std::vector<std::string> IdentityFieldNames(const AuthRegistry& registry);

// The registry of the newest config generation BuildAuthFilters saw (null before any), for the
// admin endpoint's metrics.
std::shared_ptr<const AuthRegistry> CurrentAuthRegistry();

// gw7_auth_requests_total{provider,outcome="ok|missing|invalid|forbidden"}.
void WriteAuthMetrics(const AuthRegistry& registry, metrics::PrometheusText* out);

}  // namespace edge::l7
