#pragma once
// The caches of one gateway.toml ([[cache]] tables), shared by every route that names them, and
// their counters for /metrics. A reload keeps each cache whose definition did not change (its
// stored responses stay); a changed or removed one starts empty / goes away with its last
// request.

#include <atomic>
#include <map>
#include <memory>
#include <string>

#include "l7/filters/cache/cache_config.h"
#include "l7/filters/cache/cache_store.h"

namespace edge::l7 {

struct CacheCounters {
  std::atomic<uint64_t> hits{0};           // answered from the cache (200 or 304)
  std::atomic<uint64_t> misses{0};         // looked up, nothing usable stored
  std::atomic<uint64_t> stale{0};          // found but stale or refused by the request: forwarded
  std::atomic<uint64_t> stores{0};         // responses stored (refreshes included)
  std::atomic<uint64_t> revalidations{0};  // stored responses refreshed by an upstream 304
  std::atomic<uint64_t> not_stored{0};     // forwarded responses the rules kept out
  std::atomic<uint64_t> bypass{0};         // requests the cache does not handle (method, body...)
  std::atomic<uint64_t> invalidations{0};  // URLs dropped after a successful unsafe request
};

struct Cache {
  explicit Cache(CacheConfig c) : config(std::move(c)), store(config.max_bytes) {}
  const CacheConfig config;
  CacheStore store;
  CacheCounters counters;
};

struct CacheRegistry {
  std::map<std::string, std::shared_ptr<Cache>, std::less<>> caches;
};

}  // namespace edge::l7
