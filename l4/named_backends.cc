#include "l4/named_backends.h"

#include <algorithm>
#include <set>
#include <string>

#include "absl/strings/str_format.h"

namespace edge::l4 {

std::vector<dns::DnsTarget> NamedTargets(const Lb4Config& config) {
  std::vector<dns::DnsTarget> out;
  for (const PoolConfig& pool : config.pools) {
    for (const NamedBackendConfig& named : pool.named_backends) {
      if (std::find(out.begin(), out.end(), named.target) == out.end()) {
        out.push_back(named.target);
      }
    }
  }
  return out;
}

absl::StatusOr<Lb4Config> ExpandNamedBackends(Lb4Config config, const dns::AnswerMap& answers) {
  for (PoolConfig& pool : config.pools) {
    std::set<std::string> present;
    for (const BackendConfig& b : pool.backends) present.insert(b.address.ToString());
    for (const NamedBackendConfig& named : pool.named_backends) {
      const std::string key = named.target.ToString();
      auto it = answers.find(key);
      if (it == answers.end()) {
        return absl::InvalidArgumentError(
            absl::StrFormat("pool \"%s\": %s has not been resolved", pool.name, key));
      }
      for (const dns::Endpoint& e : it->second.endpoints) {
        if (!present.insert(e.address.ToString()).second) continue;
        BackendConfig backend;
        backend.address = e.address;
        backend.weight = named.target.kind == dns::DnsTarget::Kind::kSrv ? e.weight : named.weight;
        backend.health_port = named.health_port;
        pool.backends.push_back(backend);
      }
    }
  }
  return config;
}

}  // namespace edge::l4
