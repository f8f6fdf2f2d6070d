#pragma once
// LocalRateStore: one rate-limit policy's buckets in process memory (store = "local"). O(1) per
// check: a hash map from key to TAT plus an intrusive LRU list.
//
// Memory is bounded two ways. Idle keys expire: a key whose TAT has passed has a full bucket,
// exactly like a key never seen, so every check also drops up to two such keys from the cold end
// of the LRU list (amortised cleanup with no timer). And the number of keys is capped: at
// max_keys the least recently used key is evicted even if not yet full (counted), which can only
// make the limiter more lenient for a key that has been quiet longest. Exact for a single gw7,
// which is what lb4's Maglev affinity gives a client.

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "l7/filters/ratelimit/gcra.h"

namespace edge::l7 {

class LocalRateStore {
 public:
  LocalRateStore(GcraPolicy policy, size_t max_keys);
  ~LocalRateStore();
  LocalRateStore(const LocalRateStore&) = delete;
  LocalRateStore& operator=(const LocalRateStore&) = delete;

  GcraDecision Check(std::string_view key, int64_t now_ns);

  size_t size() const { return map_.size(); }
  size_t max_keys() const { return max_keys_; }
  uint64_t evictions() const { return evictions_; }  // keys dropped before their bucket was full
  uint64_t expirations() const { return expirations_; }
  // Bytes held (entries, keys, hash buckets), an estimate for the memory-bound test and metrics.
  size_t MemoryBytes() const;

 private:
  struct Entry {
    std::string key;
    int64_t tat_ns = 0;
    Entry* prev = nullptr;  // towards the cold end
    Entry* next = nullptr;  // towards the hot end
  };
  void Unlink(Entry* e);
  void PushHot(Entry* e);
  void Erase(Entry* e);
  void ExpireCold(int64_t now_ns, int budget);

  GcraPolicy policy_;
  size_t max_keys_;
  std::unordered_map<std::string_view, Entry*> map_;  // views into Entry::key
  Entry* cold_ = nullptr;
  Entry* hot_ = nullptr;
  uint64_t evictions_ = 0;
  uint64_t expirations_ = 0;
  size_t key_bytes_ = 0;
};

}  // namespace edge::l7
