#include "l7/filters/ratelimit/local_rate_store.h"

namespace edge::l7 {
namespace {

// Heap bytes of a std::string (short strings live inside the object).
size_t HeapBytes(const std::string& s) {
  return s.capacity() > std::string().capacity() ? s.capacity() + 1 : 0;
}

}  // namespace

LocalRateStore::LocalRateStore(GcraPolicy policy, size_t max_keys)
    : policy_(policy), max_keys_(max_keys < 1 ? 1 : max_keys) {}

LocalRateStore::~LocalRateStore() {
  Entry* e = cold_;
  while (e != nullptr) {
    Entry* next = e->next;
    delete e;
    e = next;
  }
}

void LocalRateStore::Unlink(Entry* e) {
  (e->prev != nullptr ? e->prev->next : cold_) = e->next;
  (e->next != nullptr ? e->next->prev : hot_) = e->prev;
  e->prev = e->next = nullptr;
}

void LocalRateStore::PushHot(Entry* e) {
  e->prev = hot_;
  e->next = nullptr;
  (hot_ != nullptr ? hot_->next : cold_) = e;
  hot_ = e;
}

void LocalRateStore::Erase(Entry* e) {
  Unlink(e);
  map_.erase(std::string_view(e->key));
  key_bytes_ -= HeapBytes(e->key);
  delete e;
}

void LocalRateStore::ExpireCold(int64_t now_ns, int budget) {
  while (budget-- > 0 && cold_ != nullptr && cold_->tat_ns <= now_ns) {
    Erase(cold_);
    ++expirations_;
  }
}

GcraDecision LocalRateStore::Check(std::string_view key, int64_t now_ns) {
  ExpireCold(now_ns, 2);
  auto it = map_.find(key);
  Entry* e = it != map_.end() ? it->second : nullptr;
  GcraDecision d = GcraCheck(policy_, e != nullptr ? e->tat_ns : 0, now_ns);
  if (e != nullptr) {
    e->tat_ns = d.tat_ns;
    Unlink(e);
    PushHot(e);
    return d;
  }
  if (!d.allowed) return d;  // cannot happen for a new key (capacity >= 1); nothing to store
  if (map_.size() >= max_keys_) {
    // The cold end is the least recently used key; if it were expired ExpireCold would have
    // taken it, so this drops a bucket that was not yet full.
    Erase(cold_);
    ++evictions_;
  }
  e = new Entry{std::string(key), d.tat_ns};
  key_bytes_ += HeapBytes(e->key);
  PushHot(e);
  map_.emplace(std::string_view(e->key), e);
  return d;
}

size_t LocalRateStore::MemoryBytes() const {
  // Entries and their heap keys (SSO keys count within the Entry), the map's nodes (a node holds
  // the pair plus a next pointer and the cached hash) and its bucket array.
  const size_t node = sizeof(std::pair<const std::string_view, Entry*>) + 2 * sizeof(void*);
  return map_.size() * (sizeof(Entry) + node) + key_bytes_ + map_.bucket_count() * sizeof(void*);
}

}  // namespace edge::l7
