#pragma once
// MaglevBalancer: consistent hashing of the client (IP, or IP and port) over the pool, so a client
// keeps landing on the same backend and every lb4 with the same config agrees on which one.

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "common/hash/maglev.h"
#include "l4/balancer/balancer.h"
#include "l4/balancer/eligible.h"

namespace edge::l4 {

class MaglevBalancer final : public Balancer {
 public:
  // Fails as MaglevTable::Build does (table_size not prime, too small, duplicate backend keys).
  static absl::StatusOr<std::unique_ptr<MaglevBalancer>> Create(BackendList backends, HashKey key,
                                                                uint32_t table_size);

  // The table's backend for the client; when that one is unhealthy or tried, the next slots'
  // backends in table order, so only that backend's clients move, spread over the others.
  int Pick(const net::SocketAddress& client, const std::vector<bool>& tried) override;

  // Where `client` lands when every backend is eligible (for tools; no health or tried flags).
  int Predict(const net::SocketAddress& client) const;

  const hash::MaglevTable& table() const { return table_; }
  HashKey hash_key() const { return key_; }

 private:
  MaglevBalancer(BackendList backends, HashKey key, hash::MaglevTable table)
      : backends_(std::move(backends)), key_(key), table_(std::move(table)) {}

  const BackendList backends_;
  const HashKey key_;
  const hash::MaglevTable table_;
};

}  // namespace edge::l4
