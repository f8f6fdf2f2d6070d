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
// A body is stored only when it arrived whole (OnResponseEnd) and within max_object_bytes; an
// upstream error or a truncated body ends the request without OnResponseEnd and stores nothing.

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

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
    std::shared_ptr<const CachedResponse> stale;  // what a 304 may refresh
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

  std::shared_ptr<Cache> cache_;
  bool allow_set_cookie_;
  int64_t (*clock_)();
  std::unordered_map<const FilterContext*, Pending> pending_;
};

}  // namespace edge::l7
