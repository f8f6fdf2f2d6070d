#include "l7/filters/concurrency/concurrency_filter_factory.h"

#include <mutex>

#include "absl/strings/str_format.h"
#include "common/status.h"

namespace edge::l7 {
namespace {

// The registry of the config generation being built. Filter chains are built on gw7's one
// thread; the mutex only keeps tests that build from several threads correct.
struct RegistryCache {
  std::mutex mu;
  std::weak_ptr<const toml::table> document;
  std::shared_ptr<ConcurrencyRegistry> registry;
};
RegistryCache& Cache() {
  static RegistryCache* cache = new RegistryCache();
  return *cache;
}

bool SameLimit(const ConcurrencyLimitConfig& a, const ConcurrencyLimitConfig& b) {
  return a.name == b.name && a.key == b.key && a.max_in_flight == b.max_in_flight;
}

}  // namespace

absl::StatusOr<std::shared_ptr<ConcurrencyRegistry>> BuildConcurrencyRegistry(
    const toml::table& document, const std::string& path, const ConcurrencyRegistry* previous) {
  ASSIGN_OR_RETURN(std::vector<ConcurrencyLimitConfig> configs,
                   ParseConcurrencyLimitConfigs(document, path));
  auto registry = std::make_shared<ConcurrencyRegistry>();
  for (ConcurrencyLimitConfig& config : configs) {
    std::shared_ptr<ConcurrencyLimiter> limiter;
    if (previous != nullptr) {
      auto it = previous->limiters.find(config.name);
      if (it != previous->limiters.end() && SameLimit(it->second->config(), config)) {
        limiter = it->second;
      }
    }
    if (limiter == nullptr) limiter = std::make_shared<ConcurrencyLimiter>(config);
    registry->limiters.emplace(config.name, std::move(limiter));
  }
  return registry;
}

absl::StatusOr<std::vector<std::unique_ptr<Filter>>> MakeConcurrencyFilters(
    const ConcurrencyRegistry& registry, const RouteConfig& route) {
  std::vector<std::unique_ptr<Filter>> filters;
  if (route.concurrency_limit.empty()) return filters;
  auto it = registry.limiters.find(route.concurrency_limit);
  if (it == registry.limiters.end()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "route \"%s\": concurrency_limit \"%s\": no [[concurrency_limit]] of that name", route.name,
        route.concurrency_limit));
  }
  filters.push_back(std::make_unique<ConcurrencyFilter>(it->second));
  return filters;
}

absl::StatusOr<std::vector<std::unique_ptr<Filter>>> BuildConcurrencyFilters(
    const GatewayConfig& config, const RouteConfig& route, uring::EventLoop* /*loop*/) {
  std::shared_ptr<ConcurrencyRegistry> registry;
  {
    RegistryCache& cache = Cache();
    std::lock_guard<std::mutex> lock(cache.mu);
    std::shared_ptr<const toml::table> document = cache.document.lock();
    if (document == nullptr || document != config.document || cache.registry == nullptr) {
      static const toml::table kEmpty;
      auto built = BuildConcurrencyRegistry(config.document ? *config.document : kEmpty,
                                            config.path, cache.registry.get());
      if (!built.ok()) return built.status();
      cache.registry = *std::move(built);
      cache.document = config.document;
    }
    registry = cache.registry;
  }
  return MakeConcurrencyFilters(*registry, route);
}

std::shared_ptr<const ConcurrencyRegistry> CurrentConcurrencyRegistry() {
  RegistryCache& cache = Cache();
  std::lock_guard<std::mutex> lock(cache.mu);
  return cache.registry;
}

void WriteConcurrencyMetrics(const ConcurrencyRegistry& registry, metrics::PrometheusText* out) {
  out->Family("gw7_concurrency_requests_total", "counter",
              "Requests admitted or rejected (503) by [[concurrency_limit]].");
  for (const auto& [name, limiter] : registry.limiters) {
    out->Sample("gw7_concurrency_requests_total", {{"limit", name}, {"outcome", "admitted"}},
                static_cast<double>(limiter->admitted()));
    out->Sample("gw7_concurrency_requests_total", {{"limit", name}, {"outcome", "rejected"}},
                static_cast<double>(limiter->rejected()));
  }
  out->Family("gw7_concurrency_in_flight", "gauge",
              "Requests holding a [[concurrency_limit]] slot now.");
  for (const auto& [name, limiter] : registry.limiters) {
    out->Sample("gw7_concurrency_in_flight", {{"limit", name}},
                static_cast<double>(limiter->in_flight()));
  }
}

}  // namespace edge::l7
