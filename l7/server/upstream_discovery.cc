#include "l7/server/upstream_discovery.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_format.h"
#include "common/log.h"

namespace edge::l7 {

std::vector<dns::DnsTarget> NamedTargets(const GatewayConfig& config) {
  std::vector<dns::DnsTarget> out;
  for (const UpstreamConfig& u : config.upstreams) {
    for (const NamedServerConfig& named : u.named_servers) {
      if (std::find(out.begin(), out.end(), named.target) == out.end()) {
        out.push_back(named.target);
      }
    }
  }
  return out;
}

absl::StatusOr<GatewayConfig> ExpandNamedServers(GatewayConfig config,
                                                 const dns::AnswerMap& answers) {
  for (UpstreamConfig& u : config.upstreams) {
    std::set<std::string> present;
    for (const net::SocketAddress& a : u.servers) present.insert(a.ToString());
    for (const NamedServerConfig& named : u.named_servers) {
      const std::string key = named.target.ToString();
      auto it = answers.find(key);
      if (it == answers.end()) {
        return absl::InvalidArgumentError(
            absl::StrFormat("upstream \"%s\": %s has not been resolved", u.name, key));
      }
      for (const dns::Endpoint& e : it->second.endpoints) {
        if (!present.insert(e.address.ToString()).second) continue;
        u.servers.push_back(e.address);
        u.weights.push_back(named.target.kind == dns::DnsTarget::Kind::kSrv ? e.weight
                                                                            : named.weight);
      }
    }
  }
  return config;
}

UpstreamDiscovery::~UpstreamDiscovery() = default;

absl::Status UpstreamDiscovery::Watch(const GatewayConfig& named, const dns::AnswerMap& answers) {
  std::vector<dns::DnsTarget> targets = NamedTargets(named);
  if (targets.empty() || (discovery_ != nullptr && !(named.dns == named_.dns))) {
    discovery_.reset();  // a new [dns] needs a new resolver; no names need none
  }
  if (!targets.empty() && discovery_ == nullptr) {
    auto resolver = dns::Resolver::Create(loop_, named.dns);
    if (!resolver.ok()) return resolver.status();
    discovery_ = std::make_unique<dns::Discovery>(
        loop_, std::move(*resolver), named.dns.refresh,
        [this](const dns::AnswerMap& answers) { OnChange(answers); });
  }
  named_ = named;
  if (discovery_ != nullptr) discovery_->Watch(targets, answers);
  return absl::OkStatus();
}

const dns::AnswerMap& UpstreamDiscovery::answers() const {
  return discovery_ != nullptr ? discovery_->answers() : empty_;
}

void UpstreamDiscovery::LoopStopped() {
  if (discovery_ != nullptr) discovery_->LoopStopped();
}

void UpstreamDiscovery::OnChange(const dns::AnswerMap& answers) {
  absl::StatusOr<GatewayConfig> expanded = ExpandNamedServers(named_, answers);
  if (!expanded.ok()) {
    LOG_ERROR("dns: the changed servers could not be applied: %s", expanded.status().message());
    return;
  }
  apply_(*std::move(expanded));
}

}  // namespace edge::l7
