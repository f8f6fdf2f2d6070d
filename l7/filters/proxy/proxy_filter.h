#pragma once
// ProxyFilter: the last filter of every route, which answers the request from an upstream
// (DESIGN.md "gw7's request pipeline"; Envoy's router filter). Per request (ProxyExchange):
//  - server choice by the upstream's balancer among the servers that are up (active health) and
//    not ejected (passive health), a pooled keep-alive connection or a new connect
//    (connect_timeout);
//  - the request head (upstream_request.h) and the body streamed as it arrives, with backpressure
//    (the client is read only while the upstream's queue is short);
//  - the response parsed strictly (common/http/response_parser.h) and streamed to the client with
//    backpressure (the upstream is read only while the client's queue is short); request_timeout
//    until the head and between body reads;
//  - retries on another server when the request is idempotent, its bytes are all still kept
//    (kRetryBufferLimit) and nothing of the response has reached the client; otherwise gw7's own
//    502/503/504 with a generic message (the detail goes to the log under the request id);
//  - a 101 to an upgrade request hands the connection to the client side as a tunnel;
//  - the upstream connection back to its pool when both messages ended cleanly;
//  - an HTTP/2 upstream (protocol h2c / h2) instead gives the request a stream on a connection
//    shared with others (H2ConnectionPool): the same server choice, retries, timeouts and health
//    outcomes, with the response already parsed (H2StreamOwner);
//  - a translated request (ctx.upstream_rewriter, filter.h) waits for the client's whole body,
//    which the rewriter turns into the POST that goes upstream instead (retried like the client's
//    method when it fits kRetryBufferLimit);
//  - a gRPC request's grpc-timeout bounds it: when it fires, grpc-status 4 (trailers-only, or as
//    trailers after what was relayed).
// Balancer and passive-health bookkeeping is exactly once per attempt (EndAttempt).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/http/chunked_decoder.h"
#include "common/http/response_parser.h"
#include "common/uring/timer_wheel.h"
#include "l7/filters/filter.h"
#include "l7/server/gateway_runtime.h"
#include "l7/upstream/h2_upstream_connection.h"
#include "l7/upstream/upstream_link.h"

namespace edge::l7 {

class StreamServices;

class ProxyFilter final : public Filter {
 public:
  // `runtime` owns the route and `upstream` and outlives the filter's requests (each request
  // holds its generation).
  ProxyFilter(const GatewayRuntime* runtime, const RouteRuntime* route, UpstreamRuntime* upstream)
      : runtime_(runtime), route_(route), upstream_(upstream) {}
  std::string_view name() const override { return "proxy"; }
  FilterStatus OnRequest(FilterContext& ctx, Resumer* resumer) override;

  const GatewayRuntime& runtime() const { return *runtime_; }
  const RouteRuntime& route() const { return *route_; }
  UpstreamRuntime& upstream() const { return *upstream_; }

 private:
  const GatewayRuntime* runtime_;
  const RouteRuntime* route_;
  UpstreamRuntime* upstream_;
};

// One request's exchange with an upstream. Kept by the stream (ResponderState) and reused for the
// next request of the same client connection.
class ProxyExchange final : public ResponderState,
                            public Responder,
                            public UpstreamLink::Owner,
                            public H2StreamOwner {
 public:
  // Request bytes kept for a retry; a larger body makes the request not retryable.
  static constexpr size_t kRetryBufferLimit = 64 * 1024;
  // Queued bytes beyond which the other side is no longer read.
  static constexpr size_t kHighWater = 256 * 1024;

  explicit ProxyExchange(const LimitsConfig& limits);
  ~ProxyExchange() override;

  void Start(const ProxyFilter* filter, FilterContext& ctx);

  // Responder
  void OnRequestData(std::string_view data) override;
  void OnRequestEnd(const http::HttpHeaders* trailers) override;
  void OnRequestError() override;
  bool WantsRequestData() const override {
    if (awaiting_body_) return true;  // the client's body is collected whole (bounded by the codec)
    if (h2_ != nullptr) return h2_->queued() < kHighWater;
    return upstream_ == nullptr || upstream_->queued() < kHighWater;
  }
  void OnResponseDrained() override;
  void OnStreamReset() override;

  // UpstreamLink::Owner
  void OnUpstreamConnected(UpstreamLink* c, int error) override;
  void OnUpstreamData(UpstreamLink* c, std::string_view data) override;
  void OnUpstreamClosed(UpstreamLink* c, int error) override;
  void OnUpstreamSendDrained(UpstreamLink* c) override;

  // H2StreamOwner
  void OnH2Head(const http::HttpResponse& head) override;
  void OnH2Data(std::string_view data) override;
  void OnH2End(const http::HttpHeaders* trailers) override;
  void OnH2Failed(std::string_view kind, std::string detail, bool unprocessed) override;
  void OnH2SendDrained() override;

 private:
  static void RequestTimerThunk(void* self) {
    static_cast<ProxyExchange*>(self)->OnRequestTimeout();
  }
  static void ConnectTimerThunk(void* self) {
    static_cast<ProxyExchange*>(self)->OnConnectTimeout();
  }
  void OnRequestTimeout();
  void OnConnectTimeout();
  // The request head (the client's, or `rewrite`'s) and the first attempt.
  void Launch(FilterContext& ctx, const UpstreamRewrite* rewrite);
  // The client's body is whole: the rewriter's request goes, or its refusal (400) is answered.
  void SendRewritten();
  bool StartAttempt();                   // false: no server to try
  void SendBody(std::string_view data);  // framed as the request says
  void ProcessResponse();
  // Moves the parsed response head, the first `head_bytes` of up_in_, out of up_in_.
  void KeepResponseHead(size_t head_bytes);
  void OnResponseHead(const http::HttpResponse& head);
  bool StartH2Attempt();  // the attempt's stream on the chosen server's HTTP/2 pool
  void CancelUpstream();  // the connection closed or the stream cancelled
  // request_timeout from now, or the gRPC deadline when that comes first.
  int64_t RequestTimerDeadline(int64_t now);
  void OnGrpcDeadline();
  void ForwardResponseBody();
  void StartTunnel(size_t head_bytes);
  // Ends the exchange: the connection back to its pool if it may be, then the response's end
  // (`trailer_bytes`: the tail of up_in_ the trailers are in, consumed).
  void FinishExchange(const http::HttpHeaders* trailers, size_t trailer_bytes);
  // Counts `kind`, logs `detail` (which may name servers; the client gets a generic message),
  // then retries or answers `status`.
  void AttemptFailed(std::string_view kind, int status, std::string detail, bool retryable);
  // `record_health` false: the attempt ends for a reason of the client's (passive health ignores
  // it).
  void EndAttempt(bool success, bool record_health = true);
  void Release();  // timers off, attempt ended as failed, connection closed; inactive
  void RescheduleRequestTimer();

  const ProxyFilter* filter_ = nullptr;
  FilterStream* stream_ = nullptr;
  const RequestView* request_ = nullptr;
  StreamServices* services_ = nullptr;
  RequestReport* report_ = nullptr;  // the request's, for the access log; null once it is gone
  bool active_ = false;              // between Start and the end of the request
  bool upgrade_ = false;
  // A translated request: the rewriter and the context, while the client's body is collected in
  // client_body_ (awaiting_body_); rewritten_ once the rewrite is what goes upstream.
  const UpstreamRewriter* rewriter_ = nullptr;
  FilterContext* rewrite_ctx_ = nullptr;
  bool awaiting_body_ = false;
  bool rewritten_ = false;
  std::string client_body_;
  uring::Timer request_timer_;
  uring::Timer connect_timer_;
  UpstreamLink* upstream_ = nullptr;
  UpstreamServer* server_state_ = nullptr;  // while an attempt is open (balancer told)
  UpstreamServer* pool_server_ = nullptr;   // whose pool gets the connection back
  int server_index_ = -1;
  std::vector<bool> tried_;
  std::vector<bool> excluded_;  // StartAttempt's scratch, kept to spare an allocation
  int attempts_ = 0;
  std::string retry_copy_;  // every byte sent upstream for this request so far
  bool retryable_ = false;
  int64_t attempt_start_ns_ = 0;
  std::string up_in_;
  http::ResponseHeadParser response_parser_;
  std::string response_head_bytes_;
  http::HttpResponse response_;
  bool response_started_ = false;  // the head went to the client
  bool response_head_done_ = false;
  uint64_t response_left_ = 0;
  http::ChunkedDecoder response_chunked_;
  // HTTP/2 upstream: the request's fields, its stream, whether the client's body has ended.
  bool h2_mode_ = false;
  H2Fields h2_fields_;
  H2UpstreamStream* h2_ = nullptr;
  bool request_ended_ = false;
  // gRPC: grpc-timeout's deadline (0: none), and whether the request timer is set to it.
  int64_t grpc_deadline_ns_ = 0;
  bool timer_is_deadline_ = false;
};

}  // namespace edge::l7
