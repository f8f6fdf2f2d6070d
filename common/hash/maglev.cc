#include "common/hash/maglev.h"

#include <algorithm>
#include <numeric>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "common/hash/hash.h"

namespace edge::hash {
namespace {

// Seeds of the two key hashes that give each backend its permutation (offset, skip). Changing them
// changes every table: never do it, lb4 instances of different versions must agree.
constexpr uint64_t kOffsetSeed = 0x6d61676c65762d6fULL;  // "maglev-o"
constexpr uint64_t kSkipSeed = 0x6d61676c65762d73ULL;    // "maglev-s"

// One backend during the build, in key order. Kept together so a turn touches one cache line.
struct Filler {
  uint32_t next;   // next candidate slot of its permutation: offset + j * skip (mod table size)
  uint32_t skip;   // in [1, table_size - 1], coprime with the prime table size
  uint32_t turns;  // slots taken so far
  uint32_t quota;  // slots owed
  uint32_t weight;
  int32_t index;  // in the caller's list
};

absl::Status Validate(std::span<const MaglevBackend> backends, uint32_t table_size) {
  if (!IsPrime(table_size)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("maglev table_size %u is not prime (e.g. 65537, 655373)", table_size));
  }
  if (table_size > kMaxMaglevTableSize) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "maglev table_size %u is larger than the maximum %u", table_size, kMaxMaglevTableSize));
  }
  if (backends.size() > table_size) {
    return absl::InvalidArgumentError(
        absl::StrFormat("maglev table_size %u is smaller than the number of backends (%u)",
                        table_size, backends.size()));
  }
  for (const MaglevBackend& b : backends) {
    if (b.weight == 0) {
      return absl::InvalidArgumentError(
          absl::StrFormat("maglev backend \"%s\": weight must be >= 1, got 0", b.key));
    }
  }
  return absl::OkStatus();
}

// Slots owed to each filler: the table apportioned by weight with largest remainders (ties to the
// earlier key), so each quota is within one slot of table_size * weight / total_weight and the sum
// is exactly table_size. A backend whose share rounds to zero still gets one slot, taken from the
// backend owed the most (a configured backend always gets some traffic).
void AssignQuotas(std::vector<Filler>& fillers, uint32_t table_size) {
  uint64_t total_weight = 0;
  for (const Filler& f : fillers) total_weight += f.weight;
  uint64_t given = 0;
  std::vector<std::pair<uint64_t, uint32_t>> remainders;  // (remainder, filler position)
  remainders.reserve(fillers.size());
  for (uint32_t i = 0; i < fillers.size(); ++i) {
    // table_size < 2^32 and weight < 2^32: the product fits in 64 bits.
    const uint64_t share = uint64_t{table_size} * fillers[i].weight;
    fillers[i].quota = static_cast<uint32_t>(share / total_weight);
    given += fillers[i].quota;
    remainders.emplace_back(share % total_weight, i);
  }
  const uint64_t left = table_size - given;  // < number of fillers
  std::partial_sort(remainders.begin(), remainders.begin() + left, remainders.end(),
                    [](const auto& a, const auto& b) {
                      return a.first != b.first ? a.first > b.first : a.second < b.second;
                    });
  for (uint64_t i = 0; i < left; ++i) ++fillers[remainders[i].second].quota;

  // Only with extreme weight skew (a share below half a slot). The table then has table_size +
  // zeros slots owed; taking the extra ones from the richest always finds one owed 2 or more,
  // because table_size >= number of fillers.
  uint32_t zeros = 0;
  for (Filler& f : fillers) {
    if (f.quota == 0) {
      f.quota = 1;
      ++zeros;
    }
  }
  if (zeros == 0) return;
  auto poorer = [&fillers](uint32_t a, uint32_t b) {  // max-heap: most slots, then earlier key
    return fillers[a].quota != fillers[b].quota ? fillers[a].quota < fillers[b].quota : a > b;
  };
  std::vector<uint32_t> donors(fillers.size());
  std::iota(donors.begin(), donors.end(), 0u);
  std::make_heap(donors.begin(), donors.end(), poorer);
  for (uint32_t i = 0; i < zeros; ++i) {
    std::pop_heap(donors.begin(), donors.end(), poorer);
    --fillers[donors.back()].quota;
    std::push_heap(donors.begin(), donors.end(), poorer);
  }
}

// One turn of Maglev population: the filler claims the next free slot of its permutation.
// There is always one, since the quotas add up to the table size.
inline void TakeTurn(Filler& f, std::vector<int32_t>& slots) {
  const uint32_t size = static_cast<uint32_t>(slots.size());
  uint32_t c = f.next;
  while (slots[c] >= 0) {
    c += f.skip;
    if (c >= size) c -= size;
  }
  slots[c] = f.index;
  c += f.skip;
  if (c >= size) c -= size;
  f.next = c;
  ++f.turns;
}

// Equal weights: plain round robin over the fillers that are still owed slots (the paper's loop).
void PopulateRoundRobin(std::vector<Filler>& fillers, std::vector<int32_t>& slots) {
  size_t filled = 0;
  while (filled < slots.size()) {
    for (Filler& f : fillers) {
      if (f.turns < f.quota) {
        TakeTurn(f, slots);
        ++filled;
      }
    }
  }
}

// Weighted: the next turn goes to the filler with the smallest turns / weight (ties: earlier key).
// That is stride scheduling: each filler's "pass" advances by a stride of 2^40 / weight per turn
// (integers, so every machine orders turns identically; 2^40 * table_size < 2^64).
//
// The min-heap of (pass, position) is 4-ary, keyed by one 128-bit integer, and a turn re-inserts
// the root bottom-up (Floyd): the hole goes down to a leaf along the smallest children with
// branch-free compares, then the item rises the step or two it needs. A textbook binary sift-down
// mispredicts a branch at every level and made weighted builds 4x slower than unweighted ones
// (the order of turns is the same with any heap: positions make every key distinct).
void PopulateWeighted(std::vector<Filler>& fillers, std::vector<int32_t>& slots) {
  static_assert(kMaxMaglevTableSize <= (1u << 24), "pass = turns * stride must fit in 64 bits");
  using Key = unsigned __int128;  // pass << 32 | position
  constexpr uint64_t kStrideScale = uint64_t{1} << 40;
  std::vector<Key> strides(fillers.size());
  std::vector<Key> heap(fillers.size());
  for (uint32_t i = 0; i < fillers.size(); ++i) {
    strides[i] = Key{kStrideScale / fillers[i].weight} << 32;
    heap[i] = i;  // all at pass 0, in key order: already a min-heap
  }
  size_t size = heap.size();
  while (size > 0) {
    Key top = heap[0];
    const uint32_t pos = static_cast<uint32_t>(top);
    Filler& f = fillers[pos];
    TakeTurn(f, slots);
    if (f.turns == f.quota) {
      top = heap[--size];
      if (size == 0) break;
    } else {
      top += strides[pos];
    }
    // Move the hole at the root down to a leaf, always to the smallest child.
    size_t hole = 0;
    for (size_t first = 1; first < size; first = 4 * hole + 1) {
      size_t best = first;
      const size_t end = std::min(first + 4, size);
      for (size_t c = first + 1; c < end; ++c) best = heap[c] < heap[best] ? c : best;
      heap[hole] = heap[best];
      hole = best;
    }
    // Then let `top` rise from there to its place.
    while (hole > 0) {
      const size_t parent = (hole - 1) / 4;
      if (!(top < heap[parent])) break;
      heap[hole] = heap[parent];
      hole = parent;
    }
    heap[hole] = top;
  }
}

}  // namespace

absl::StatusOr<MaglevTable> MaglevTable::Build(std::span<const MaglevBackend> backends,
                                               uint32_t table_size) {
  if (absl::Status s = Validate(backends, table_size); !s.ok()) return s;
  MaglevTable table;
  table.backends_.assign(backends.begin(), backends.end());
  table.table_size_ = table_size;
  if (backends.empty()) return table;

  // Key order, not config order: the table must not depend on how a config lists its backends.
  std::vector<int32_t> order(backends.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](int32_t a, int32_t b) { return backends[a].key < backends[b].key; });
  // Two backends with one key would make the table depend on config order again.
  for (size_t i = 1; i < order.size(); ++i) {
    if (backends[order[i]].key == backends[order[i - 1]].key) {
      return absl::InvalidArgumentError(
          absl::StrFormat("maglev backend \"%s\" appears more than once", backends[order[i]].key));
    }
  }

  std::vector<Filler> fillers(backends.size());
  bool equal_weights = true;
  for (size_t i = 0; i < order.size(); ++i) {
    const MaglevBackend& b = backends[order[i]];
    Filler& f = fillers[i];
    f.next = static_cast<uint32_t>(Hash64(b.key, kOffsetSeed) % table_size);
    f.skip = static_cast<uint32_t>(Hash64(b.key, kSkipSeed) % (table_size - 1)) + 1;
    f.turns = 0;
    f.weight = b.weight;
    f.index = order[i];
    equal_weights = equal_weights && b.weight == fillers[0].weight;
  }
  AssignQuotas(fillers, table_size);

  table.slots_.assign(table_size, -1);
  if (equal_weights) {
    PopulateRoundRobin(fillers, table.slots_);
  } else {
    PopulateWeighted(fillers, table.slots_);
  }
  return table;
}

std::vector<uint32_t> MaglevTable::SlotCounts() const {
  std::vector<uint32_t> counts(backends_.size(), 0);
  for (int32_t index : slots_) ++counts[index];
  return counts;
}

}  // namespace edge::hash
