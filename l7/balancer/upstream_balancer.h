#pragma once
// UpstreamBalancer: which server of an upstream gets the next request.
//
// One balancer per upstream per config generation, used on gw7's single loop thread (no locks).
// The server owns health, ejection and retries; it tells the balancer what to skip through
// `excluded` and reports each request's start and end so that load-aware policies can count
// in-flight requests and latency. Implementations (one file each):
//   round_robin    smooth weighted round robin (nginx's): heavy servers are spread out, not bunched
//   least_request  fewest requests in flight, weighted; ties rotate
//   p2c_ewma       two random distinct candidates, the lower EWMA latency x (in_flight + 1) wins
//   maglev         consistent hashing of BalanceKey (same key, same server, across instances)

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "l7/config/gateway_config.h"
#include "l7/filters/filter.h"

namespace edge::l7 {

class UpstreamBalancer {
 public:
  virtual ~UpstreamBalancer() = default;
  // A server index in [0, n) not excluded (unhealthy, ejected or already tried), or -1.
  // key: the balance key (only maglev uses it). `excluded` may be shorter than n (missing entries
  // are not excluded) or empty.
  virtual int Pick(std::string_view key, const std::vector<bool>& excluded) = 0;
  // A request was sent to `server` (after Pick chose it).
  virtual void OnRequestStart(int /*server*/) {}
  // That request ended: latency from start to the end of the response head (or to the failure),
  // success false for connect errors, timeouts and 5xx the server treats as failures.
  virtual void OnRequestEnd(int /*server*/, int64_t /*latency_ns*/, bool /*success*/) {}
  // Runtime control changed the weights (one per server, config order, each >= 1; a 0 is read
  // as 1). What the balancer learnt (in-flight counts, latencies, rotation) carries on, so a
  // request that started before the change ends on the same books.
  virtual void SetWeights(const std::vector<uint32_t>& weights) = 0;
};

// True when server `i` must be skipped.
inline bool IsExcluded(const std::vector<bool>& excluded, size_t i) {
  return i < excluded.size() && excluded[i];
}

std::unique_ptr<UpstreamBalancer> MakeUpstreamBalancer(const UpstreamConfig& config);

// The maglev key for a request per config.hash_on (client address text, a header's or a cookie's
// value). When the header or cookie is absent the client address is used instead, so such
// requests keep per-client affinity and spread over the servers rather than all landing on the
// one server that owns the empty key. The kinds are prefixed ("ip:", "h:", "c:") so that a header
// value never collides with an address.
std::string BalanceKey(const UpstreamConfig& config, const RequestView& request);

}  // namespace edge::l7
