#pragma once
// CacheStore: the objects of one [[cache]], bounded by max_bytes, evicted by S3-FIFO
// (Yang et al., SOSP'23: "FIFO queues are all you need for cache eviction").
//
// Why S3-FIFO: API traffic mixes a popular core with long scans (crawlers, exports, one-off
// ids). Under plain LRU each scanned object pushes out a popular one. S3-FIFO admits new objects
// into a small FIFO (10% of the bytes); only those hit again while there move to the main FIFO,
// so a scan passes through the small queue and leaves the main one alone. Objects evicted from
// the small queue are remembered by key hash in a ghost FIFO: one that comes back soon goes
// straight to the main queue. The main queue gives each object up to 3 reinsertions (one per hit,
// CLOCK-like) before it goes. Every operation is O(1) amortised; a hit only bumps a counter.
//
// Accounting: every object is charged its key, its value's size and a fixed overhead, and the
// total never exceeds max_bytes after an Insert returns. Loop thread only (gw7 is one thread per
// process); the counters are atomic so that /metrics may read them from the same thread anyway
// without caring.

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace edge::l7 {

// What the store holds: a size and nothing else it needs to know (cache_object.h).
class StoredValue {
 public:
  virtual ~StoredValue() = default;
  virtual size_t bytes() const = 0;
};

class CacheStore {
 public:
  // Bytes charged per object beyond its key and value (list node, map slot, bookkeeping).
  static constexpr size_t kOverheadBytes = 128;

  explicit CacheStore(uint64_t max_bytes);
  CacheStore(const CacheStore&) = delete;
  CacheStore& operator=(const CacheStore&) = delete;

  // The object under `key`, counted as a use; null if none.
  std::shared_ptr<const StoredValue> Get(std::string_view key);
  // Stores (or replaces) `key`, then evicts until the total fits. False when the object alone is
  // larger than max_bytes (nothing stored).
  bool Insert(std::string_view key, std::shared_ptr<const StoredValue> value);
  bool Erase(std::string_view key);
  // Removes every object whose key `match` accepts (a purge: O(objects)); returns how many.
  size_t EraseIf(const std::function<bool(std::string_view key)>& match);

  uint64_t max_bytes() const { return max_bytes_; }
  uint64_t bytes() const { return small_bytes_ + main_bytes_; }
  size_t objects() const { return index_.size(); }
  uint64_t evictions() const { return evictions_.load(std::memory_order_relaxed); }

 private:
  enum class Queue : uint8_t { kSmall, kMain };
  struct Node {
    std::string key;
    std::shared_ptr<const StoredValue> value;
    size_t charge = 0;
    uint8_t freq = 0;  // 0..3
    Queue queue = Queue::kSmall;
  };
  using List = std::list<Node>;

  void Unlink(List::iterator it);
  void EvictOne();
  void RememberGhost(std::string_view key);
  bool TakeGhost(std::string_view key);

  const uint64_t max_bytes_;
  const uint64_t small_target_;
  List small_, main_;  // front = newest, back = next to leave
  uint64_t small_bytes_ = 0, main_bytes_ = 0;
  std::unordered_map<std::string_view, List::iterator> index_;  // views into Node::key
  // Ghost FIFO of key hashes (a false positive only admits an object to main early).
  std::deque<uint64_t> ghost_order_;
  std::unordered_multiset<uint64_t> ghost_;
  std::atomic<uint64_t> evictions_{0};
};

}  // namespace edge::l7
