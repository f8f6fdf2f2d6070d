#pragma once
// RateLimitFilter: applies a [[rate_limit]] policy to a route's requests.
//
// Every response on a limited route carries RateLimit-Limit (the bucket's capacity, limit +
// burst), RateLimit-Remaining and RateLimit-Reset (seconds until the bucket is full again), plus
// RateLimit-Policy ("100;w=60;burst=20"). A refused request gets 429 with Retry-After (seconds,
// at least 1).
//
// store = "local" decides at once. store = "redis" suspends the request until Redis answers and
// resumes it from the loop. When Redis cannot answer (down, slow past its timeout, an error
// reply) the policy's failure mode decides: "open" lets the request through without RateLimit
// headers, "closed" answers 503 with Retry-After: 1. Either way it is counted; the first such
// decision of an outage is logged as a warning (each one at debug), the store's recovery at info,
// and the client logs the connection problem itself.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "l7/filters/filter.h"
#include "l7/filters/ratelimit/gcra.h"
#include "l7/filters/ratelimit/local_rate_store.h"
#include "l7/filters/ratelimit/rate_limit_config.h"
#include "l7/filters/ratelimit/redis_rate_limiter.h"

namespace edge::l7 {

struct RateLimitCounters {
  std::atomic<uint64_t> allowed{0};
  std::atomic<uint64_t> limited{0};
  std::atomic<uint64_t> failed_open{0};    // store error, let through
  std::atomic<uint64_t> failed_closed{0};  // store error, refused
};

// One policy of one config generation, shared by every route that names it.
struct RateLimitPolicy {
  RateLimitPolicyConfig config;
  GcraPolicy gcra;
  std::shared_ptr<LocalRateStore> local;    // store = "local"
  std::shared_ptr<RedisRateLimiter> redis;  // store = "redis" (null without a loop: fails)
  RateLimitCounters counters;
  std::string policy_header;  // the RateLimit-Policy value
  // Set by the first failure-policy decision of an outage, cleared by the next store decision:
  // one warning per outage, not one per request.
  std::atomic<bool> store_failing{false};
};

// Monotonic nanoseconds; injectable for tests.
using MonotonicClock = std::function<int64_t()>;

class RateLimitFilter final : public Filter {
 public:
  RateLimitFilter(std::shared_ptr<RateLimitPolicy> policy, MonotonicClock clock);
  std::string_view name() const override { return "rate_limit"; }
  FilterStatus OnRequest(FilterContext& ctx, Resumer* resumer) override;

 private:
  std::shared_ptr<RateLimitPolicy> policy_;
  MonotonicClock clock_;
};

// The bucket key of a request under `config` (see rate_limit_config.h). Keys longer than 200
// bytes are replaced by "sha256:" and their hash, bounding memory per key.
std::string RateLimitKey(const RateLimitPolicyConfig& config, const FilterContext& ctx);

// Applies a decision to the context: headers, and the 429 when refused.
FilterStatus ApplyRateLimitDecision(RateLimitPolicy& policy, const GcraDecision& decision,
                                    FilterContext& ctx);

}  // namespace edge::l7
