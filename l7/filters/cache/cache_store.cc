#include "l7/filters/cache/cache_store.h"

#include <algorithm>
#include <functional>
#include <vector>

namespace edge::l7 {
namespace {
// Ghost entries kept: about as many as the main queue could hold objects of 1 KiB, at least 1024
// and at most 1M (8 bytes each, twice).
size_t GhostCapacity(uint64_t max_bytes) {
  return static_cast<size_t>(std::clamp<uint64_t>(max_bytes / 1024, 1024, 1 << 20));
}
}  // namespace

CacheStore::CacheStore(uint64_t max_bytes)
    : max_bytes_(max_bytes), small_target_(std::max<uint64_t>(max_bytes / 10, 1)) {}

std::shared_ptr<const StoredValue> CacheStore::Get(std::string_view key) {
  auto it = index_.find(key);
  if (it == index_.end()) return nullptr;
  Node& n = *it->second;
  if (n.freq < 3) ++n.freq;
  return n.value;
}

bool CacheStore::Insert(std::string_view key, std::shared_ptr<const StoredValue> value) {
  const size_t charge = key.size() + value->bytes() + kOverheadBytes;
  Erase(key);
  if (charge > max_bytes_) return false;
  const bool to_main = TakeGhost(key);
  List& list = to_main ? main_ : small_;
  list.push_front(
      Node{std::string(key), std::move(value), charge, 0, to_main ? Queue::kMain : Queue::kSmall});
  (to_main ? main_bytes_ : small_bytes_) += charge;
  index_.emplace(list.front().key, list.begin());
  while (bytes() > max_bytes_) EvictOne();
  return true;
}

bool CacheStore::Erase(std::string_view key) {
  auto it = index_.find(key);
  if (it == index_.end()) return false;
  List::iterator node = it->second;
  index_.erase(it);
  Unlink(node);
  return true;
}

size_t CacheStore::EraseIf(const std::function<bool(std::string_view key)>& match) {
  std::vector<std::string> doomed;
  for (const auto& [key, node] : index_) {
    if (match(key)) doomed.emplace_back(key);
  }
  for (const std::string& key : doomed) Erase(key);
  return doomed.size();
}

void CacheStore::Unlink(List::iterator it) {
  if (it->queue == Queue::kSmall) {
    small_bytes_ -= it->charge;
    small_.erase(it);
  } else {
    main_bytes_ -= it->charge;
    main_.erase(it);
  }
}

void CacheStore::EvictOne() {
  // From the small queue while it holds more than its share (or main is empty).
  if (!small_.empty() && (small_bytes_ > small_target_ || main_.empty())) {
    auto it = std::prev(small_.end());
    if (it->freq > 0) {
      // Used again while on probation: promote to main.
      it->freq = 0;
      it->queue = Queue::kMain;
      small_bytes_ -= it->charge;
      main_bytes_ += it->charge;
      main_.splice(main_.begin(), small_, it);
      return;
    }
    RememberGhost(it->key);
    index_.erase(it->key);
    Unlink(it);
    evictions_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  auto it = std::prev(main_.end());
  if (it->freq > 0) {
    --it->freq;
    main_.splice(main_.begin(), main_, it);
    return;
  }
  index_.erase(it->key);
  Unlink(it);
  evictions_.fetch_add(1, std::memory_order_relaxed);
}

void CacheStore::RememberGhost(std::string_view key) {
  const uint64_t h = std::hash<std::string_view>{}(key);
  ghost_order_.push_back(h);
  ghost_.insert(h);
  if (ghost_order_.size() > GhostCapacity(max_bytes_)) {
    auto g = ghost_.find(ghost_order_.front());
    if (g != ghost_.end()) ghost_.erase(g);
    ghost_order_.pop_front();
  }
}

bool CacheStore::TakeGhost(std::string_view key) {
  auto g = ghost_.find(std::hash<std::string_view>{}(key));
  if (g == ghost_.end()) return false;
  ghost_.erase(g);  // its slot in ghost_order_ becomes a no-op when it reaches the front
  return true;
}

}  // namespace edge::l7
