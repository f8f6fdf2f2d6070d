#pragma once
// SourceTable: per-client-address state for a listener's per-source limits, in bounded memory.
//
// One table per listener per worker (no sharing, no locks): each entry holds one source's live
// connection count (max_connections_per_source) and its new-connection token bucket
// (new_connections_per_source), kept as GCRA's "theoretical arrival time": one integer that
// behaves exactly like a bucket of `burst` tokens refilled at rate/per.
//
// A source is an IPv4 address, or an IPv6 /64 (one host usually holds a whole /64, so keying by
// the full address would let it use 2^64 sources); an IPv4-mapped IPv6 address is its IPv4 address.
//
// Memory is fixed at construction: `capacity` entries of 40 bytes and an index of twice as many
// 4-byte slots (48 bytes per source in all), allocated once; nothing is allocated per connection.
// When a new source arrives and the table is full, the least recently used *idle* entry (no live
// connection) is evicted: that source only loses its bucket's history (it starts again with a full
// bucket), so an attacker filling the table with addresses never gets anyone refused. Entries with
// live connections are never evicted (their counts must stay exact). If every entry has a live
// connection, the new source is admitted untracked (kUntracked: no per-source limit for that
// connection, counted in /metrics) rather than refused; max_connections still bounds the total.
//
// The index is open addressing with linear probing (load <= 1/2) and backward-shift deletion,
// hashed with absl::Hash (seeded per process) so that chosen addresses cannot pile up in one
// probe run.

#include <cstdint>
#include <memory>
#include <string_view>

#include "common/net/address.h"

namespace edge::l4 {

// A client as the per-source limits count it (see above).
struct SourceKey {
  uint64_t hi = 0;
  uint64_t lo = 0;
  friend bool operator==(const SourceKey&, const SourceKey&) = default;
};
SourceKey SourceKeyOf(const net::SocketAddress& address);

// The arithmetic of one listener's limits, as the table uses it (SourceLimits in config terms).
struct SourceTableLimits {
  uint32_t max_concurrent = 0;  // live connections per source; 0 = no limit
  int64_t emission_ns = 0;      // per / rate: one token's worth of time; 0 = no rate limit
  int64_t tolerance_ns = 0;     // (burst - 1) x emission_ns: how far ahead a source may borrow

  // rate connections per `per_ns`, bursts of up to `burst` (each >= 1).
  static SourceTableLimits Rate(uint32_t max_concurrent, uint64_t rate, int64_t per_ns,
                                uint64_t burst);
};

class SourceTable {
 public:
  enum class Verdict : uint8_t {
    kAdmitted,   // counted: Release(slot) when the connection ends
    kUntracked,  // every entry has live connections: admitted without limits, no Release
    kOverLimit,  // max_concurrent live connections already
    kOverRate,   // the bucket is empty
  };
  struct Admission {
    Verdict verdict;
    uint32_t slot;  // kAdmitted only
  };

  // 1 <= capacity <= kMaxCapacity.
  explicit SourceTable(uint32_t capacity);
  ~SourceTable();
  SourceTable(const SourceTable&) = delete;
  SourceTable& operator=(const SourceTable&) = delete;

  static constexpr uint32_t kMaxCapacity = 1u << 22;

  // A new connection from `key` at `now_ns` (monotonic; callers pass the loop's clock, tests
  // their own). The concurrency limit is checked before the bucket, so a source refused for
  // having too many connections open spends no token.
  Admission Admit(const SourceKey& key, const SourceTableLimits& limits, int64_t now_ns);
  // The connection admitted into `slot` ended.
  void Release(uint32_t slot);

  uint32_t capacity() const { return capacity_; }
  uint32_t size() const { return size_; }  // sources tracked now
  // Live connections of `key` (0 when untracked); for tests and /status.
  uint32_t active(const SourceKey& key) const;
  bool contains(const SourceKey& key) const { return Find(key) != kNone; }
  // Until when the log may stay quiet about a full table (the worker logs once per minute).
  int64_t full_logged_until_ns = 0;

 private:
  static constexpr uint32_t kNone = UINT32_MAX;
  struct Entry {
    SourceKey key;
    int64_t tat_ns = 0;     // GCRA: the bucket is full when tat_ns <= now
    uint32_t active = 0;    // live admitted connections
    uint32_t prev = kNone;  // idle list (active == 0), least recently used first
    uint32_t next = kNone;
    bool idle_linked = false;
  };

  size_t Home(const SourceKey& key) const;
  uint32_t Find(const SourceKey& key) const;  // entry index or kNone
  void IndexInsert(uint32_t entry);
  void IndexErase(const SourceKey& key);
  void LinkIdle(uint32_t entry);  // at the tail (most recently used)
  void UnlinkIdle(uint32_t entry);

  const uint32_t capacity_;
  const size_t index_mask_;
  std::unique_ptr<Entry[]> entries_;
  std::unique_ptr<uint32_t[]> index_;  // entry index per slot, kNone = empty
  // Entries in use; those from size_ on were never used. Entries are only ever reused by
  // eviction, never freed, so no free list is needed.
  uint32_t size_ = 0;
  uint32_t idle_head_ = kNone;
  uint32_t idle_tail_ = kNone;
};

}  // namespace edge::l4

namespace edge::l4 {

// A connection's place in a SourceTable: released once when the connection ends. Holds the table
// so that a reload that replaces the table cannot free it under live connections.
struct SourceTicket {
  std::shared_ptr<SourceTable> table;  // null: not counted (no per-source limits, or untracked)
  uint32_t slot = 0;

  void Release() {
    if (table == nullptr) return;
    table->Release(slot);
    table.reset();
  }
};

}  // namespace edge::l4
