#pragma once
// MaglevTable: consistent hashing from Google's Maglev paper (NSDI 2016, section 3.4), with
// weights.
//
// Every lb4 built from the same config must compute the same table, so that several lb4 behind ECMP
// send a client to the same backend with no coordination. Hence: backends are ordered by their key
// (not by config order), the permutations come from the deterministic Hash64, and every tie is
// broken by that order. Results are still reported as indexes into the caller's list.
//
// Weights: each backend is owed a number of slots proportional to its weight (largest-remainder
// apportionment of the table, at least one slot each), and backends take their turns in order of
// turns_taken / weight, so heavy backends take turns more often all along the build instead of
// claiming the tail of the table in a burst. With equal weights this is exactly the paper's
// round-robin population.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace edge::hash {

inline constexpr uint32_t kDefaultMaglevTableSize = 65537;
// Keeps a typo in a config from allocating gigabytes (the table is 4 bytes per slot).
inline constexpr uint32_t kMaxMaglevTableSize = 1u << 24;

struct MaglevBackend {
  std::string key;      // stable identity, e.g. "10.0.0.1:8001"; unique within a table
  uint32_t weight = 1;  // >= 1
};

class MaglevTable {
 public:
  // An empty table: Lookup returns -1.
  MaglevTable() = default;

  // Builds the table. Refuses (InvalidArgument) a table_size that is not prime, is larger than
  // kMaxMaglevTableSize or is smaller than the number of backends, a weight of 0, and duplicate
  // keys. An empty `backends` gives an empty table (every lookup is -1).
  static absl::StatusOr<MaglevTable> Build(std::span<const MaglevBackend> backends,
                                           uint32_t table_size = kDefaultMaglevTableSize);

  // The slot a hash falls in: the high bits of hash * table_size, which spreads a uniform 64-bit
  // hash evenly without a division. Requires a non-empty table.
  uint32_t SlotOf(uint64_t hash) const {
    return static_cast<uint32_t>((static_cast<unsigned __int128>(hash) * slots_.size()) >> 64);
  }

  // The backend (index into the list given to Build) for a hash; -1 when the table is empty.
  int32_t Lookup(uint64_t hash) const { return slots_.empty() ? -1 : slots_[SlotOf(hash)]; }

  // Like Lookup, but walks the table from the hashed slot to the following slots (wrapping) until
  // `accept(index)` is true, and returns that index; -1 when the table is empty or no slot's
  // backend is accepted. Rejecting a backend moves only the hashes of its slots, each to the owner
  // of the next slot, so its load spreads over the others and everyone else keeps their backend
  // (use it to skip unhealthy or already-tried backends). `accept` is called at most once per run
  // of equal slots and may be called up to table_size times when few backends are accepted.
  template <typename Accept>
  int32_t LookupSkipping(uint64_t hash, Accept&& accept) const {
    const size_t n = slots_.size();
    if (n == 0) return -1;
    size_t slot = SlotOf(hash);
    int32_t rejected = -1;
    for (size_t i = 0; i < n; ++i) {
      const int32_t index = slots_[slot];
      if (index != rejected) {
        if (accept(index)) return index;
        rejected = index;
      }
      if (++slot == n) slot = 0;
    }
    return -1;
  }

  // The size asked of Build (also for an empty table, whose slots() is empty).
  uint32_t table_size() const { return table_size_; }
  // The raw table: for each slot, the index of its backend in the list given to Build. Empty when
  // there are no backends.
  const std::vector<int32_t>& slots() const { return slots_; }
  // The backends as given to Build, in the caller's order.
  const std::vector<MaglevBackend>& backends() const { return backends_; }
  // How many slots each backend owns, by index into backends().
  std::vector<uint32_t> SlotCounts() const;

 private:
  std::vector<MaglevBackend> backends_;
  std::vector<int32_t> slots_;
  uint32_t table_size_ = 0;
};

}  // namespace edge::hash
