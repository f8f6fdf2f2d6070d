#pragma once
// AggregateFilter: the responding filter of a route with `aggregate` (DESIGN.md "gw7's request
// pipeline": it stands where the proxy would, after auth, limits and the cache). Per request
// (AggregateExchange) every part's target is filled (part_template.h; a value the template refuses
// is the client's 400), all parts start at once on their upstreams (part_exchange.h), and the
// answer is merged (part_merge.h) when the last one ends, when a required part fails (the others
// are cancelled), or at aggregate_timeout (those still running count as timeouts). So the answer
// takes as long as the slowest part, not the sum.
//
// Counted per route and part outcome in GatewayStats::aggregate_parts (gw7_aggregate_parts_total).
// The client's request body, if any, is read and dropped: parts carry none.

#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "common/uring/timer_wheel.h"
#include "l7/filters/aggregate/part_exchange.h"
#include "l7/filters/filter.h"
#include "l7/filters/proxy/proxy_filter.h"
#include "l7/server/gateway_runtime.h"

namespace edge::l7 {

class AggregateFilter final : public Filter {
 public:
  // `parts[i]` sends the route's part i to its upstream; `runtime` owns the route and outlives
  // the filter's requests.
  AggregateFilter(const GatewayRuntime* runtime, const RouteRuntime* route,
                  std::vector<std::unique_ptr<ProxyFilter>> parts)
      : runtime_(runtime), route_(route), parts_(std::move(parts)) {}
  std::string_view name() const override { return "aggregate"; }
  FilterStatus OnRequest(FilterContext& ctx, Resumer* resumer) override;

  const AggregateConfig& config() const { return *route_->config->aggregate; }
  std::string_view route_name() const { return route_->config->name; }
  const ProxyFilter* part_proxy(size_t i) const { return parts_[i].get(); }

 private:
  const GatewayRuntime* runtime_;
  const RouteRuntime* route_;
  std::vector<std::unique_ptr<ProxyFilter>> parts_;
};

// One aggregated request. Kept by the stream (ResponderState) and reused for the next request of
// the same client connection, like ProxyExchange.
class AggregateExchange final : public ResponderState,
                                public Responder,
                                public PartExchange::Owner {
 public:
  explicit AggregateExchange(const LimitsConfig& limits) : limits_(limits) {}

  void Start(const AggregateFilter* filter, FilterContext& ctx);

  // Responder
  void OnRequestData(std::string_view /*data*/) override {}
  void OnRequestEnd(const http::HttpHeaders* /*trailers*/) override {}
  // A broken body: the stream answers; like the client going away for the parts.
  void OnRequestError() override { OnStreamReset(); }
  bool WantsRequestData() const override { return true; }
  void OnResponseDrained() override {}
  void OnStreamReset() override;

  // PartExchange::Owner
  void OnPartDone() override;

 private:
  static void DeadlineThunk(void* self) { static_cast<AggregateExchange*>(self)->OnDeadline(); }
  void OnDeadline();
  void CancelParts(PartOutcome outcome);
  // Merges, counts and answers; ends the request (nothing of it after). `failed_required`: the
  // index of the required part whose failure decided a 502, if any.
  void Answer(std::optional<size_t> failed_required);

  // A copy: the exchange outlives its generation (kept for the connection's next request, which
  // may run under a reloaded config).
  const LimitsConfig limits_;
  const AggregateFilter* filter_ = nullptr;
  FilterStream* stream_ = nullptr;
  std::vector<std::unique_ptr<PartExchange>> parts_;
  std::vector<PartResult> results_;  // Answer's, kept to spare allocations
  std::string body_;
  bool active_ = false;
  bool starting_ = false;  // parts are being started: an early end waits for the last one
  uring::Timer deadline_{&DeadlineThunk, this};
};

}  // namespace edge::l7
