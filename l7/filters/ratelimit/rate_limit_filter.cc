#include "l7/filters/ratelimit/rate_limit_filter.h"

#include <openssl/sha.h>

#include "absl/strings/str_format.h"
#include "common/log.h"

namespace edge::l7 {
namespace {

constexpr size_t kMaxKeyBytes = 200;

int64_t CeilSeconds(int64_t ns) { return ns <= 0 ? 0 : (ns + 999'999'999) / 1'000'000'000; }

std::string ClientKey(const FilterContext& ctx) {
  return "ip:" + ctx.request.client_address().IpString();
}

FilterStatus ApplyFailure(RateLimitPolicy& policy, FilterContext& ctx, const absl::Status& error) {
  const bool open = policy.config.failure == RateLimitFailure::kOpen;
  if (!policy.store_failing.exchange(true, std::memory_order_relaxed)) {
    LOG_WARN("rate_limit %s: store unavailable (%s): failure = \"%s\", %s until it answers",
             policy.config.name, error.message(), open ? "open" : "closed",
             open ? "letting requests through" : "refusing requests with 503");
  }
  if (open) {
    policy.counters.failed_open.fetch_add(1, std::memory_order_relaxed);
    ctx.report.rate_limit = "error_open";
    LOG_DEBUG("rate_limit %s: store unavailable, letting through: %s", policy.config.name,
              error.message());
    return FilterStatus::kContinue;
  }
  policy.counters.failed_closed.fetch_add(1, std::memory_order_relaxed);
  ctx.report.rate_limit = "error_closed";
  LOG_DEBUG("rate_limit %s: store unavailable, refusing: %s", policy.config.name, error.message());
  ctx.response_headers.emplace_back("Retry-After", "1");
  return ctx.Reject(503, "rate_limit_unavailable", "the rate limiter cannot decide; try again");
}

}  // namespace

std::string RateLimitKey(const RateLimitPolicyConfig& config, const FilterContext& ctx) {
  std::string key;
  switch (config.key) {
    case RateLimitKeyKind::kConsumer:
      key = ctx.identity.authenticated && !ctx.identity.consumer.empty()
                ? "c:" + ctx.identity.consumer
                : ClientKey(ctx);
      break;
    case RateLimitKeyKind::kClientIp:
      key = ClientKey(ctx);
      break;
    case RateLimitKeyKind::kRoute:
      key = "r:" + std::string(ctx.request.route_name());
      break;
    case RateLimitKeyKind::kHeader: {
      auto value = ctx.request.header(config.header);
      key = value ? "h:" + std::string(*value) : ClientKey(ctx);
      break;
    }
  }
  if (key.size() > kMaxKeyBytes) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), digest);
    std::string hashed = "sha256:";
    for (unsigned char b : digest) hashed += absl::StrFormat("%02x", b);
    return hashed;
  }
  return key;
}

FilterStatus ApplyRateLimitDecision(RateLimitPolicy& policy, const GcraDecision& d,
                                    FilterContext& ctx) {
  // std::to_string, not StrFormat: this runs for every request on a limited route.
  ctx.response_headers.emplace_back("RateLimit-Limit", std::to_string(policy.gcra.capacity));
  ctx.response_headers.emplace_back("RateLimit-Remaining", std::to_string(d.remaining));
  ctx.response_headers.emplace_back("RateLimit-Reset", std::to_string(CeilSeconds(d.reset_ns)));
  ctx.response_headers.emplace_back("RateLimit-Policy", policy.policy_header);
  if (d.allowed) {
    policy.counters.allowed.fetch_add(1, std::memory_order_relaxed);
    // A later limit of the route that refuses overrides it.
    if (ctx.report.rate_limit.empty()) ctx.report.rate_limit = "allowed";
    return FilterStatus::kContinue;
  }
  policy.counters.limited.fetch_add(1, std::memory_order_relaxed);
  ctx.report.rate_limit = "limited";
  ctx.response_headers.emplace_back(
      "Retry-After", absl::StrFormat("%d", std::max<int64_t>(1, CeilSeconds(d.retry_after_ns))));
  return ctx.Reject(429, "rate_limited",
                    absl::StrFormat("rate limit %s exceeded", policy.config.name));
}

RateLimitFilter::RateLimitFilter(std::shared_ptr<RateLimitPolicy> policy, MonotonicClock clock)
    : policy_(std::move(policy)), clock_(std::move(clock)) {}

FilterStatus RateLimitFilter::OnRequest(FilterContext& ctx, Resumer* resumer) {
  RateLimitPolicy& policy = *policy_;
  const std::string key = RateLimitKey(policy.config, ctx);
  if (policy.local != nullptr) {
    return ApplyRateLimitDecision(policy, policy.local->Check(key, clock_()), ctx);
  }
  if (policy.redis == nullptr || resumer == nullptr) {
    return ApplyFailure(policy, ctx, absl::UnavailableError("no redis connection"));
  }
  // The callback runs later on the loop; the server keeps ctx alive until Resume.
  std::shared_ptr<RateLimitPolicy> keep = policy_;
  FilterContext* context = &ctx;
  const bool taken = policy.redis->Check(
      policy.gcra, key, [keep, context, resumer](absl::StatusOr<GcraDecision> decision) {
        if (decision.ok() && keep->store_failing.exchange(false, std::memory_order_relaxed)) {
          LOG_INFO("rate_limit %s: store answering again", keep->config.name);
        }
        FilterStatus status = decision.ok() ? ApplyRateLimitDecision(*keep, *decision, *context)
                                            : ApplyFailure(*keep, *context, decision.status());
        resumer->Resume(status);
      });
  if (!taken) return ApplyFailure(policy, ctx, absl::UnavailableError("redis not connected"));
  return FilterStatus::kSuspend;
}

}  // namespace edge::l7
