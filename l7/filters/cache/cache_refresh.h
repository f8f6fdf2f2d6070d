#pragma once
// BackgroundRefresh: the upstream request behind a stale-while-revalidate answer. The client got
// the stale response at once; this request fetches (or revalidates) the key so that the next
// client gets a fresh one. At most one runs per key (Cache::refreshing).
//
// Design: the refresh is a request gw7 makes to itself, run as an ordinary RequestStream over an
// InternalCodec (l7/codec/internal_codec.h) that discards the response. It copies the client
// request's target, Host and fields (the key's extras and the Vary fields must be the same; the
// conditionals, Cache-Control, X-Request-Id and framing fields are left out) and is routed like it,
// but the chain starts at the route's cache filter (StreamConnectionInfo::first_filter): the
// filters before it (auth, authorization, limits) already admitted the client request that found
// the stale response, and gw7's own request has no client of its own for them to judge. What they
// established for it (the identity, the fields they add or remove upstream, a rewritten query) is
// copied from the client request's context (StreamConnectionInfo::admitted_as), so that the
// refresh has the same cache key and reaches the upstream as the client request would. So only
// the cache filter (which validates with the stored validators and stores the answer, as for any
// stale lookup) and the proxy run: retries, timeouts, health and pools are the proxy's, with no
// second upstream client to maintain. Writing the refresh inside the cache filter over
// UpstreamLinks would have duplicated the proxy; answering the client and going on upstream in one
// stream would have needed the stream to outlive its response.
//
// Lifetime: created by Start, owned by itself; when the stream is over it leaves Cache::refreshing
// at once and frees itself on the next timer tick (outside the stream's call stack).

#include <memory>
#include <string>

#include "common/http/request_parser.h"
#include "common/uring/timer_wheel.h"
#include "l7/codec/internal_codec.h"
#include "l7/filters/cache/cache_registry.h"
#include "l7/filters/filter.h"
#include "l7/stream/request_stream.h"

namespace edge::l7 {

class BackgroundRefresh final : public StreamOwner {
 public:
  // Starts a refresh of `key` for the client request `ctx`, whose route's `cache_filter` runs it.
  // False when one is already running for `key` or the request cannot be restated.
  static bool Start(const FilterContext& ctx, const Filter* cache_filter,
                    const std::shared_ptr<Cache>& cache, const std::string& key);

  const FilterStream* stream() const { return &stream_; }

 private:
  BackgroundRefresh(StreamServices* services, std::shared_ptr<Cache> cache, std::string key);
  static void Done(void* self, int status);
  static void Free(void* self);
  void OnStreamReleased(RequestStream* stream) override;
  void Finished();

  std::shared_ptr<Cache> cache_;
  std::string key_;
  StreamServices* services_;
  std::string text_;  // the restated request head; request_ points into it
  http::HttpRequest request_;
  RequestStream stream_;
  InternalCodec codec_;
  uring::Timer free_timer_;
  bool finished_ = false;
};

}  // namespace edge::l7
