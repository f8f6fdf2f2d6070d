#pragma once
// SourceGuard: one listener's L4 protection, applied to each client right after accept and before
// any backend is connected:
//   1. deny: a client in any `deny` network is refused (reason "deny"); deny wins over allow.
//   2. allow: when the list is non-empty, a client outside every network is refused
//      ("not_allowed").
//   3. max_connections_per_source: a source with that many live connections is refused
//      ("per_source_limit").
//   4. new_connections_per_source: a source whose token bucket is empty is refused
//      ("per_source_rate"); the limit of 3 is checked first, so it spends no token.
// Refused clients are closed at once (nothing is read or sent) and counted in
// lb4_connections_refused_total{listener,reason}. Steps 3 and 4 use the worker's SourceTable
// (bounded memory; its header says what happens when it is full).
//
// Built once per config and shared read-only by the workers; the tables are the workers' own.
// A listener with none of these keys gets no guard, and the accept path only tests for it.

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "common/net/address.h"
#include "common/net/cidr.h"
#include "l4/config.h"
#include "l4/protection/source_table.h"

namespace edge::l4 {

enum class Refusal : uint8_t { kDeny, kNotAllowed, kPerSourceLimit, kPerSourceRate };
inline constexpr size_t kRefusalKinds = 4;
// "deny", "not_allowed", "per_source_limit", "per_source_rate" (the metric's reason label).
std::string_view RefusalName(Refusal refusal);

// One listener's refusals, for /metrics. Process-wide: a refusal costs an atomic add, which is
// nothing next to the accept and close it follows. A reload keeps a listener's counters (by name).
struct ProtectionCounters {
  std::array<std::atomic<uint64_t>, kRefusalKinds> refused{};
  // Admitted without per-source limits because every entry of a worker's table had live
  // connections (SourceTable::Verdict::kUntracked).
  std::atomic<uint64_t> untracked{0};
};

class SourceGuard {
 public:
  explicit SourceGuard(const ListenerConfig& config);

  struct Result {
    std::optional<Refusal> refusal;                                   // set: refuse the client
    SourceTable::Verdict verdict = SourceTable::Verdict::kUntracked;  // when steps 3-4 ran
    uint32_t slot = 0;  // verdict kAdmitted: release it in the table when the connection ends
  };

  // Steps 1-2 only.
  std::optional<Refusal> CheckAccess(const net::SocketAddress& client) const;
  // Steps 1-4; `table` is the worker's table for this listener (required when
  // per_source() is true, ignored otherwise). `now_ns` is monotonic.
  Result Screen(const net::SocketAddress& client, SourceTable* table, int64_t now_ns) const;

  bool per_source() const { return per_source_; }
  uint32_t table_size() const { return table_size_; }
  const SourceTableLimits& limits() const { return limits_; }

 private:
  std::vector<net::Cidr> allow_;
  std::vector<net::Cidr> deny_;
  SourceTableLimits limits_;
  bool per_source_ = false;
  uint32_t table_size_ = 0;
};

}  // namespace edge::l4
