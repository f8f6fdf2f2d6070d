#include "l4/protection/source_table.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "absl/hash/hash.h"

namespace edge::l4 {

namespace {
constexpr uint64_t kV6Marker = uint64_t{1} << 63;  // lo of an IPv6 key; no IPv4 key has it
constexpr int64_t kMaxToleranceNs = int64_t{1} << 62;

uint64_t Load64(const char* p) {
  uint64_t v = 0;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
}  // namespace

SourceKey SourceKeyOf(const net::SocketAddress& address) {
  std::string_view ip = address.IpBytes();
  static constexpr char kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '\xff', '\xff'};
  if (ip.size() == 16 && std::memcmp(ip.data(), kMappedPrefix, 12) == 0) ip.remove_prefix(12);
  SourceKey key;
  if (ip.size() == 4) {
    uint32_t v4 = 0;
    std::memcpy(&v4, ip.data(), 4);
    key.lo = (uint64_t{0xffff} << 32) | v4;
  } else if (ip.size() == 16) {
    key.hi = Load64(ip.data());  // the /64
    key.lo = kV6Marker;
  }
  return key;
}

SourceTableLimits SourceTableLimits::Rate(uint32_t max_concurrent, uint64_t rate, int64_t per_ns,
                                          uint64_t burst) {
  SourceTableLimits limits;
  limits.max_concurrent = max_concurrent;
  if (rate == 0) return limits;
  limits.emission_ns = std::max<int64_t>(1, per_ns / static_cast<int64_t>(rate));
  const __int128 tolerance =
      static_cast<__int128>(limits.emission_ns) * static_cast<__int128>(burst - 1);
  limits.tolerance_ns =
      tolerance > kMaxToleranceNs ? kMaxToleranceNs : static_cast<int64_t>(tolerance);
  return limits;
}

SourceTable::SourceTable(uint32_t capacity)
    : capacity_(std::clamp<uint32_t>(capacity, 1, kMaxCapacity)),
      index_mask_(std::bit_ceil(size_t{capacity_} * 2) - 1),
      entries_(new Entry[capacity_]),
      index_(new uint32_t[index_mask_ + 1]) {
  std::fill(index_.get(), index_.get() + index_mask_ + 1, kNone);
}

SourceTable::~SourceTable() = default;

size_t SourceTable::Home(const SourceKey& key) const {
  return absl::HashOf(key.hi, key.lo) & index_mask_;
}

uint32_t SourceTable::Find(const SourceKey& key) const {
  for (size_t i = Home(key);; i = (i + 1) & index_mask_) {
    const uint32_t e = index_[i];
    if (e == kNone) return kNone;
    if (entries_[e].key == key) return e;
  }
}

void SourceTable::IndexInsert(uint32_t entry) {
  size_t i = Home(entries_[entry].key);
  while (index_[i] != kNone) i = (i + 1) & index_mask_;
  index_[i] = entry;
}

// Backward-shift deletion: later members of the probe run move up into the hole, so lookups
// never need tombstones and the table never degrades however many evictions it sees.
void SourceTable::IndexErase(const SourceKey& key) {
  size_t hole = Home(key);
  while (entries_[index_[hole]].key != key) hole = (hole + 1) & index_mask_;
  for (size_t i = (hole + 1) & index_mask_; index_[i] != kNone; i = (i + 1) & index_mask_) {
    const size_t home = Home(entries_[index_[i]].key);
    // Move the entry at i into the hole unless its home lies cyclically in (hole, i].
    const bool stays = hole <= i ? (hole < home && home <= i) : (hole < home || home <= i);
    if (stays) continue;
    index_[hole] = index_[i];
    hole = i;
  }
  index_[hole] = kNone;
}

void SourceTable::LinkIdle(uint32_t e) {
  Entry& entry = entries_[e];
  entry.prev = idle_tail_;
  entry.next = kNone;
  if (idle_tail_ != kNone) {
    entries_[idle_tail_].next = e;
  } else {
    idle_head_ = e;
  }
  idle_tail_ = e;
  entry.idle_linked = true;
}

void SourceTable::UnlinkIdle(uint32_t e) {
  Entry& entry = entries_[e];
  if (entry.prev != kNone) {
    entries_[entry.prev].next = entry.next;
  } else {
    idle_head_ = entry.next;
  }
  if (entry.next != kNone) {
    entries_[entry.next].prev = entry.prev;
  } else {
    idle_tail_ = entry.prev;
  }
  entry.prev = entry.next = kNone;
  entry.idle_linked = false;
}

SourceTable::Admission SourceTable::Admit(const SourceKey& key, const SourceTableLimits& limits,
                                          int64_t now_ns) {
  uint32_t e = Find(key);
  if (e == kNone) {
    if (size_ < capacity_) {
      e = size_++;
    } else if (idle_head_ != kNone) {
      e = idle_head_;  // the least recently used source without a live connection
      UnlinkIdle(e);
      IndexErase(entries_[e].key);
    } else {
      return {Verdict::kUntracked, kNone};
    }
    entries_[e] = Entry{};
    entries_[e].key = key;
    entries_[e].tat_ns = now_ns;  // a full bucket
    IndexInsert(e);
    LinkIdle(e);  // idle until admitted: whatever happens next, it stays evictable
  }
  Entry& entry = entries_[e];
  if (entry.idle_linked) {  // used now: most recently used, whatever the verdict
    UnlinkIdle(e);
    LinkIdle(e);
  }
  if (limits.max_concurrent != 0 && entry.active >= limits.max_concurrent) {
    return {Verdict::kOverLimit, kNone};
  }
  if (limits.emission_ns != 0) {
    const int64_t tat = std::max(entry.tat_ns, now_ns);
    if (tat - now_ns > limits.tolerance_ns) return {Verdict::kOverRate, kNone};
    entry.tat_ns = tat + limits.emission_ns;
  }
  if (entry.active++ == 0 && entry.idle_linked) UnlinkIdle(e);
  return {Verdict::kAdmitted, e};
}

void SourceTable::Release(uint32_t slot) {
  Entry& entry = entries_[slot];
  if (entry.active == 0) return;  // never happens: every kAdmitted is released once
  if (--entry.active == 0) LinkIdle(slot);
}

uint32_t SourceTable::active(const SourceKey& key) const {
  const uint32_t e = Find(key);
  return e == kNone ? 0 : entries_[e].active;
}

}  // namespace edge::l4
