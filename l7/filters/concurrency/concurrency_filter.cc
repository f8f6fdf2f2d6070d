#include "l7/filters/concurrency/concurrency_filter.h"

#include "absl/strings/str_format.h"
#include "common/log.h"

namespace edge::l7 {

bool ConcurrencyLimiter::TryAcquire(const std::string& key) {
  auto it = by_key_.find(key);
  if (it != by_key_.end() && it->second >= config_.max_in_flight) {
    rejected_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  if (it == by_key_.end()) it = by_key_.emplace(key, 0).first;
  ++it->second;
  in_flight_.fetch_add(1, std::memory_order_relaxed);
  admitted_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void ConcurrencyLimiter::Release(const std::string& key) {
  auto it = by_key_.find(key);
  if (it == by_key_.end() || it->second == 0) {
    LOG_ERROR("concurrency_limit %s: release of a slot nobody holds (key %s)", config_.name, key);
    return;
  }
  if (--it->second == 0) by_key_.erase(it);
  in_flight_.fetch_sub(1, std::memory_order_relaxed);
}

std::string ConcurrencyKey(const ConcurrencyLimitConfig& config, const FilterContext& ctx) {
  if (config.key == ConcurrencyKeyKind::kRoute) {
    return "r:" + std::string(ctx.request.route_name());
  }
  if (ctx.identity.authenticated && !ctx.identity.consumer.empty()) {
    return "c:" + ctx.identity.consumer;
  }
  return "ip:" + ctx.request.client_address().IpString();
}

ConcurrencyFilter::ConcurrencyFilter(std::shared_ptr<ConcurrencyLimiter> limiter)
    : limiter_(std::move(limiter)) {}

FilterStatus ConcurrencyFilter::OnRequest(FilterContext& ctx, Resumer* /*resumer*/) {
  std::string key = ConcurrencyKey(limiter_->config(), ctx);
  if (!limiter_->TryAcquire(key)) {
    ctx.response_headers.emplace_back("Retry-After", "1");
    return ctx.Reject(503, "concurrency_limited",
                      absl::StrFormat("concurrency limit %s: %d requests already in flight",
                                      limiter_->config().name, limiter_->config().max_in_flight));
  }
  holders_[&ctx] = std::move(key);
  return FilterStatus::kContinue;
}

void ConcurrencyFilter::OnEnd(FilterContext& ctx) {
  auto it = holders_.find(&ctx);
  if (it == holders_.end()) return;  // refused here, or stopped before this filter
  limiter_->Release(it->second);
  holders_.erase(it);
}

}  // namespace edge::l7
