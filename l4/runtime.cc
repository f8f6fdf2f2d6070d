#include "l4/runtime.h"

#include "absl/strings/str_format.h"
#include "absl/time/time.h"

namespace edge::l4 {

namespace {
std::shared_ptr<Backend> FindBackend(const ReusableBackends& reusable, const std::string& pool,
                                     const BackendConfig& wanted) {
  for (const auto& [name, b] : reusable) {
    if (name == pool && b->address == wanted.address) {
      b->weight.store(wanted.weight);
      b->removed.store(false);
      return b;
    }
  }
  return nullptr;
}
}  // namespace

absl::StatusOr<std::shared_ptr<const Runtime>> BuildRuntime(const Lb4Config& config,
                                                            const ReusableBackends& reusable) {
  auto runtime = std::make_shared<Runtime>();
  runtime->config = config;
  for (const PoolConfig& pc : config.pools) {
    auto pool = std::make_shared<Pool>();
    pool->config = pc;
    for (const BackendConfig& bc : pc.backends) {
      std::shared_ptr<Backend> kept = FindBackend(reusable, pc.name, bc);
      pool->backends.push_back(kept != nullptr ? kept
                                               : std::make_shared<Backend>(bc.address, bc.weight));
    }
    auto balancer = MakeBalancer(pc.balancer, pool->backends);
    if (!balancer.ok()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("pool \"%s\": %s", pc.name, balancer.status().message()));
    }
    pool->balancer = std::move(*balancer);
    pool->connect_timeout_ns = absl::ToInt64Nanoseconds(pc.connect_timeout);
    runtime->pools.push_back(std::move(pool));
  }
  for (const ListenerConfig& lc : config.listeners) {
    auto listener = std::make_shared<ListenerRuntime>();
    listener->config = lc;
    for (const auto& pool : runtime->pools) {
      if (pool->config.name == lc.pool) listener->pool = pool;
    }
    if (listener->pool == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrFormat("listener \"%s\": unknown pool \"%s\"", lc.name, lc.pool));
    }
    listener->idle_timeout_ns = absl::ToInt64Nanoseconds(lc.idle_timeout);
    listener->needs_client_address = lc.proxy_protocol != ProxyProtocolMode::kOff ||
                                     listener->pool->config.balancer.kind == BalanceKind::kMaglev;
    runtime->listeners.push_back(std::move(listener));
  }
  return std::shared_ptr<const Runtime>(std::move(runtime));
}

}  // namespace edge::l4
