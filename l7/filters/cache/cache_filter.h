#pragma once
// CacheFilter: a route's `cache = "name"` (README "Caching"). Runs after auth, rate limits and
// concurrency limits (so a cached response is only served to a request the route admits) and
// right before the proxy.
//
// On a request (GET or HEAD, no body, no Range): looks the key up (cache_key.h); a fresh stored
// response answers the request itself (kRespond: 200 with Age, or 304 when the client's
// If-None-Match / If-Modified-Since match); otherwise the request goes on upstream and the
// response, on its way back, is stored when RFC 9111 allows (cache_policy.h). A 304 from upstream
// to a request that carried the client's own validators refreshes a stored response with the
// same validator. A successful unsafe request (POST, PUT, DELETE, PATCH) invalidates the URL.
// Every answer from a cached route carries Cache-Status (RFC 9211).
//
// Stale responses (RFC 9111 §4.3, RFC 5861):
//   - revalidation: a stale response with an ETag or Last-Modified goes upstream as
//     If-None-Match / If-Modified-Since (the client's own conditionals are replaced). A 304 is
//     taken over on its way back (Filter::TakeOverResponse): the stored response is refreshed and
//     the client gets it (200, or 304 when its own validators match it);
//   - stale-while-revalidate (response directive): within the window the stale response answers
//     at once and one background refresh per key runs (cache_refresh.h);
//   - stale-if-error (response or request directive): an upstream 5xx, or gw7's own 502/503/504
//     for an unreachable or slow upstream, is taken over and the stale response answers instead.
//   None of these serve stale when the response forbids it (no-cache, must-revalidate,
//   proxy-revalidate, s-maxage).
// Coalescing: while one request fetches a key that is missing or stale ("the leader"), other
// requests for it suspend (kSuspend) until the leader's response is stored (they are answered
// from the cache), turns out not storable or fails, or coalesce_timeout passes; then they go on
// upstream themselves.
//
// A body is stored only when it arrived whole (OnResponseEnd) and within max_object_bytes; an
// upstream error or a truncated body ends the request without OnResponseEnd and stores nothing.

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/uring/timer_wheel.h"
#include "l7/filters/cache/cache_policy.h"
#include "l7/filters/cache/cache_registry.h"
#include "l7/filters/filter.h"

namespace edge::l7 {

// One stored response (or, for a URL whose responses carry Vary, the list of fields they vary
// on: the "vary index" stored under the primary key). Immutable once stored: a refresh stores a
// new object.
struct CachedResponse final : StoredValue {
  bool vary_index = false;
  std::vector<std::string> vary;  // lower-case field names (both kinds)
  uint16_t status = 0;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;  // end-to-end fields, no Age
  std::string body;
  ResponseTimes times;
  int64_t lifetime = 0;
  CacheDirectives directives;
  std::string etag;
  std::optional<int64_t> last_modified;
  size_t bytes() const override;
};

// A request suspended behind the leader for its key. Resumes its stream once (kRespond, so that
// the cache filter runs again): soon after the leader wakes it, or at coalesce_timeout.
class CoalesceWaiter {
 public:
  CoalesceWaiter(std::shared_ptr<Cache> cache, std::string key, Resumer* resumer,
                 uring::TimerWheel* timers, int64_t deadline_ns);
  CoalesceWaiter(const CoalesceWaiter&) = delete;
  CoalesceWaiter& operator=(const CoalesceWaiter&) = delete;
  // The leader is done: resume on the next timer tick, outside the leader's call stack.
  void Wake(int64_t now_ns);

 private:
  static void Fire(void* self);

  std::shared_ptr<Cache> cache_;
  std::string key_;
  Resumer* resumer_;
  uring::TimerWheel* timers_;
  bool listed_ = true;  // still in cache_->in_flight[key_]
  uring::Timer timer_;
};

class CacheFilter final : public Filter {
 public:
  // `clock`: wall-clock seconds since the epoch (Date and Expires are wall-clock).
  CacheFilter(std::shared_ptr<Cache> cache, bool allow_set_cookie, int64_t (*clock)() = nullptr);
  std::string_view name() const override { return "cache"; }
  FilterStatus OnRequest(FilterContext& ctx, Resumer* resumer) override;
  void OnResponseHead(FilterContext& ctx, const http::HttpResponse& head) override;
  void OnResponseData(FilterContext& ctx, std::string_view data) override;
  void OnResponseEnd(FilterContext& ctx, const http::HttpHeaders* trailers) override;
  void OnEnd(FilterContext& ctx) override;
  bool TakeOverResponse(FilterContext& ctx, const http::HttpResponse& head) override;
  void ReplaceResponse(FilterContext& ctx) override;

  size_t pending() const { return pending_.size(); }

 private:
  // What a forwarded request left for its response.
  struct Pending {
    std::string primary_key;
    std::string variant_key;  // primary_key when the URL has no vary index
    bool head_request = false;
    bool unsafe = false;  // invalidate on success
    bool storable_request = false;
    bool credentials = false;
    std::string cache_status;                     // "gw7; fwd=miss" ...
    std::shared_ptr<const CachedResponse> stale;  // what was found: a 304 may refresh it
    bool client_validators = false;               // the client's own conditionals went upstream
    bool revalidating = false;                    // the stored validators went upstream instead
    // Set when the response is taken over: what answers instead, with its Cache-Status.
    std::shared_ptr<const CachedResponse> replacement;
    std::string replacement_status;
    std::string leader_key;  // this request fetches the key others wait for (coalescing)
    std::unique_ptr<CoalesceWaiter> waiter;  // this request waited (or waits) for a leader
    int64_t request_time = 0;
    // Collecting the body of a response being stored.
    std::shared_ptr<CachedResponse> building;
    std::optional<uint64_t> expected_length;
    CacheDirectives request_directives;
  };

  int64_t Now() const;
  FilterStatus Serve(FilterContext& ctx, const CachedResponse& hit, int64_t age, bool not_modified);
  std::shared_ptr<CachedResponse> Refreshed(const CachedResponse& old,
                                            const http::HttpResponse& head, int64_t now,
                                            int64_t request_time) const;
  void Store(const Pending& p, std::shared_ptr<CachedResponse> response);
  // Whether the client's If-None-Match / If-Modified-Since hold for `stored`.
  static bool ClientNotModified(const FilterContext& ctx, const CachedResponse& stored);
  // The leader's response is stored, or will not be: its waiters go on.
  void ReleaseWaiters(FilterContext& ctx, Pending& p);

  std::shared_ptr<Cache> cache_;
  bool allow_set_cookie_;
  int64_t (*clock_)();
  std::unordered_map<const FilterContext*, Pending> pending_;
};

}  // namespace edge::l7
