#pragma once
// Balancer: chooses the backend of a pool for each new connection. One Balancer per pool, shared by
// all worker threads: Pick() is thread-safe and never blocks.

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "common/net/address.h"
#include "l4/balancer/backend.h"

namespace edge::l4 {

enum class BalanceKind { kMaglev, kRoundRobin, kLeastConn, kRandomTwo };
enum class HashKey { kSourceIp, kSourceIpPort };  // what Maglev hashes of the client

struct BalancerOptions {
  BalanceKind kind = BalanceKind::kMaglev;
  HashKey hash = HashKey::kSourceIp;
  uint32_t table_size = 65537;  // Maglev only; must be prime
};

class Balancer {
 public:
  virtual ~Balancer() = default;

  // Picks a backend for a new connection from `client`. `tried` is empty or has one flag per
  // backend, true for those already tried by this connection (a failed connect); they are skipped,
  // as are unhealthy backends. Returns the index into the pool's backend vector, or -1 when no
  // backend is eligible. Deterministic for maglev: the same client and `tried` give the same
  // answer.
  virtual int Pick(const net::SocketAddress& client, const std::vector<bool>& tried) = 0;
};

// Builds the balancer for `backends` (in config order; indexes returned by Pick refer to it).
// Fails for a table_size that is not prime or smaller than the number of backends.
// (table_size is read by maglev only; every kind refuses a null backend or a weight of 0, and
// maglev refuses two backends with the same key.) An empty pool is fine: Pick returns -1.
absl::StatusOr<std::unique_ptr<Balancer>> MakeBalancer(
    const BalancerOptions& options, std::vector<std::shared_ptr<Backend>> backends);

}  // namespace edge::l4
