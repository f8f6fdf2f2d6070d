#include "l7/filters/auth/auth_filter_factory.h"

#include <mutex>

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "common/status.h"
#include "l7/filters/auth/authorization_filter.h"

namespace edge::l7 {
namespace {

// The registry of the config generation being built. Filter chains are built on gw7's one
// thread; the mutex only keeps tests that build from several threads correct.
struct RegistryCache {
  std::mutex mu;
  std::weak_ptr<const toml::table> document;
  std::shared_ptr<const AuthRegistry> registry;
};
RegistryCache& Cache() {
  static RegistryCache* cache = new RegistryCache();
  return *cache;
}

}  // namespace

std::shared_ptr<const AuthProvider> AuthRegistry::Find(std::string_view name) const {
  auto it = providers.find(name);
  return it == providers.end() ? nullptr : it->second;
}

absl::StatusOr<AuthRegistry> BuildAuthRegistry(const toml::table& document,
                                               const std::string& path) {
  ASSIGN_OR_RETURN(std::vector<AuthProviderConfig> configs, ParseAuthConfigs(document, path));
  AuthRegistry registry;
  for (AuthProviderConfig& config : configs) {
    std::string name = config.name;
    registry.providers.emplace(std::move(name),
                               std::make_shared<const AuthProvider>(std::move(config)));
  }
  return registry;
}

absl::StatusOr<std::vector<std::unique_ptr<Filter>>> MakeAuthFilters(const AuthRegistry& registry,
                                                                     const RouteConfig& route) {
  std::vector<std::unique_ptr<Filter>> filters;
  const bool needs_authorization = !route.require_scopes.empty() || !route.require_claims.empty();
  if (route.auth.empty()) {
    if (needs_authorization) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "route \"%s\": require_scopes/require_claims need auth = \"<provider>\"", route.name));
    }
    return filters;
  }
  std::shared_ptr<const AuthProvider> provider = registry.Find(route.auth);
  if (provider == nullptr) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "route \"%s\": auth \"%s\": no [[auth]] of that name", route.name, route.auth));
  }
  filters.push_back(std::make_unique<AuthFilter>(provider, registry.clock));
  if (needs_authorization) {
    filters.push_back(std::make_unique<AuthorizationFilter>(provider, route.require_scopes,
                                                            route.require_claims));
  }
  return filters;
}

absl::StatusOr<std::shared_ptr<const AuthRegistry>> AuthRegistryFor(const GatewayConfig& config) {
  RegistryCache& cache = Cache();
  std::lock_guard<std::mutex> lock(cache.mu);
  std::shared_ptr<const toml::table> document = cache.document.lock();
  if (document == nullptr || document != config.document || cache.registry == nullptr) {
    static const toml::table kEmpty;
    auto built = BuildAuthRegistry(config.document ? *config.document : kEmpty, config.path);
    if (!built.ok()) return built.status();
    cache.registry = std::make_shared<const AuthRegistry>(*std::move(built));
    cache.document = config.document;
  }
  return cache.registry;
}

std::vector<std::string> IdentityFieldNames(const AuthRegistry& registry) {
  std::vector<std::string> names;
  // Providers usually share the default X-Consumer / X-Scopes: each name once.
  auto add = [&names](const std::string& name) {
    if (name.empty()) return;
    for (const std::string& n : names) {
      if (absl::EqualsIgnoreCase(n, name)) return;
    }
    names.push_back(name);
  };
  for (const auto& [name, provider] : registry.providers) {
    const AuthProviderConfig& c = provider->config();
    add(c.consumer_header);
    add(c.scopes_header);
    for (const auto& [claim, header] : c.claims_to_headers) add(header);
  }
  return names;
}

absl::StatusOr<std::vector<std::unique_ptr<Filter>>> BuildAuthFilters(const GatewayConfig& config,
                                                                      const RouteConfig& route,
                                                                      uring::EventLoop* /*loop*/) {
  ASSIGN_OR_RETURN(std::shared_ptr<const AuthRegistry> registry, AuthRegistryFor(config));
  return MakeAuthFilters(*registry, route);
}

std::shared_ptr<const AuthRegistry> CurrentAuthRegistry() {
  RegistryCache& cache = Cache();
  std::lock_guard<std::mutex> lock(cache.mu);
  return cache.registry;
}

void WriteAuthMetrics(const AuthRegistry& registry, metrics::PrometheusText* out) {
  out->Family("gw7_auth_requests_total", "counter",
              "Authentication and authorization outcomes by [[auth]] provider.");
  for (const auto& [name, provider] : registry.providers) {
    const AuthCounters& c = provider->counters();
    out->Sample("gw7_auth_requests_total", {{"provider", name}, {"outcome", "ok"}},
                static_cast<double>(c.ok.load(std::memory_order_relaxed)));
    out->Sample("gw7_auth_requests_total", {{"provider", name}, {"outcome", "missing"}},
                static_cast<double>(c.missing.load(std::memory_order_relaxed)));
    out->Sample("gw7_auth_requests_total", {{"provider", name}, {"outcome", "invalid"}},
                static_cast<double>(c.invalid.load(std::memory_order_relaxed)));
    out->Sample("gw7_auth_requests_total", {{"provider", name}, {"outcome", "forbidden"}},
                static_cast<double>(c.forbidden.load(std::memory_order_relaxed)));
  }
}

}  // namespace edge::l7
