// Fuzz target: gw7's config parser (ParseGatewayConfig: toml++, TableReader, the gateway.toml
// schema, CIDRs, templates, RE2) and what is built from a parsed config: the Router and each
// upstream's balancer. Any input must give a config or an error: no crash, no hang, no leak. A
// parsed config must keep the promises of l7/config/gateway_config.h, and the router must accept
// every config the loader accepts (a reload that validated must never fail to build).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "l7/balancer/upstream_balancer.h"
#include "l7/config/gateway_config.h"
#include "l7/router/router.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

void CheckConfig(const edge::l7::GatewayConfig& config) {
  using edge::l7::PathMatch;
  Check(config.listen.valid());
  Check(config.document != nullptr);
  Check(config.limits.max_uri_bytes <= config.limits.max_header_bytes);
  std::set<std::string> names;
  for (const auto& upstream : config.upstreams) {
    Check(names.insert(upstream.name).second);
    Check(!upstream.servers.empty());
    Check(upstream.weights.size() == upstream.servers.size());
    for (const auto& server : upstream.servers) Check(server.valid() && server.port() != 0);
    for (uint32_t weight : upstream.weights) Check(weight >= 1);
    Check(upstream.health.timeout <= upstream.health.interval);
    auto balancer = edge::l7::MakeUpstreamBalancer(upstream);
    Check(balancer != nullptr);
    const int picked = balancer->Pick("ip:127.0.0.1", {});
    Check(picked >= 0 && static_cast<size_t>(picked) < upstream.servers.size());
    Check(balancer->Pick("k", std::vector<bool>(upstream.servers.size(), true)) == -1);
  }
  names.clear();
  for (const auto& route : config.routes) {
    Check(names.insert(route.name).second);
    Check(config.FindUpstream(route.upstream) != nullptr);
  }

  auto router = edge::l7::Router::Build(config.routes);
  Check(router.ok());
  auto no_headers = [](std::string_view) { return std::optional<std::string_view>(); };
  // A route without method or header constraints matches its own host and path (maybe through a
  // more specific route, never 404). A more specific level whose routes all list other methods
  // answers 405 (no fall-through), and a path that folds onto an auth route is refused
  // (kCaseMismatch): both are refusals by design (l7/router/router.h).
  for (const auto& route : config.routes) {
    if (!route.methods.empty() || !route.headers.empty() || route.path_kind == PathMatch::kRegex) {
      continue;
    }
    std::string host = route.host;
    if (host.starts_with("*.")) host[0] = 'x';
    const std::string path = route.path_kind == PathMatch::kAny ? "/" : route.path;
    edge::l7::RouteMatch m = (*router)->Match(host, path, "GET", no_headers);
    Check(m.outcome != edge::l7::RouteMatch::kNotFound);
    if (m.outcome != edge::l7::RouteMatch::kMatched) continue;
    Check(m.route == &(*router)->routes()[static_cast<size_t>(m.route_index)]);
    Check(!m.upstream_path.empty() && m.upstream_path[0] == '/');
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = edge::l7::ParseGatewayConfig(text, "fuzz.toml");
  if (config.ok()) {
    CheckConfig(*config);
  } else {
    Check(config.status().code() == absl::StatusCode::kInvalidArgument);
    Check(!config.status().message().empty());
  }
  return 0;
}
