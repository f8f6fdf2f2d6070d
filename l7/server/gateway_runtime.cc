#include "l7/server/gateway_runtime.h"

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "common/log.h"
#include "common/status.h"
#include "l7/filters/aggregate/aggregate_filter.h"
#include "l7/filters/auth/auth_filter_factory.h"
#include "l7/filters/proxy/proxy_filter.h"
#include "l7/upstream/tls_upstream_link.h"

namespace edge::l7 {

UpstreamServer::UpstreamServer(const net::SocketAddress& a, const UpstreamConfig& config)
    : address(a),
      key(a.ToString()),
      pool(config.max_idle_per_server),
      passive(config.passive_failures, absl::ToInt64Nanoseconds(config.ejection_time),
              absl::ToInt64Nanoseconds(config.max_ejection_time)),
      check(config.health.rise, config.health.fall) {}

void UpstreamRuntime::ApplyWeights() {
  std::vector<uint32_t> weights;
  weights.reserve(servers.size());
  for (const auto& s : servers) weights.push_back(s->weight());
  balancer->SetWeights(weights);
}

namespace {

// The runtime of upstream `name`, which the route (or one of its aggregation parts) names.
absl::StatusOr<UpstreamRuntime*> FindUpstreamRuntime(const GatewayRuntime& rt,
                                                     const RouteConfig& route,
                                                     std::string_view name) {
  const int u = rt.config.UpstreamIndex(name);
  if (u < 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("route \"%s\": unknown upstream \"%s\"", route.name, name));
  }
  return rt.upstreams[static_cast<size_t>(u)].get();
}

}  // namespace

absl::StatusOr<std::shared_ptr<GatewayRuntime>> BuildGatewayRuntime(
    GatewayConfig config, const FilterEnvironment& env, const GatewayRuntime* previous) {
  auto rt = std::make_shared<GatewayRuntime>();
  rt->config = std::move(config);
  rt->generation = previous != nullptr ? previous->generation + 1 : 1;
  auto router = Router::Build(rt->config.routes);
  if (!router.ok()) return router.status();
  rt->router = std::move(*router);

  for (const UpstreamConfig& u : rt->config.upstreams) {
    auto up = std::make_unique<UpstreamRuntime>();
    up->config = &u;
    up->balancer = MakeUpstreamBalancer(u);
    if (up->balancer == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrFormat("upstream \"%s\": no balancer for this balance kind", u.name));
    }
    if (u.protocol == UpstreamProtocol::kH2) {
      // One context per upstream and generation: its session cache makes a new connection to a
      // server an abbreviated handshake; a reload rereads the CA file.
      auto context = tls::ClientContext::Create({.verify = u.tls.verify,
                                                 .ca_file = u.tls.ca_file,
                                                 .server_name = u.tls.server_name,
                                                 .alpn = {"h2"}});
      if (!context.ok()) {
        return absl::InvalidArgumentError(
            absl::StrFormat("upstream \"%s\": tls: %s", u.name, context.status().message()));
      }
      up->link_opener = [context = std::shared_ptr<const tls::ClientContext>(*std::move(context))](
                            UpstreamConnector& connector, const net::SocketAddress& server,
                            UpstreamLink::Owner* owner) {
        return TlsUpstreamLink::Connect(context, connector, server, owner);
      };
    }
    const UpstreamRuntime* old_up = nullptr;
    if (previous != nullptr) {
      for (const auto& candidate : previous->upstreams) {
        if (candidate->config->name == u.name) old_up = candidate.get();
      }
    }
    std::vector<UpstreamServer*> members;
    bool weights_set = false;
    for (size_t i = 0; i < u.servers.size(); ++i) {
      const net::SocketAddress& a = u.servers[i];
      auto server = std::make_unique<UpstreamServer>(a, u);
      server->config_weight = i < u.weights.size() ? u.weights[i] : 1;
      if (old_up != nullptr) {
        for (const auto& old : old_up->servers) {
          if (old->key != server->key) continue;
          // Runtime control outlives a reload unless the config changed this server.
          if (old->admin_drained || old->admin_weight != 0) {
            if (old->config_weight == server->config_weight) {
              server->admin_drained = old->admin_drained;
              server->admin_weight = old->admin_weight;
              weights_set |= server->admin_weight != 0;
              LOG_INFO(
                  "upstream \"%s\" server %s keeps its runtime state across the reload "
                  "(%s, weight %d)",
                  u.name, server->key, server->admin_drained ? "drain" : "ready", server->weight());
            } else {
              LOG_INFO(
                  "upstream \"%s\" server %s: runtime drain and weight cleared: the "
                  "config changed it",
                  u.name, server->key);
            }
          }
          if (u.health.enabled && old_up->config->health.enabled) {
            server->check = old->check;  // state and streaks, under the new thresholds
            server->check.SetThresholds(u.health.rise, u.health.fall);
            server->last_check = old->last_check;
          }
          server->passive.InheritState(old->passive);
          server->requests = old->requests;
          server->failures = old->failures;
        }
      }
      if (u.protocol != UpstreamProtocol::kHttp1) {
        server->h2 =
            std::make_unique<H2ConnectionPool>(a, server->key, u.h2_max_connections,
                                               rt->config.limits.max_header_bytes, up->link_opener);
      }
      members.push_back(server.get());
      up->servers.push_back(std::move(server));
    }
    if (weights_set) up->ApplyWeights();
    up->health = std::make_unique<UpstreamHealth>(u, std::move(members));
    if (old_up != nullptr) up->health->InheritCounters(*old_up->health);
    for (auto& server : up->servers) {
      server->group = up->health.get();
      server->passive.set_budget(up->health.get());
    }
    rt->upstreams.push_back(std::move(up));
  }

  // The router keeps its own copy of the routes; RouteMatch::route_index indexes both.
  rt->routes.resize(rt->config.routes.size());
  for (size_t i = 0; i < rt->config.routes.size(); ++i) {
    const RouteConfig& r = rt->config.routes[i];
    RouteRuntime& route = rt->routes[i];
    route.config = &r;
    auto filters = BuildRouteFilters(rt->config, r, env);
    if (!filters.ok()) return filters.status();
    route.filters = std::move(*filters);
    // The last filter answers: an aggregation from its parts' upstreams, else the proxy from the
    // route's upstream.
    if (r.aggregate) {
      std::vector<std::unique_ptr<ProxyFilter>> parts;
      for (const AggregatePartConfig& part : r.aggregate->parts) {
        ASSIGN_OR_RETURN(UpstreamRuntime * up, FindUpstreamRuntime(*rt, r, part.upstream));
        parts.push_back(std::make_unique<ProxyFilter>(rt.get(), &route, up));
      }
      route.filters.push_back(
          std::make_unique<AggregateFilter>(rt.get(), &route, std::move(parts)));
      continue;
    }
    ASSIGN_OR_RETURN(route.upstream, FindUpstreamRuntime(*rt, r, r.upstream));
    route.filters.push_back(std::make_unique<ProxyFilter>(rt.get(), &route, route.upstream));
  }

  rt->stripped_fields = StrippedFieldSet::WithGatewayFields();
  auto auth = AuthRegistryFor(rt->config);
  if (!auth.ok()) return auth.status();
  for (const std::string& name : IdentityFieldNames(**auth)) rt->stripped_fields.Add(name);
  for (const std::string& name : rt->config.internal_headers) rt->stripped_fields.Add(name);
  if (!rt->config.keep_method_override) rt->stripped_fields.AddMethodOverrideFields();
  return rt;
}

}  // namespace edge::l7
