#pragma once
// ConcurrencyFilter: applies a [[concurrency_limit]] (concurrency_config.h) to a route's requests.
//
// A request takes a slot of its key (the route, or its consumer) when it passes this filter and
// gives it back exactly once when it ends, however it ends (Filter::OnEnd: response complete,
// client gone, upstream failure, a later filter's refusal). While max_in_flight slots of its key
// are taken, a request is answered 503 with a JSON body and Retry-After: 1, and never reaches the
// upstream.
//
// Runs after authentication (a consumer key needs the identity) and after rate limiting (a
// request refused by its rate limit should not hold a slot meanwhile).

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "l7/filters/concurrency/concurrency_config.h"
#include "l7/filters/filter.h"

namespace edge::l7 {

// The in-flight counts of one [[concurrency_limit]] per key, shared by every route that names it
// (a consumer limit counts a consumer across all of them). Memory is bounded by the requests in
// flight: a key whose count returns to zero is dropped. Loop thread only, except the counters.
class ConcurrencyLimiter {
 public:
  explicit ConcurrencyLimiter(ConcurrencyLimitConfig config) : config_(std::move(config)) {}
  ConcurrencyLimiter(const ConcurrencyLimiter&) = delete;
  ConcurrencyLimiter& operator=(const ConcurrencyLimiter&) = delete;

  // Takes a slot of `key`; false (counted as rejected) when all of its slots are taken.
  bool TryAcquire(const std::string& key);
  // Gives back a slot TryAcquire granted.
  void Release(const std::string& key);

  const ConcurrencyLimitConfig& config() const { return config_; }
  uint64_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
  uint64_t admitted() const { return admitted_.load(std::memory_order_relaxed); }
  uint64_t rejected() const { return rejected_.load(std::memory_order_relaxed); }
  size_t keys() const { return by_key_.size(); }

 private:
  ConcurrencyLimitConfig config_;
  std::unordered_map<std::string, uint64_t> by_key_;
  std::atomic<uint64_t> in_flight_{0};
  std::atomic<uint64_t> admitted_{0};
  std::atomic<uint64_t> rejected_{0};
};

class ConcurrencyFilter final : public Filter {
 public:
  explicit ConcurrencyFilter(std::shared_ptr<ConcurrencyLimiter> limiter);
  std::string_view name() const override { return "concurrency_limit"; }
  FilterStatus OnRequest(FilterContext& ctx, Resumer* resumer) override;
  void OnEnd(FilterContext& ctx) override;

  size_t holders() const { return holders_.size(); }

 private:
  std::shared_ptr<ConcurrencyLimiter> limiter_;
  // The requests of this route holding a slot, and under which key: OnEnd releases only what
  // OnRequest took, and only once. Requests keep their generation (and so this filter) alive
  // until they end, so nothing is left here when the filter goes.
  std::unordered_map<const FilterContext*, std::string> holders_;
};

// The key a request counts under: "r:ROUTE", "c:CONSUMER" or, for an anonymous request under a
// consumer limit, "ip:ADDRESS".
std::string ConcurrencyKey(const ConcurrencyLimitConfig& config, const FilterContext& ctx);

}  // namespace edge::l7
