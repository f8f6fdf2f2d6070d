#pragma once
// GatewayRuntime: everything one config generation needs to serve requests: the config itself,
// the router, per upstream its balancer and per server the keep-alive pool and health state, per
// route its filter chain. Built once per (re)load on the loop thread; a request holds a
// shared_ptr to the generation it started with, so a reload never changes a request in flight,
// and an old generation (its pools, its idle connections) goes away with its last request.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/health/health_policy.h"
#include "l7/balancer/upstream_balancer.h"
#include "l7/config/gateway_config.h"
#include "l7/filters/filter.h"
#include "l7/router/router.h"
#include "l7/server/filter_chain.h"
#include "l7/server/trusted_headers.h"
#include "l7/server/upstream_health.h"
#include "l7/upstream/connection_pool.h"
#include "l7/upstream/h2_connection_pool.h"
#include "l7/upstream/passive_health.h"

namespace edge::l7 {

struct UpstreamServer {
  UpstreamServer(const net::SocketAddress& a, const UpstreamConfig& config);

  net::SocketAddress address;
  std::string key;  // "127.0.0.1:9101"
  ConnectionPool pool;
  // protocol h2c / h2: the server's shared HTTP/2 connections (instead of `pool`).
  std::unique_ptr<H2ConnectionPool> h2;
  PassiveHealth passive;
  // Active health (the probe's results through rise/fall; up until checks say otherwise).
  health::RiseFall check;
  uint64_t checks_ok = 0, checks_failed = 0;
  // The last probe's result: the status code of an http answer ("200", "503"), else the
  // probe's detail ("connect refused", "timeout after 1s", ...).
  std::string last_check;
  // Counters for /status and /metrics.
  uint64_t requests = 0, failures = 0;
  int64_t active = 0;
  UpstreamHealth* group = nullptr;  // its upstream's; set once the upstream is built
  // Runtime control (POST /upstreams/{upstream}/{server}/...; GatewayServer::Control). A
  // drained server gets no new requests, even in panic; requests in flight finish. A reload
  // keeps both unless the config changed this server (its weight) or dropped it.
  bool admin_drained = false;
  uint32_t config_weight = 1;  // the config's
  uint32_t admin_weight = 0;   // set at run time; 0: none
  uint32_t weight() const { return admin_weight != 0 ? admin_weight : config_weight; }

  // Healthy: active checks up and not ejected.
  bool Healthy(int64_t now_ns) const { return check.up() && !passive.ejected(now_ns); }
  // May the request path pick it: not drained, and healthy or its upstream is in panic
  // (UpstreamHealth).
  bool Available(int64_t now_ns) const {
    if (admin_drained) return false;
    const bool panic = group != nullptr && group->InPanic(now_ns);  // evaluated every time
    return panic || Healthy(now_ns);
  }
};

struct UpstreamRuntime {
  const UpstreamConfig* config = nullptr;
  std::unique_ptr<UpstreamBalancer> balancer;
  std::vector<std::unique_ptr<UpstreamServer>> servers;
  std::unique_ptr<UpstreamHealth> health;  // over `servers`: ejection cap, panic
  // protocol = "h2": TLS with ALPN h2 over each new connection's TCP link (null for h2c).
  H2ConnectionPool::LinkOpener link_opener;
  // The weights in force (UpstreamServer::weight), one per server, into the balancer.
  void ApplyWeights();
};

struct RouteRuntime {
  const RouteConfig* config = nullptr;
  UpstreamRuntime* upstream = nullptr;
  std::vector<std::unique_ptr<Filter>> filters;
};

struct GatewayRuntime {
  GatewayConfig config;
  std::unique_ptr<Router> router;
  std::vector<std::unique_ptr<UpstreamRuntime>> upstreams;
  std::vector<RouteRuntime> routes;  // index = RouteMatch::route_index
  // Removed from every client request and its trailers (trusted_headers.h): gw7's own fields,
  // every [[auth]]'s identity fields and [gw7] internal_headers. Built here, once per generation.
  StrippedFieldSet stripped_fields;
  uint64_t generation = 0;
};

// Builds a generation. `previous` (may be null): servers that stay (same upstream name, same
// address) keep their health state, so a reload does not resurrect a server that is down.
absl::StatusOr<std::shared_ptr<GatewayRuntime>> BuildGatewayRuntime(GatewayConfig config,
                                                                    const FilterEnvironment& env,
                                                                    const GatewayRuntime* previous);

}  // namespace edge::l7
