#include "l7/balancer/upstream_balancer.h"

#include "common/log.h"
#include "l7/balancer/least_request_balancer.h"
#include "l7/balancer/maglev_balancer.h"
#include "l7/balancer/p2c_ewma_balancer.h"
#include "l7/balancer/round_robin_balancer.h"

namespace edge::l7 {
namespace {

std::vector<uint32_t> WeightsOf(const UpstreamConfig& config) {
  std::vector<uint32_t> weights = config.weights;
  weights.resize(config.servers.size(), 1);
  return weights;
}

// The value of cookie `name` in a Cookie header ("a=1; b=2"), if present. Pairs are separated by
// ';' and optional spaces (RFC 6265 5.4); the name compares exactly.
std::optional<std::string_view> CookieValue(std::string_view cookies, std::string_view name) {
  while (!cookies.empty()) {
    const size_t semi = cookies.find(';');
    std::string_view pair = cookies.substr(0, semi);
    cookies = semi == std::string_view::npos ? std::string_view() : cookies.substr(semi + 1);
    while (!pair.empty() && (pair.front() == ' ' || pair.front() == '\t')) pair.remove_prefix(1);
    while (!pair.empty() && (pair.back() == ' ' || pair.back() == '\t')) pair.remove_suffix(1);
    const size_t eq = pair.find('=');
    if (eq == std::string_view::npos || pair.substr(0, eq) != name) continue;
    return pair.substr(eq + 1);
  }
  return std::nullopt;
}

}  // namespace

std::unique_ptr<UpstreamBalancer> MakeUpstreamBalancer(const UpstreamConfig& config) {
  switch (config.balance) {
    case UpstreamBalance::kRoundRobin:
      return std::make_unique<RoundRobinBalancer>(WeightsOf(config));
    case UpstreamBalance::kLeastRequest:
      return std::make_unique<LeastRequestBalancer>(WeightsOf(config));
    case UpstreamBalance::kP2cEwma:
      return std::make_unique<P2cEwmaBalancer>(WeightsOf(config));
    case UpstreamBalance::kMaglev: {
      auto maglev = MaglevBalancer::Create(config.servers, WeightsOf(config));
      if (maglev.ok()) return *std::move(maglev);
      // Only a config the loader refuses (duplicate servers) gets here; keep serving, without
      // affinity, rather than fail a reload that validated.
      LOG_ERROR("upstream \"%s\": maglev table: %s; using round_robin", config.name,
                std::string(maglev.status().message()));
      return std::make_unique<RoundRobinBalancer>(WeightsOf(config));
    }
  }
  return std::make_unique<RoundRobinBalancer>(WeightsOf(config));
}

std::string BalanceKey(const UpstreamConfig& config, const RequestView& request) {
  std::string_view hash_on = config.hash_on;
  if (hash_on.starts_with("header:")) {
    if (std::optional<std::string_view> v = request.header(hash_on.substr(7))) {
      std::string key = "h:";
      key.append(*v);
      return key;
    }
  } else if (hash_on.starts_with("cookie:")) {
    if (std::optional<std::string_view> cookies = request.header("cookie")) {
      if (std::optional<std::string_view> v = CookieValue(*cookies, hash_on.substr(7))) {
        std::string key = "c:";
        key.append(*v);
        return key;
      }
    }
  }
  return "ip:" + request.client_address().IpString();
}

}  // namespace edge::l7
