#include "l4/balancer/maglev_balancer.h"

#include <vector>

#include "common/status.h"
#include "l4/balancer/client_hash.h"

namespace edge::l4 {

absl::StatusOr<std::unique_ptr<MaglevBalancer>> MaglevBalancer::Create(BackendList backends,
                                                                       HashKey key,
                                                                       uint32_t table_size) {
  std::vector<hash::MaglevBackend> entries;
  entries.reserve(backends.size());
  for (const auto& b : backends) entries.push_back({b->key, b->weight});
  ASSIGN_OR_RETURN(hash::MaglevTable table, hash::MaglevTable::Build(entries, table_size));
  return std::unique_ptr<MaglevBalancer>(
      new MaglevBalancer(std::move(backends), key, std::move(table)));
}

int MaglevBalancer::Pick(const net::SocketAddress& client, const std::vector<bool>& tried) {
  if (backends_.empty()) return -1;
  const uint64_t h = HashClient(client, key_);
  const int32_t first = table_.Lookup(h);
  if (IsEligible(backends_, tried, first)) return first;
  // Without this check a pool with nothing eligible would walk the whole table on every pick.
  if (!AnyEligible(backends_, tried)) return -1;
  return table_.LookupSkipping(h, [&](int32_t i) { return IsEligible(backends_, tried, i); });
}

int MaglevBalancer::Predict(const net::SocketAddress& client) const {
  return table_.Lookup(HashClient(client, key_));
}

}  // namespace edge::l4
