#pragma once
// The live form of a config: pools with their backends and balancer, listeners bound to pools,
// durations converted to what the data path uses. Built once per config, read-only afterwards
// (except the atomics inside Backend), shared by all workers.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/tls/client_context.h"
#include "common/tls/server_context.h"
#include "l4/balancer/balancer.h"
#include "l4/config.h"
#include "l4/protection/source_guard.h"

namespace edge::l4 {

struct Pool {
  PoolConfig config;
  std::vector<std::shared_ptr<Backend>> backends;  // config order
  std::unique_ptr<Balancer> balancer;
  int64_t connect_timeout_ns = 0;
  std::shared_ptr<const tls::ClientContext> tls;  // [pool.tls]: TLS to the backends; null = none
};

// SNI routes of a tls_passthrough listener, sorted by name for binary search (no allocation per
// lookup). Wildcards are stored by their suffix: "*.example.com" as "example.com".
struct SniRouteTable {
  std::vector<std::pair<std::string, std::shared_ptr<Pool>>> exact;
  std::vector<std::pair<std::string, std::shared_ptr<Pool>>> wildcard;

  // The pool for a (lowercase) SNI: an exact route, else the wildcard covering its first label,
  // else nullptr.
  Pool* Find(std::string_view sni) const;
  bool empty() const { return exact.empty() && wildcard.empty(); }
};

struct ListenerRuntime {
  ListenerConfig config;
  std::shared_ptr<Pool> pool;
  int64_t idle_timeout_ns = 0;
  int64_t handshake_timeout_ns = 0;
  SniRouteTable routes;
  std::shared_ptr<const tls::ServerContext> tls;  // mode = "tls": certificates, ALPN, tickets
  // The client's address is looked up (getpeername) only when something needs it.
  bool needs_client_address = false;
  // allow / deny / per-source limits; null when the listener has none (the accept path then
  // tests only this pointer).
  std::shared_ptr<const SourceGuard> guard;
  // Refusals of this listener; never null; kept across reloads by listener name.
  std::shared_ptr<ProtectionCounters> counters;
  // [lb4.access_log] sample for this listener's connections; 0 when the log is off.
  double access_log_sample = 0;
};

struct Runtime {
  Lb4Config config;
  std::vector<std::shared_ptr<Pool>> pools;
  std::vector<std::shared_ptr<ListenerRuntime>> listeners;
};

// Backends a reload may reuse: those of the config in force and those removed by earlier reloads
// whose connections are still draining. By pool name.
using ReusableBackends = std::vector<std::pair<std::string, std::shared_ptr<Backend>>>;

// On a reload, a backend with the same pool and address keeps its Backend object (new weight
// applied), so its live connections, counts and health carry over; one that comes back after a
// removal stops being "removed". A mode = "tls" listener of `previous` (the config in force) with
// the same name, session tickets on and the same ticket_key_rotation passes its ticket keys on;
// every listener of `previous` passes its refusal counters on to the listener of the same name.
absl::StatusOr<std::shared_ptr<const Runtime>> BuildRuntime(const Lb4Config& config,
                                                            const ReusableBackends& reusable = {},
                                                            const Runtime* previous = nullptr);

}  // namespace edge::l4
