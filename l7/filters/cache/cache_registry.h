#pragma once
// The caches of one gateway.toml ([[cache]] tables), shared by every route that names them, and
// their counters for /metrics. A reload keeps each cache whose definition did not change (its
// stored responses stay); a changed or removed one starts empty / goes away with its last
// request.

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

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
  // Stale responses served: while refreshed in the background (stale-while-revalidate) or for an
  // upstream failure (stale-if-error).
  std::atomic<uint64_t> stale_while_revalidate{0};
  std::atomic<uint64_t> stale_if_error{0};
  std::atomic<uint64_t> refreshes{0};  // background refreshes started
  std::atomic<uint64_t> coalesced{0};  // misses answered by another request's stored response
  std::atomic<uint64_t> hit_bytes{0};  // body bytes answered from the cache
  std::atomic<uint64_t> purged{0};     // objects removed by the admin purge
};

class CoalesceWaiter;     // cache_filter.h
class BackgroundRefresh;  // cache_refresh.h

struct Cache {
  explicit Cache(CacheConfig c) : config(std::move(c)), store(config.max_bytes) {}
  const CacheConfig config;
  CacheStore store;
  CacheCounters counters;
  // Keys being fetched upstream now by one request ("the leader"), with the requests suspended
  // until its response is stored or turns out not to be (coalescing; cache_filter.h).
  std::unordered_map<std::string, std::vector<CoalesceWaiter*>> in_flight;
  // Background refreshes running now, one per key at most (stale-while-revalidate).
  std::unordered_map<std::string, BackgroundRefresh*> refreshing;
};

struct CacheRegistry {
  std::map<std::string, std::shared_ptr<Cache>, std::less<>> caches;
};

}  // namespace edge::l7
