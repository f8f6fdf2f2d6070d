#include "l7/filters/ratelimit/rate_limit_filter_factory.h"

#include <mutex>

#include "absl/strings/str_format.h"
#include "common/status.h"
#include "common/uring/timer_wheel.h"
#include "l7/filters/ratelimit/rate_limit_config.h"

namespace edge::l7 {
namespace {

struct RegistryCache {
  std::mutex mu;
  std::weak_ptr<const toml::table> document;
  uring::EventLoop* loop = nullptr;
  std::shared_ptr<RateLimitRegistry> registry;
};
RegistryCache& Cache() {
  static RegistryCache* cache = new RegistryCache();
  return *cache;
}

bool SameBuckets(const RateLimitPolicyConfig& a, const RateLimitPolicyConfig& b) {
  return a.name == b.name && a.key == b.key && a.header == b.header && a.limit == b.limit &&
         a.per == b.per && a.burst == b.burst && a.store == b.store && a.max_keys == b.max_keys;
}

}  // namespace

absl::StatusOr<std::shared_ptr<RateLimitRegistry>> BuildRateLimitRegistry(
    const toml::table& document, const std::string& path, uring::EventLoop* loop,
    const RateLimitRegistry* previous) {
  ASSIGN_OR_RETURN(RateLimitConfigs configs, ParseRateLimitConfigs(document, path));
  auto registry = std::make_shared<RateLimitRegistry>();
  registry->clock = [] { return uring::MonotonicNowNs(); };
  for (RateLimitPolicyConfig& config : configs.policies) {
    if (config.store == RateLimitStoreKind::kRedis && loop != nullptr &&
        registry->redis == nullptr) {
      const RedisConfig& redis = *configs.redis;
      if (!redis.sentinels.empty()) {
        RedisSentinel::Options options;
        options.sentinels = redis.sentinels;
        options.master = redis.master;
        options.timeout = redis.timeout;
        options.connect_timeout = redis.connect_timeout;
        options.primary_credentials = redis.credentials;
        options.sentinel_credentials = redis.sentinel_credentials;
        registry->redis = std::make_shared<RedisRateLimiter>(loop, options, redis.key_prefix);
      } else {
        RedisClient::Options options;
        options.address = redis.address;
        options.timeout = redis.timeout;
        options.connect_timeout = redis.connect_timeout;
        options.credentials = redis.credentials;
        registry->redis = std::make_shared<RedisRateLimiter>(RedisClient::Create(loop, options),
                                                             redis.key_prefix);
      }
    }
    auto policy = std::make_shared<RateLimitPolicy>();
    policy->gcra = GcraPolicy::Make(config.limit, config.per, config.burst);
    policy->policy_header =
        absl::StrFormat("%d;w=%d;burst=%d", config.limit,
                        std::max<int64_t>(1, absl::ToInt64Seconds(config.per)), config.burst);
    if (config.store == RateLimitStoreKind::kLocal) {
      if (previous != nullptr) {
        auto it = previous->policies.find(config.name);
        if (it != previous->policies.end() && it->second->local != nullptr &&
            SameBuckets(it->second->config, config)) {
          policy->local = it->second->local;
        }
      }
      if (policy->local == nullptr) {
        policy->local = std::make_shared<LocalRateStore>(policy->gcra, config.max_keys);
      }
    } else {
      policy->redis = registry->redis;
    }
    policy->config = std::move(config);
    std::string name = policy->config.name;
    registry->policies.emplace(std::move(name), std::move(policy));
  }
  return registry;
}

absl::StatusOr<std::vector<std::unique_ptr<Filter>>> MakeRateLimitFilters(
    const RateLimitRegistry& registry, const RouteConfig& route) {
  std::vector<std::unique_ptr<Filter>> filters;
  if (route.rate_limit.empty()) return filters;
  auto it = registry.policies.find(route.rate_limit);
  if (it == registry.policies.end()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("route \"%s\": rate_limit \"%s\": no [[rate_limit]] of that name",
                        route.name, route.rate_limit));
  }
  filters.push_back(std::make_unique<RateLimitFilter>(it->second, registry.clock));
  return filters;
}

absl::StatusOr<std::vector<std::unique_ptr<Filter>>> BuildRateLimitFilters(
    const GatewayConfig& config, const RouteConfig& route, uring::EventLoop* loop) {
  std::shared_ptr<RateLimitRegistry> registry;
  {
    RegistryCache& cache = Cache();
    std::lock_guard<std::mutex> lock(cache.mu);
    std::shared_ptr<const toml::table> document = cache.document.lock();
    if (document == nullptr || document != config.document || cache.loop != loop ||
        cache.registry == nullptr) {
      static const toml::table kEmpty;
      auto built =
          BuildRateLimitRegistry(config.document ? *config.document : kEmpty, config.path, loop,
                                 cache.loop == loop ? cache.registry.get() : nullptr);
      if (!built.ok()) return built.status();
      cache.registry = *std::move(built);
      cache.document = config.document;
      cache.loop = loop;
    }
    registry = cache.registry;
  }
  return MakeRateLimitFilters(*registry, route);
}

std::shared_ptr<const RateLimitRegistry> CurrentRateLimitRegistry() {
  RegistryCache& cache = Cache();
  std::lock_guard<std::mutex> lock(cache.mu);
  return cache.registry;
}

void WriteRateLimitMetrics(const RateLimitRegistry& registry, metrics::PrometheusText* out) {
  out->Family(
      "gw7_rate_limit_requests_total", "counter",
      "Rate-limit decisions by [[rate_limit]] policy (error_*: the store could not decide).");
  for (const auto& [name, policy] : registry.policies) {
    const RateLimitCounters& c = policy->counters;
    const std::pair<const char*, uint64_t> samples[] = {
        {"allowed", c.allowed.load(std::memory_order_relaxed)},
        {"limited", c.limited.load(std::memory_order_relaxed)},
        {"error_open", c.failed_open.load(std::memory_order_relaxed)},
        {"error_closed", c.failed_closed.load(std::memory_order_relaxed)},
    };
    for (const auto& [outcome, value] : samples) {
      out->Sample("gw7_rate_limit_requests_total", {{"policy", name}, {"outcome", outcome}},
                  static_cast<double>(value));
    }
  }
  out->Family("gw7_rate_limit_local_keys", "gauge", "Keys held by local rate-limit stores.");
  for (const auto& [name, policy] : registry.policies) {
    if (policy->local) {
      out->Sample("gw7_rate_limit_local_keys", {{"policy", name}},
                  static_cast<double>(policy->local->size()));
    }
  }
  out->Family("gw7_rate_limit_local_evictions_total", "counter",
              "Local keys evicted at max_keys before their bucket was full.");
  for (const auto& [name, policy] : registry.policies) {
    if (policy->local) {
      out->Sample("gw7_rate_limit_local_evictions_total", {{"policy", name}},
                  static_cast<double>(policy->local->evictions()));
    }
  }
  if (registry.redis != nullptr) {
    const RedisClientStats& s = registry.redis->stats();
    out->Family("gw7_redis_events_total", "counter", "Rate-limit Redis client events.");
    const std::pair<const char*, uint64_t> events[] = {
        {"command", s.commands},           {"reply", s.replies},
        {"timeout", s.timeouts},           {"refused", s.refused},
        {"connect", s.connects},           {"disconnect", s.disconnects},
        {"auth_failure", s.auth_failures},
    };
    for (const auto& [event, value] : events) {
      out->Sample("gw7_redis_events_total", {{"event", event}}, static_cast<double>(value));
    }
    out->Family("gw7_redis_connected", "gauge", "1 while the rate-limit Redis connection is up.");
    out->Sample("gw7_redis_connected", {}, registry.redis->connected() ? 1 : 0);
    if (const RedisSentinel* sentinel = registry.redis->sentinel()) {
      const RedisSentinelStats& st = sentinel->stats();
      const std::string primary = sentinel->primary_address();
      out->Family("gw7_redis_primary", "gauge",
                  "1 with the verified Redis primary in use (from the sentinels); no sample "
                  "while none is known.");
      if (!primary.empty()) {
        out->Sample("gw7_redis_primary", {{"master", sentinel->master()}, {"address", primary}}, 1);
      }
      out->Family("gw7_redis_failovers_total", "counter",
                  "Times the verified Redis primary changed address.");
      out->Sample("gw7_redis_failovers_total", {{"master", sentinel->master()}},
                  static_cast<double>(st.failovers));
      out->Family("gw7_redis_sentinel_errors_total", "counter",
                  "Sentinels that refused, timed out, erred or did not know the master.");
      out->Sample("gw7_redis_sentinel_errors_total", {{"master", sentinel->master()}},
                  static_cast<double>(st.sentinel_errors));
      out->Family("gw7_redis_switch_messages_total", "counter",
                  "+switch-master messages received about the master (one per sentinel).");
      out->Sample("gw7_redis_switch_messages_total", {{"master", sentinel->master()}},
                  static_cast<double>(st.switch_messages));
    }
  }
}

}  // namespace edge::l7
