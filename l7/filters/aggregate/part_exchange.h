#pragma once
// One part of an aggregation: its request to its upstream, made by the proxy's own ProxyExchange
// (server choice, pooled connections, retries of idempotent parts, health, request_timeout), to
// which this object is the request stream. What the exchange would send a client is kept here
// instead: the status, and the body up to max_part_bytes.
//
// The part's request: the part's method and filled target, no body, the client's end-to-end
// fields except those that would change what comes back (Accept-Encoding, Range, conditionals:
// the merge needs the whole plain body) and Host (the part's upstream gets its own server's), and
// the client request's filter edits (the identity fields auth adds, traceparent) and request id.
//
// Outcomes: kOk (2xx, body complete), kError (no server, connect failure, broken or non-2xx
// response), kTimeout (the upstream's request_timeout, the part's timeout or the aggregation's
// deadline), kTooLarge (the body passed max_part_bytes: the part is cut off on the next timer tick,
// not from inside the exchange's own call, and the rest of its body is dropped meanwhile).
// Whichever way it ends, the Owner hears OnPartDone once, and from then on nothing of this request.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/uring/timer_wheel.h"
#include "l7/filters/aggregate/part_merge.h"
#include "l7/filters/aggregate/part_template.h"
#include "l7/filters/filter.h"
#include "l7/filters/proxy/proxy_filter.h"

namespace edge::l7 {

class PartExchange final : public FilterStream {
 public:
  class Owner {
   public:
    virtual ~Owner() = default;
    // The part has ended (its result is final). Called from the part's exchange or a timer; the
    // part is touched no more by this request after it.
    virtual void OnPartDone() = 0;
  };

  PartExchange(Owner* owner, const LimitsConfig& limits);

  // Sends the part. `client` and `client_ctx` are the aggregated request's; `deadline_ns` the
  // part's own timeout (0: none, the aggregation's deadline bounds it).
  void Start(const ProxyFilter* proxy, const AggregatePartConfig& config, PartTarget target,
             FilterStream& client, const FilterContext& client_ctx, uint64_t max_bytes,
             int64_t deadline_ns);
  // Ends a part still running with `outcome` (the deadline, the client gone, a required part
  // failed). Never from inside the part's exchange.
  void Cancel(PartOutcome outcome);
  bool done() const { return done_; }
  PartResult& result() { return result_; }

  // FilterStream, as the part's ProxyExchange uses it.
  const http::HttpRequest& http_request() const override { return request_; }
  std::string_view request_id() const override { return client_->request_id(); }
  std::string_view upstream_path() const override { return path_; }
  const std::vector<std::pair<std::string, std::string>>& path_params() const override {
    return no_params_;
  }
  bool client_tls() const override { return client_->client_tls(); }
  bool upgrade_requested() const override { return false; }
  bool request_body_complete() const override { return true; }
  StreamServices& services() override { return client_->services(); }
  void SetResponder(Responder* responder) override { responder_ = responder; }
  std::unique_ptr<ResponderState>& responder_state() override { return unused_state_; }
  void AcceptRequestBody() override {}
  void ReadRequestBody() override;
  void SendHead(const http::HttpResponse& head) override;
  void SendData(std::string_view data) override;
  void SendEnd(const http::HttpHeaders* trailers) override;
  void SendLocal(int status, std::string_view message) override;
  void SendUpgrade(const http::HttpResponse& head, UpstreamLink* link,
                   std::string_view first_bytes) override;
  void Reset() override;
  size_t response_queued() const override { return 0; }  // kept here, never waits on a client
  void BeginOutputBatch() override {}
  void EndOutputBatch() override {}

 private:
  static void TimerThunk(void* self) { static_cast<PartExchange*>(self)->OnTimer(); }
  void OnTimer();
  // The exchange has ended (it touches this request no more): the result is final.
  void Done(PartOutcome outcome);

  Owner* owner_;
  ProxyExchange exchange_;
  FilterStream* client_ = nullptr;
  std::optional<FilterContext> ctx_;  // the part's, for its exchange
  http::HttpRequest request_;
  std::string path_;
  uint64_t max_bytes_ = 0;
  PartResult result_;
  bool exchange_active_ = false;  // between Start and the exchange's end
  bool done_ = true;
  bool body_delivered_ = false;  // ReadRequestBody told the exchange there is no body
  bool too_large_ = false;       // cut off at the next timer tick
  uring::Timer timer_;
  Responder* responder_ = nullptr;
  std::unique_ptr<ResponderState> unused_state_;
  const std::vector<std::pair<std::string, std::string>> no_params_;
};

}  // namespace edge::l7
