#pragma once
// Upstream servers given by name (gateway.toml `servers = ["api.internal:9101",
// { srv = "_http._tcp.api.internal" }]`): their answers turned into server lists, and the
// Discovery that keeps them current on gw7's own loop (common/dns/resolver.h says why on the
// loop). A changed answer is applied like a reload of the config in force: a new generation
// whose servers that stay keep their health, ejection state, counters and idle keep-alive
// connections (GatewayServer::ApplyGeneration), while requests in flight finish on theirs.

#include <functional>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "common/dns/answer.h"
#include "common/dns/discovery.h"
#include "common/uring/event_loop.h"
#include "l7/config/gateway_config.h"

namespace edge::l7 {

// The names of every upstream, without duplicates, in config order.
std::vector<dns::DnsTarget> NamedTargets(const GatewayConfig& config);

// `config` with each named server's endpoints appended to its upstream's servers (a host name's
// addresses with the entry's weight, an SRV name's with the records' weights); an address already
// listed is not added again. InvalidArgument naming the upstream and the name when `answers`
// lacks one.
absl::StatusOr<GatewayConfig> ExpandNamedServers(GatewayConfig config,
                                                 const dns::AnswerMap& answers);

// Loop thread only.
class UpstreamDiscovery {
 public:
  // Receives the config to apply: `named` expanded with the answers in force.
  using Apply = std::function<void(GatewayConfig expanded)>;

  UpstreamDiscovery(uring::EventLoop* loop, Apply apply) : loop_(loop), apply_(std::move(apply)) {}
  ~UpstreamDiscovery();

  // Takes `named` (names unresolved) and `answers` (one for each of its names) as the config in
  // force and watches its names, (re)creating the resolver when [dns] changed. Errors: the
  // resolver could not be created.
  absl::Status Watch(const GatewayConfig& named, const dns::AnswerMap& answers);

  // The answers in force (all names of the config in force).
  const dns::AnswerMap& answers() const;
  // The [dns] the resolver runs with (answers() were obtained with it).
  const dns::DnsConfig& dns_config() const { return named_.dns; }

  // See Resolver::LoopStopped.
  void LoopStopped();

 private:
  void OnChange(const dns::AnswerMap& answers);

  uring::EventLoop* loop_;
  Apply apply_;
  GatewayConfig named_;
  std::unique_ptr<dns::Discovery> discovery_;  // null while no name is configured
  dns::AnswerMap empty_;
};

}  // namespace edge::l7
