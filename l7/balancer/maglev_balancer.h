#pragma once
// Maglev consistent hashing (common/hash/maglev.h) of the request's balance key (BalanceKey):
// the same key reaches the same server, on every gw7 built from the same config, because the
// table is built from the servers' addresses (not their order) and hashed with the deterministic
// Hash64. Excluded servers are skipped by walking the table (MaglevTable::LookupSkipping), so only
// the keys of an excluded server move, each to the next slot's owner, and everyone else stays.

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "common/hash/maglev.h"
#include "common/net/address.h"
#include "l7/balancer/upstream_balancer.h"

namespace edge::l7 {

class MaglevBalancer final : public UpstreamBalancer {
 public:
  // The seed of the key hash; fixed, so that every gw7 agrees.
  static constexpr uint64_t kKeySeed = 0x6777372d6d61676cULL;  // "gw7-magl"

  // Fails only on what the config loader already refuses (duplicate servers, zero weights).
  static absl::StatusOr<std::unique_ptr<MaglevBalancer>> Create(
      const std::vector<net::SocketAddress>& servers, const std::vector<uint32_t>& weights,
      uint32_t table_size = hash::kDefaultMaglevTableSize);

  int Pick(std::string_view key, const std::vector<bool>& excluded) override;
  // Rebuilds the table with the new weights (the same servers, so keys move only as far as the
  // weights changed). The table stays as it was if the build fails (it cannot for weights >= 1).
  void SetWeights(const std::vector<uint32_t>& weights) override;

  const hash::MaglevTable& table() const { return table_; }

 private:
  MaglevBalancer(std::vector<net::SocketAddress> servers, hash::MaglevTable table,
                 uint32_t table_size)
      : servers_(std::move(servers)), table_(std::move(table)), table_size_(table_size) {}
  std::vector<net::SocketAddress> servers_;
  hash::MaglevTable table_;
  uint32_t table_size_;
};

}  // namespace edge::l7
