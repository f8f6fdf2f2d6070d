#include "l7/balancer/maglev_balancer.h"

#include <algorithm>

#include "common/hash/hash.h"
#include "common/status.h"

namespace edge::l7 {

absl::StatusOr<std::unique_ptr<MaglevBalancer>> MaglevBalancer::Create(
    const std::vector<net::SocketAddress>& servers, const std::vector<uint32_t>& weights,
    uint32_t table_size) {
  std::vector<hash::MaglevBackend> backends;
  backends.reserve(servers.size());
  for (size_t i = 0; i < servers.size(); ++i) {
    const uint32_t weight = i < weights.size() ? std::max<uint32_t>(weights[i], 1) : 1;
    backends.push_back({servers[i].ToString(), weight});
  }
  ASSIGN_OR_RETURN(hash::MaglevTable table, hash::MaglevTable::Build(backends, table_size));
  return std::unique_ptr<MaglevBalancer>(new MaglevBalancer(servers, std::move(table), table_size));
}

void MaglevBalancer::SetWeights(const std::vector<uint32_t>& weights) {
  auto rebuilt = Create(servers_, weights, table_size_);
  if (rebuilt.ok()) table_ = std::move((*rebuilt)->table_);
}

int MaglevBalancer::Pick(std::string_view key, const std::vector<bool>& excluded) {
  const uint64_t h = hash::Hash64(key, kKeySeed);
  return table_.LookupSkipping(
      h, [&](int32_t index) { return !IsExcluded(excluded, static_cast<size_t>(index)); });
}

}  // namespace edge::l7
