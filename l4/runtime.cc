#include "l4/runtime.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "common/log.h"
#include "common/status.h"

namespace edge::l4 {

namespace {
using RouteList = std::vector<std::pair<std::string, std::shared_ptr<Pool>>>;

Pool* FindRoute(const RouteList& routes, std::string_view name) {
  auto it = std::lower_bound(routes.begin(), routes.end(), name,
                             [](const auto& entry, std::string_view n) { return entry.first < n; });
  return it != routes.end() && it->first == name ? it->second.get() : nullptr;
}

std::shared_ptr<Pool> PoolNamed(const Runtime& runtime, const std::string& name) {
  for (const auto& pool : runtime.pools) {
    if (pool->config.name == name) return pool;
  }
  return nullptr;
}

// Whether `previous` (the config in force) has backend `wanted` of pool `pool` exactly as it is
// now: same address, weight and health_port.
bool UnchangedBackend(const Runtime* previous, const std::string& pool,
                      const BackendConfig& wanted) {
  if (previous == nullptr) return false;
  const PoolConfig* old = previous->config.FindPool(pool);
  if (old == nullptr) return false;
  for (const BackendConfig& bc : old->backends) {
    if (bc.address == wanted.address) {
      return bc.weight == wanted.weight && bc.health_port == wanted.health_port;
    }
  }
  return false;
}

std::shared_ptr<Backend> FindBackend(const ReusableBackends& reusable, const std::string& pool,
                                     const BackendConfig& wanted, const Runtime* previous) {
  for (const auto& [name, b] : reusable) {
    if (name == pool && b->address == wanted.address) {
      // Runtime control (drain, weight) outlives a reload unless the config changed this backend
      // (or had removed it): what the operator then wrote is the newer word.
      const bool kept = !b->removed.load() && UnchangedBackend(previous, pool, wanted);
      const bool had_state = b->admin_drained.load() || b->admin_weight.load() != 0;
      if (!kept && had_state) {
        b->admin_drained.store(false);
        b->admin_weight.store(0);
        LOG_INFO(
            "backend %s (pool \"%s\"): runtime drain and weight cleared: the config "
            "changed it",
            b->key, pool);
      } else if (had_state) {
        LOG_INFO(
            "backend %s (pool \"%s\"): keeps its runtime state across the reload (%s, "
            "weight %d)",
            b->key, pool, b->admin_drained.load() ? "drain" : "ready",
            b->admin_weight.load() != 0 ? b->admin_weight.load() : wanted.weight);
      }
      const uint32_t admin_weight = b->admin_weight.load();
      b->weight.store(admin_weight != 0 ? admin_weight : wanted.weight);
      b->removed.store(false);
      return b;
    }
  }
  return nullptr;
}

// The ticket keys of `previous`'s listener `lc` may continue in (see BuildRuntime).
std::shared_ptr<tls::TicketKeys> KeptTicketKeys(const Runtime* previous, const ListenerConfig& lc) {
  if (previous == nullptr || !lc.tls.session_tickets) return nullptr;
  for (const auto& old : previous->listeners) {
    if (old->config.name != lc.name || old->tls == nullptr || !old->config.tls.session_tickets) {
      continue;
    }
    std::shared_ptr<tls::TicketKeys> keys = old->tls->shared_ticket_keys();
    if (keys->rotation_ns() == absl::ToInt64Nanoseconds(lc.tls.ticket_key_rotation)) return keys;
  }
  return nullptr;
}

absl::StatusOr<std::shared_ptr<const tls::ClientContext>> MakeClientContext(
    const PoolTlsConfig& tc) {
  tls::ClientContextOptions options;
  options.verify = tc.verify;
  options.ca_file = tc.ca_file;
  options.server_name = tc.sni;
  options.alpn = tc.alpn;
  options.min_version = tc.min_version;
  options.session_reuse = tc.session_reuse;
  ASSIGN_OR_RETURN(std::unique_ptr<tls::ClientContext> context,
                   tls::ClientContext::Create(options));
  return std::shared_ptr<const tls::ClientContext>(std::move(context));
}

}  // namespace

Pool* SniRouteTable::Find(std::string_view sni) const {
  if (Pool* pool = FindRoute(exact, sni)) return pool;
  size_t dot = sni.find('.');
  if (dot == std::string_view::npos || wildcard.empty()) return nullptr;
  return FindRoute(wildcard, sni.substr(dot + 1));
}

absl::StatusOr<std::shared_ptr<const Runtime>> BuildRuntime(const Lb4Config& config,
                                                            const ReusableBackends& reusable,
                                                            const Runtime* previous) {
  auto runtime = std::make_shared<Runtime>();
  runtime->config = config;
  for (const PoolConfig& pc : config.pools) {
    auto pool = std::make_shared<Pool>();
    pool->config = pc;
    for (const BackendConfig& bc : pc.backends) {
      std::shared_ptr<Backend> kept = FindBackend(reusable, pc.name, bc, previous);
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
    if (pc.tls.enabled) {
      auto context = MakeClientContext(pc.tls);
      if (!context.ok()) {
        return absl::InvalidArgumentError(
            absl::StrFormat("pool \"%s\": tls: %s", pc.name, context.status().message()));
      }
      pool->tls = std::move(*context);
    }
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
    listener->handshake_timeout_ns = absl::ToInt64Nanoseconds(lc.handshake_timeout);
    if (lc.has_protection()) listener->guard = std::make_shared<const SourceGuard>(lc);
    if (previous != nullptr) {
      for (const auto& old : previous->listeners) {
        if (old->config.name == lc.name) listener->counters = old->counters;
      }
    }
    if (listener->counters == nullptr) {
      listener->counters = std::make_shared<ProtectionCounters>();
    }
    listener->needs_client_address = lc.proxy_protocol != ProxyProtocolMode::kOff ||
                                     listener->pool->config.balancer.kind == BalanceKind::kMaglev;
    if (config.access_log.enabled()) {
      listener->access_log_sample = config.access_log.sample;
      listener->needs_client_address = true;  // the log names the client
    }
    for (const SniRoute& route : lc.routes) {
      std::shared_ptr<Pool> pool = PoolNamed(*runtime, route.pool);
      if (pool == nullptr) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "listener \"%s\": route %s: unknown pool \"%s\"", lc.name, route.sni, route.pool));
      }
      if (pool->config.balancer.kind == BalanceKind::kMaglev) listener->needs_client_address = true;
      const bool wild = route.sni.starts_with("*.");
      (wild ? listener->routes.wildcard : listener->routes.exact)
          .emplace_back(wild ? route.sni.substr(2) : route.sni, std::move(pool));
    }
    if (lc.mode == ListenerMode::kTls) {
      tls::ServerContextOptions options;
      for (const auto& c : lc.tls.certificates) options.certificates.push_back({c.cert, c.key});
      options.alpn = lc.tls.alpn;
      options.min_version = lc.tls.min_version;
      options.ciphers = lc.tls.ciphers;
      options.ciphersuites = lc.tls.ciphersuites;
      options.client_ca_file = lc.tls.client_ca;
      options.client_auth = lc.tls.client_auth == TlsListenerConfig::ClientAuth::kRequired
                                ? tls::ClientAuth::kRequired
                            : lc.tls.client_auth == TlsListenerConfig::ClientAuth::kOptional
                                ? tls::ClientAuth::kOptional
                                : tls::ClientAuth::kNone;
      options.session_tickets = lc.tls.session_tickets;
      options.ticket_rotation_ns = absl::ToInt64Nanoseconds(lc.tls.ticket_key_rotation);
      options.ticket_keys = KeptTicketKeys(previous, lc);
      auto context = tls::ServerContext::Create(options);
      if (!context.ok()) {
        return absl::InvalidArgumentError(
            absl::StrFormat("listener \"%s\": tls: %s", lc.name, context.status().message()));
      }
      listener->tls = std::move(*context);
    }
    std::sort(listener->routes.exact.begin(), listener->routes.exact.end());
    std::sort(listener->routes.wildcard.begin(), listener->routes.wildcard.end());
    runtime->listeners.push_back(std::move(listener));
  }
  return std::shared_ptr<const Runtime>(std::move(runtime));
}

}  // namespace edge::l4
