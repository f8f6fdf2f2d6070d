#include "l7/filters/cache/cache_filter_factory.h"

#include <mutex>

#include "absl/strings/str_format.h"
#include "common/status.h"
#include "l7/filters/cache/cache_filter.h"

namespace edge::l7 {
namespace {

// The registry of the config generation being built (filter chains are built on gw7's one
// thread; the mutex keeps tests that build from several threads correct).
struct RegistryCache {
  std::mutex mu;
  std::weak_ptr<const toml::table> document;
  std::shared_ptr<CacheRegistry> registry;
};
RegistryCache& Current() {
  static RegistryCache* cache = new RegistryCache();
  return *cache;
}

}  // namespace

absl::StatusOr<std::shared_ptr<CacheRegistry>> BuildCacheRegistry(const toml::table& document,
                                                                  const std::string& path,
                                                                  const CacheRegistry* previous) {
  ASSIGN_OR_RETURN(std::vector<CacheConfig> configs, ParseCacheConfigs(document, path));
  auto registry = std::make_shared<CacheRegistry>();
  for (CacheConfig& config : configs) {
    std::shared_ptr<Cache> cache;
    if (previous != nullptr) {
      auto it = previous->caches.find(config.name);
      if (it != previous->caches.end() && it->second->config == config) cache = it->second;
    }
    if (cache == nullptr) cache = std::make_shared<Cache>(config);
    registry->caches.emplace(config.name, std::move(cache));
  }
  return registry;
}

absl::StatusOr<std::vector<std::unique_ptr<Filter>>> MakeCacheFilters(const CacheRegistry& registry,
                                                                      const RouteConfig& route) {
  std::vector<std::unique_ptr<Filter>> filters;
  if (route.cache.empty()) return filters;
  auto it = registry.caches.find(route.cache);
  if (it == registry.caches.end()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "route \"%s\": cache \"%s\": no [[cache]] of that name", route.name, route.cache));
  }
  filters.push_back(std::make_unique<CacheFilter>(it->second, route.cache_set_cookie));
  return filters;
}

absl::StatusOr<std::vector<std::unique_ptr<Filter>>> BuildCacheFilters(const GatewayConfig& config,
                                                                       const RouteConfig& route) {
  std::shared_ptr<CacheRegistry> registry;
  {
    RegistryCache& cache = Current();
    std::lock_guard<std::mutex> lock(cache.mu);
    std::shared_ptr<const toml::table> document = cache.document.lock();
    if (document == nullptr || document != config.document || cache.registry == nullptr) {
      static const toml::table kEmpty;
      auto built = BuildCacheRegistry(config.document ? *config.document : kEmpty, config.path,
                                      cache.registry.get());
      if (!built.ok()) return built.status();
      cache.registry = *std::move(built);
      cache.document = config.document;
    }
    registry = cache.registry;
  }
  return MakeCacheFilters(*registry, route);
}

std::shared_ptr<const CacheRegistry> CurrentCacheRegistry() {
  RegistryCache& cache = Current();
  std::lock_guard<std::mutex> lock(cache.mu);
  return cache.registry;
}

void WriteCacheMetrics(const CacheRegistry& registry, metrics::PrometheusText* out) {
  if (registry.caches.empty()) return;
  auto load = [](const std::atomic<uint64_t>& v) {
    return static_cast<double>(v.load(std::memory_order_relaxed));
  };
  out->Family("gw7_cache_requests_total", "counter",
              "Requests on cached routes by result: hit (answered from the cache), miss, stale "
              "(stored but not usable: forwarded), bypass (not cacheable: method, body, range).");
  for (const auto& [name, cache] : registry.caches) {
    const CacheCounters& c = cache->counters;
    out->Sample("gw7_cache_requests_total", {{"cache", name}, {"result", "hit"}}, load(c.hits));
    out->Sample("gw7_cache_requests_total", {{"cache", name}, {"result", "miss"}}, load(c.misses));
    out->Sample("gw7_cache_requests_total", {{"cache", name}, {"result", "stale"}}, load(c.stale));
    out->Sample("gw7_cache_requests_total", {{"cache", name}, {"result", "bypass"}},
                load(c.bypass));
  }
  struct Counter {
    const char* family;
    const char* help;
    std::atomic<uint64_t> CacheCounters::*field;
  };
  static const Counter kCounters[] = {
      {"gw7_cache_stores_total", "Responses stored (revalidations included).",
       &CacheCounters::stores},
      {"gw7_cache_revalidations_total", "Stored responses refreshed by an upstream 304.",
       &CacheCounters::revalidations},
      {"gw7_cache_not_stored_total", "Forwarded responses the caching rules kept out.",
       &CacheCounters::not_stored},
      {"gw7_cache_invalidations_total", "URLs dropped after a successful unsafe request.",
       &CacheCounters::invalidations},
      {"gw7_cache_stale_served_total",
       "Stale responses served while a background refresh runs (stale-while-revalidate).",
       &CacheCounters::stale_while_revalidate},
      {"gw7_cache_stale_if_error_total",
       "Stale responses served instead of an upstream 5xx or failure (stale-if-error).",
       &CacheCounters::stale_if_error},
      {"gw7_cache_refreshes_total", "Background refreshes started (one per key at a time).",
       &CacheCounters::refreshes},
      {"gw7_cache_coalesced_total",
       "Requests that waited for another request fetching the same key and were answered from "
       "the cache.",
       &CacheCounters::coalesced},
      {"gw7_cache_hit_bytes_total", "Body bytes answered from the cache.",
       &CacheCounters::hit_bytes},
      {"gw7_cache_purged_total", "Objects removed by admin purges.", &CacheCounters::purged},
  };
  for (const Counter& k : kCounters) {
    out->Family(k.family, "counter", k.help);
    for (const auto& [name, cache] : registry.caches) {
      out->Sample(k.family, {{"cache", name}}, load(cache->counters.*k.field));
    }
  }
  out->Family("gw7_cache_evictions_total", "counter", "Objects evicted to stay within max_bytes.");
  for (const auto& [name, cache] : registry.caches) {
    out->Sample("gw7_cache_evictions_total", {{"cache", name}},
                static_cast<double>(cache->store.evictions()));
  }
  out->Family("gw7_cache_bytes", "gauge", "Bytes held (objects, keys, bookkeeping).");
  for (const auto& [name, cache] : registry.caches) {
    out->Sample("gw7_cache_bytes", {{"cache", name}}, static_cast<double>(cache->store.bytes()));
  }
  out->Family("gw7_cache_max_bytes", "gauge", "The cache's max_bytes.");
  for (const auto& [name, cache] : registry.caches) {
    out->Sample("gw7_cache_max_bytes", {{"cache", name}},
                static_cast<double>(cache->store.max_bytes()));
  }
  out->Family("gw7_cache_objects", "gauge", "Objects held (responses and Vary indexes).");
  for (const auto& [name, cache] : registry.caches) {
    out->Sample("gw7_cache_objects", {{"cache", name}},
                static_cast<double>(cache->store.objects()));
  }
}

}  // namespace edge::l7
