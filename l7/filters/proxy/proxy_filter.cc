#include "l7/filters/proxy/proxy_filter.h"

#include <cstring>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "common/http/hop_by_hop.h"
#include "common/log.h"
#include "l7/codec/http1_response_writer.h"
#include "l7/filters/proxy/h2_request.h"
#include "l7/filters/proxy/upstream_request.h"
#include "l7/server/http_limits.h"
#include "l7/stream/grpc_status.h"
#include "l7/stream/stream_services.h"

namespace edge::l7 {
namespace {

std::string ErrnoText(int error) { return error == 0 ? "closed" : strerror(-error); }

// What the client reads when an upstream fails: generic, since addresses, server and upstream
// names are the operator's business (the detail is in the log line, found by the request id that
// the body carries).
std::string_view UpstreamFailureMessage(int status) {
  switch (status) {
    case 503:
      return "no upstream server is available";
    case 504:
      return "the upstream service did not answer in time";
    default:
      return "the upstream service failed to answer";
  }
}

}  // namespace

FilterStatus ProxyFilter::OnRequest(FilterContext& ctx, Resumer* /*resumer*/) {
  std::unique_ptr<ResponderState>& slot = ctx.stream->responder_state();
  auto* exchange = dynamic_cast<ProxyExchange*>(slot.get());
  if (exchange == nullptr) {
    slot = std::make_unique<ProxyExchange>(runtime_->config.limits);
    exchange = static_cast<ProxyExchange*>(slot.get());
  }
  exchange->Start(this, ctx);
  return FilterStatus::kRespond;
}

ProxyExchange::ProxyExchange(const LimitsConfig& limits)
    : request_timer_(&RequestTimerThunk, this),
      connect_timer_(&ConnectTimerThunk, this),
      response_parser_(ResponseLimits(limits)),
      response_chunked_(ResponseChunkedLimits()) {}

ProxyExchange::~ProxyExchange() {
  if (upstream_ != nullptr) upstream_->Close();
  if (h2_ != nullptr) h2_->Cancel();
}

void ProxyExchange::CancelUpstream() {
  if (upstream_ != nullptr) {
    upstream_->Close();
    upstream_ = nullptr;
  }
  if (h2_ != nullptr) {
    H2UpstreamStream* s = h2_;
    h2_ = nullptr;
    s->Cancel();
  }
}

int64_t ProxyExchange::RequestTimerDeadline(int64_t now) {
  const int64_t at = now + absl::ToInt64Nanoseconds(filter_->upstream().config->request_timeout);
  timer_is_deadline_ = grpc_deadline_ns_ != 0 && grpc_deadline_ns_ <= at;
  return timer_is_deadline_ ? grpc_deadline_ns_ : at;
}

void ProxyExchange::Start(const ProxyFilter* filter, FilterContext& ctx) {
  filter_ = filter;
  stream_ = ctx.stream;
  request_ = &ctx.request;
  services_ = &stream_->services();
  report_ = &ctx.report;
  report_->upstream = filter->upstream().config->name;
  active_ = true;
  response_started_ = false;
  response_head_done_ = false;
  pool_server_ = nullptr;
  server_state_ = nullptr;
  stream_->SetResponder(this);
  rewriter_ = ctx.upstream_rewriter;
  rewrite_ctx_ = &ctx;
  rewritten_ = false;
  awaiting_body_ = false;
  if (rewriter_ == nullptr) return Launch(ctx, nullptr);
  client_body_.clear();
  stream_->AcceptRequestBody();
  if (stream_->request_body_complete()) return SendRewritten();
  awaiting_body_ = true;
  stream_->ReadRequestBody();  // OnRequestEnd goes on
}

void ProxyExchange::OnRequestData(std::string_view data) {
  if (awaiting_body_) {
    client_body_.append(data);
  } else if (!rewritten_) {
    SendBody(data);
  }
}

void ProxyExchange::SendRewritten() {
  awaiting_body_ = false;
  UpstreamRewrite rewrite;
  const absl::Status refused = rewriter_->Rewrite(*rewrite_ctx_, client_body_, &rewrite);
  client_body_.clear();
  if (!refused.ok()) {
    active_ = false;
    stream_->SendLocal(400, std::string(refused.message()));
    return;
  }
  rewritten_ = true;
  Launch(*rewrite_ctx_, &rewrite);
}

void ProxyExchange::Launch(FilterContext& ctx, const UpstreamRewrite* rewrite) {
  UpstreamRuntime& up = filter_->upstream();
  const ProxyFilter* filter = filter_;
  const http::HttpRequest& request = stream_->http_request();
  tried_.assign(up.servers.size(), false);
  attempts_ = 0;
  retryable_ = http::IsIdempotent(request.method) && up.config->retries > 0;
  retry_copy_.clear();
  UpstreamRequestOptions options;
  options.path = stream_->upstream_path();
  if (rewrite != nullptr) {
    options.method = "POST";
    options.path = rewrite->path;
    options.query = &rewrite->query;
    if (rewrite->body.size() > kRetryBufferLimit) retryable_ = false;
  }
  options.client = &ctx.request.client_address();
  options.proto = stream_->client_tls() ? "https" : "http";
  options.request_id = stream_->request_id();
  options.default_host = up.servers[0]->key;
  options.remove_headers = &ctx.upstream_remove_headers;
  options.add_headers = &ctx.upstream_add_headers;
  options.route_headers = &filter->route().config->add_request_headers;
  options.body = rewrite != nullptr
                     ? http::BodyFraming{http::BodyKind::kContentLength, rewrite->body.size()}
                     : request.body;
  const RouteConfig& route = *filter->route().config;
  upgrade_ = rewrite == nullptr && stream_->upgrade_requested();  // a translation is no tunnel
  // An Upgrade offering only h2c is no upgrade at all where h2c is not allowed.
  if (upgrade_ && !route.allow_h2c_upgrade && !OffersUpgradeOtherThanH2c(request.headers)) {
    upgrade_ = false;
  }
  options.upgrade = upgrade_;
  if (http::ConnectionNamesFraming(request.headers)) {
    // Ignored (hop_by_hop.h): Content-Length and Host go upstream as they came.
    services_->stats().CountError("connection_names_framing");
    LOG_DEBUG("request %s: Connection names a framing field or Host; ignored",
              stream_->request_id());
  }
  options.allow_h2c = route.allow_h2c_upgrade;
  if (ctx.upstream_query && rewrite == nullptr) options.query = &*ctx.upstream_query;
  const GatewayRuntime& runtime = filter->runtime();
  options.strip = &runtime.stripped_fields;
  options.trusted_client =
      net::AnyContains(runtime.config.trusted_proxies, ctx.request.client_address());
  h2_mode_ = up.config->protocol != UpstreamProtocol::kHttp1;
  request_ended_ = rewrite != nullptr;  // the rewritten body is all there is
  if (h2_mode_) {
    // HTTP/2 frames the body itself: the head says only what it knows (a Content-Length).
    options.upgrade = upgrade_ = false;
    if (options.body.kind == http::BodyKind::kChunked) options.body = {http::BodyKind::kNone, 0};
  }
  UpstreamHeadReport report = AppendUpstreamRequestHead(request, options, &retry_copy_);
  services_->stats().stripped_headers += report.stripped;
  if (report.forwarded_dropped) {
    services_->stats().CountError("bad_forwarded");
    LOG_DEBUG("request %s: dropped a Forwarded field that is not RFC 7239 from trusted %s",
              stream_->request_id(), ctx.request.client_address().ToString());
  }
  if (h2_mode_) {
    if (request.body.kind == http::BodyKind::kContentLength) {
      // AppendUpstreamRequestHead wrote it; kept (it describes the DATA frames exactly).
    }
    const bool te_trailers = OffersTrailers(request.headers) || IsGrpcRequest(request.headers);
    H2FieldsFromHttp1Head(retry_copy_, options.proto, te_trailers, &h2_fields_);
    retry_copy_.clear();  // from here on the body bytes only
  }
  if (rewrite != nullptr) retry_copy_.append(rewrite->body);
  grpc_deadline_ns_ = 0;
  if (IsGrpcRequest(request.headers)) {
    if (const http::HttpHeader* t = request.headers.Find("grpc-timeout")) {
      if (std::optional<int64_t> ns = ParseGrpcTimeout(t->value)) {
        const int64_t now = services_->now_ns();
        grpc_deadline_ns_ = *ns > INT64_MAX - now ? INT64_MAX : now + std::max<int64_t>(*ns, 1);
      }
    }
  }
  if (rewrite == nullptr) stream_->AcceptRequestBody();
  if (!StartAttempt()) {
    services_->stats().CountError("no_healthy_server");
    LOG_DEBUG("request %s: no healthy server in upstream \"%s\"", stream_->request_id(),
              up.config->name);
    active_ = false;
    stream_->SendLocal(503, UpstreamFailureMessage(503));
    return;
  }
  // The body bytes that have arrived leave with the head; what may follow in this call belongs
  // to a later request only if this one ended, and then upstream_ is that one's. A rewritten
  // request's body went with the head (the client's was read whole).
  if (rewrite == nullptr) stream_->ReadRequestBody();
  if (upstream_ != nullptr) upstream_->Uncork();
}

bool ProxyExchange::StartH2Attempt() {
  UpstreamRuntime& up = filter_->upstream();
  const bool no_body =
      rewritten_ ? retry_copy_.empty() : stream_->http_request().body.kind == http::BodyKind::kNone;
  auto opened = server_state_->h2->Open(services_->upstream_connector(), h2_fields_, no_body, this);
  if (!opened.ok()) {
    AttemptFailed(
        "connect_failed", 502,
        absl::StrFormat("upstream \"%s\": %s", up.config->name, opened.status().message()), true);
    return true;
  }
  h2_ = *opened;
  // What the client sent so far (a retry), then its end if it has come.
  if (!retry_copy_.empty()) h2_->SendData(retry_copy_);
  if (request_ended_) h2_->SendEnd(nullptr);
  if (h2_ != nullptr && !h2_->connected()) {
    services_->timers().Schedule(
        &connect_timer_,
        services_->now_ns() + absl::ToInt64Nanoseconds(up.config->connect_timeout));
  }
  return true;
}

bool ProxyExchange::StartAttempt() {
  UpstreamRuntime& up = filter_->upstream();
  const int64_t now = services_->now_ns();
  excluded_.resize(up.servers.size());
  for (size_t i = 0; i < up.servers.size(); ++i) {
    excluded_[i] = tried_[i] || !up.servers[i]->Available(now);
  }
  std::string key;
  if (up.config->balance == UpstreamBalance::kMaglev) {
    key = BalanceKey(*up.config, *request_);
  }
  int index = up.balancer->Pick(key, excluded_);
  if (index < 0 || static_cast<size_t>(index) >= up.servers.size()) return false;
  ++attempts_;
  tried_[static_cast<size_t>(index)] = true;
  server_index_ = index;
  server_state_ = up.servers[static_cast<size_t>(index)].get();
  pool_server_ = server_state_;
  up.balancer->OnRequestStart(index);
  ++server_state_->active;
  ++server_state_->requests;
  attempt_start_ns_ = now;
  if (report_ != nullptr) {
    report_->upstream_server = server_state_->address;
    report_->retries = attempts_ - 1;
    report_->upstream_connect_ns.reset();
    report_->upstream_first_byte_ns.reset();
  }
  up_in_.clear();
  response_parser_.Reset();
  response_head_done_ = false;

  uring::TimerWheel& timers = services_->timers();
  timers.Schedule(&request_timer_, RequestTimerDeadline(now));
  if (server_state_->h2 != nullptr) return StartH2Attempt();
  if (IdleConnection* idle = server_state_->pool.Take()) {
    upstream_ = static_cast<UpstreamLink*>(idle);
    upstream_->set_owner(this);
  } else {
    auto c = services_->upstream_connector().Connect(server_state_->address, this);
    if (!c.ok()) {
      AttemptFailed("connect_failed", 502,
                    absl::StrFormat("cannot connect to upstream \"%s\": %s", up.config->name,
                                    c.status().message()),
                    true);
      return true;  // answered (or retried) by AttemptFailed
    }
    upstream_ = *c;
    timers.Schedule(&connect_timer_, now + absl::ToInt64Nanoseconds(up.config->connect_timeout));
  }
  upstream_->CountRequest();
  upstream_->Cork();  // the callers add what they have of the body, then uncork
  upstream_->Send(retry_copy_);
  return true;
}

void ProxyExchange::SendBody(std::string_view data) {
  std::string framed;
  std::string_view bytes = data;
  if (h2_mode_) {
    if (h2_ != nullptr) h2_->SendData(data);
  } else if (stream_->http_request().body.kind == http::BodyKind::kChunked) {
    if (!data.empty()) AppendChunk(data, &framed);
    bytes = framed;
  }
  if (bytes.empty()) return;
  if (upstream_ != nullptr) upstream_->Send(bytes);
  if (retryable_) {
    if (retry_copy_.size() + bytes.size() > kRetryBufferLimit) {
      retryable_ = false;
      std::string().swap(retry_copy_);
    } else {
      retry_copy_.append(bytes);
    }
  }
}

void ProxyExchange::OnRequestEnd(const http::HttpHeaders* trailers) {
  if (awaiting_body_) return SendRewritten();
  if (rewritten_) return;  // the client's trailers have no place in a rewritten request
  const http::HttpRequest& request = stream_->http_request();
  if (h2_mode_) {
    request_ended_ = true;
    // Trailers are not kept for a retry.
    if (trailers != nullptr && !trailers->empty()) retryable_ = false;
    if (h2_ != nullptr) h2_->SendEnd(trailers);
    return;
  }
  if (request.body.kind != http::BodyKind::kChunked) return;
  // The last chunk with the client's trailers that may cross gw7.
  std::string framed;
  static const http::HttpHeaders kNoTrailers;
  services_->stats().stripped_headers +=
      AppendUpstreamLastChunk(trailers != nullptr ? *trailers : kNoTrailers, request.headers,
                              &framed, &filter_->runtime().stripped_fields);
  if (upstream_ != nullptr) upstream_->Send(framed);
  if (retryable_) {
    if (retry_copy_.size() + framed.size() > kRetryBufferLimit) {
      retryable_ = false;
      std::string().swap(retry_copy_);
    } else {
      retry_copy_.append(framed);
    }
  }
}

void ProxyExchange::OnRequestError() {
  // The request body is broken: the attempt ends (not the server's fault) and the stream answers.
  if (server_state_ != nullptr) EndAttempt(true);
  CancelUpstream();
  services_->timers().Cancel(&request_timer_);
  services_->timers().Cancel(&connect_timer_);
  active_ = false;
  awaiting_body_ = false;
}

void ProxyExchange::OnResponseDrained() {
  if (upstream_ != nullptr) upstream_->ResumeRead();
  if (h2_ != nullptr) h2_->ResumeRead();
}

void ProxyExchange::OnStreamReset() {
  // The client went away (an HTTP/1 close, an HTTP/2 RST_STREAM): nothing the server did wrong.
  // Counting it as a failure would let a client eject healthy servers by resetting requests.
  if (server_state_ != nullptr) EndAttempt(true, /*record_health=*/false);
  Release();
  report_ = nullptr;  // the request's context goes now
}

void ProxyExchange::Release() {
  services_->timers().Cancel(&request_timer_);
  services_->timers().Cancel(&connect_timer_);
  if (server_state_ != nullptr) EndAttempt(false);
  CancelUpstream();
  pool_server_ = nullptr;
  active_ = false;
  awaiting_body_ = false;
  rewrite_ctx_ = nullptr;
}

void ProxyExchange::RescheduleRequestTimer() {
  services_->timers().Schedule(&request_timer_, RequestTimerDeadline(services_->now_ns()));
}

void ProxyExchange::OnRequestTimeout() {
  if (!active_) return;
  if (timer_is_deadline_) {
    OnGrpcDeadline();
    return;
  }
  if (!response_started_) {
    AttemptFailed("request_timeout", 504,
                  absl::StrFormat("upstream \"%s\" did not respond within request_timeout",
                                  filter_->upstream().config->name),
                  false);
  } else {
    services_->stats().CountError("upstream_stalled");
    stream_->Reset();
  }
}

void ProxyExchange::OnConnectTimeout() {
  if (h2_ != nullptr) {
    if (!active_ || h2_->connected()) return;
    AttemptFailed("connect_timeout", 502,
                  absl::StrFormat("connecting to upstream \"%s\" server %s timed out",
                                  filter_->upstream().config->name, h2_->server_key()),
                  true);
    return;
  }
  if (!active_ || upstream_ == nullptr || upstream_->connected()) return;
  AttemptFailed("connect_timeout", 502,
                absl::StrFormat("connecting to upstream \"%s\" server %s timed out",
                                filter_->upstream().config->name, upstream_->server().ToString()),
                true);
}

void ProxyExchange::OnUpstreamConnected(UpstreamLink* c, int error) {
  if (c != upstream_) return;
  services_->timers().Cancel(&connect_timer_);
  if (error != 0) {
    upstream_ = nullptr;  // it closed itself
    AttemptFailed(
        "connect_failed", 502,
        absl::StrFormat("connecting to upstream \"%s\" server %s failed: %s",
                        filter_->upstream().config->name, c->server().ToString(), ErrnoText(error)),
        true);
    return;
  }
  if (report_ != nullptr) report_->upstream_connect_ns = services_->now_ns() - attempt_start_ns_;
}

void ProxyExchange::OnUpstreamData(UpstreamLink* c, std::string_view data) {
  if (c != upstream_) return;
  // One write for everything this data produces (typically a response head and its body),
  // instead of one for the head and one more after its completion. The stream object outlives
  // the request, so the batch may end after the request has.
  FilterStream* stream = stream_;
  stream->BeginOutputBatch();
  up_in_.append(data);
  ProcessResponse();
  stream->EndOutputBatch();
}

void ProxyExchange::OnUpstreamSendDrained(UpstreamLink* c) {
  if (c != upstream_) return;
  stream_->ReadRequestBody();
}

void ProxyExchange::OnUpstreamClosed(UpstreamLink* c, int error) {
  if (c != upstream_) return;
  upstream_ = nullptr;
  if (!response_head_done_) {
    AttemptFailed(
        error == 0 ? "upstream_closed" : "upstream_reset", 502,
        absl::StrFormat("upstream \"%s\" server %s closed the connection before "
                        "responding (%s)",
                        filter_->upstream().config->name, c->server().ToString(), ErrnoText(error)),
        true);
    return;
  }
  if (response_.body.kind == http::BodyKind::kUntilClose && error == 0) {
    FinishExchange(nullptr, 0);
    return;
  }
  services_->stats().CountError("upstream_truncated");
  LOG_INFO("upstream %s ended a response early (%s); closing the client connection",
           c->server().ToString(), ErrnoText(error));
  stream_->Reset();
}

void ProxyExchange::ProcessResponse() {
  while (!response_head_done_) {
    http::ParseResult r = response_parser_.Parse(
        up_in_, rewritten_ ? http::Method::kPost : stream_->http_request().method, &response_);
    if (r.need_more()) return;
    if (r.error_status()) {
      AttemptFailed("bad_response", 502,
                    absl::StrFormat("upstream \"%s\" sent an invalid response: %s",
                                    filter_->upstream().config->name, r.error.reason),
                    false);
      return;
    }
    if (response_.status == 101) {
      if (upgrade_ && response_.headers.Find("upgrade") != nullptr) {
        StartTunnel(r.consumed);
        return;
      }
      const std::string& name = filter_->upstream().config->name;
      AttemptFailed(
          "bad_response", 502,
          upgrade_ ? absl::StrFormat("upstream \"%s\" switched protocols without an Upgrade", name)
                   : absl::StrFormat("upstream \"%s\" switched protocols unasked", name),
          false);
      return;
    }
    if (response_.informational()) {
      // 100 Continue and 103 Early Hints: gw7 has answered the client's Expect itself.
      up_in_.erase(0, r.consumed);
      response_parser_.Reset();
      continue;
    }
    KeepResponseHead(r.consumed);
    OnResponseHead(response_);
    if (!active_) return;
  }
  ForwardResponseBody();
}

void ProxyExchange::KeepResponseHead(size_t head_bytes) {
  // response_ must outlive up_in_'s changes: its views move with the head's bytes.
  response_head_bytes_.assign(up_in_, 0, head_bytes);
  response_.Relocate({up_in_.data(), head_bytes, response_head_bytes_.data()});
  up_in_.erase(0, head_bytes);
}

void ProxyExchange::OnResponseHead(const http::HttpResponse& head) {
  response_head_done_ = true;
  const int64_t now = services_->now_ns();
  UpstreamRuntime& up = filter_->upstream();
  if (report_ != nullptr) {
    report_->upstream_first_byte_ns =
        now - attempt_start_ns_ - report_->upstream_connect_ns.value_or(0);
  }
  services_->stats().ObserveLatency(up.config->name,
                                    static_cast<double>(now - attempt_start_ns_) / 1e9);
  // Only gateway-class answers count against the server; a 500 is the application's verdict.
  EndAttempt(head.status != 502 && head.status != 503 && head.status != 504);
  RescheduleRequestTimer();
  if (http::ConnectionNamesFraming(head.headers)) {
    // Ignored (hop_by_hop.h): the relayed response keeps its framing.
    services_->stats().CountError("connection_names_framing");
    LOG_DEBUG("request %s: upstream %s named a framing field in Connection; ignored",
              stream_->request_id(), upstream_ != nullptr ? upstream_->server().ToString() : "?");
  }
  response_started_ = true;
  stream_->SendHead(head);
  response_left_ = head.body.kind == http::BodyKind::kContentLength ? head.body.length : 0;
  response_chunked_.Reset();
}

void ProxyExchange::ForwardResponseBody() {
  switch (response_.body.kind) {
    case http::BodyKind::kNone:
      FinishExchange(nullptr, 0);
      return;
    case http::BodyKind::kContentLength: {
      size_t n = static_cast<size_t>(std::min<uint64_t>(response_left_, up_in_.size()));
      if (n > 0) stream_->SendData(std::string_view(up_in_).substr(0, n));
      up_in_.erase(0, n);
      response_left_ -= n;
      if (response_left_ == 0) {
        FinishExchange(nullptr, 0);
        return;
      }
      break;
    }
    case http::BodyKind::kChunked:
      for (;;) {
        http::ChunkedResult r = response_chunked_.Decode(up_in_);
        if (r.status == http::ChunkedStatus::kData) {
          stream_->SendData(r.data);
          up_in_.erase(0, r.consumed);
        } else if (r.status == http::ChunkedStatus::kNeedMore) {
          up_in_.erase(0, r.consumed);
          break;
        } else if (r.status == http::ChunkedStatus::kDone) {
          // The trailers point into up_in_: they go out before it changes.
          FinishExchange(&response_chunked_.trailers(), r.consumed);
          return;
        } else {
          services_->stats().CountError("bad_response_body");
          LOG_INFO("upstream %s: invalid chunked body: %s; closing the client connection",
                   upstream_ != nullptr ? upstream_->server().ToString() : "?", r.error.reason);
          // The upstream connection is done too: nothing it sends after this (its close, which
          // may already be queued behind these bytes) is another error of this exchange.
          Release();
          stream_->Reset();
          return;
        }
      }
      break;
    case http::BodyKind::kUntilClose:
      if (!up_in_.empty()) stream_->SendData(up_in_);
      up_in_.clear();
      break;
  }
  if (upstream_ != nullptr) {
    RescheduleRequestTimer();
    if (stream_->response_queued() > kHighWater) upstream_->PauseRead();
  }
}

void ProxyExchange::FinishExchange(const http::HttpHeaders* trailers, size_t trailer_bytes) {
  services_->timers().Cancel(&request_timer_);
  services_->timers().Cancel(&connect_timer_);
  if (upstream_ != nullptr) {
    UpstreamLink* c = upstream_;
    upstream_ = nullptr;
    bool reuse = response_.keep_alive && stream_->request_body_complete() &&
                 up_in_.size() == trailer_bytes &&
                 response_.body.kind != http::BodyKind::kUntilClose && c->queued() == 0 &&
                 !c->closed() && pool_server_ != nullptr;
    if (reuse) {
      c->set_owner(nullptr);
      c->ResumeRead();
      pool_server_->pool.Put(c);
    } else {
      c->Close();
    }
  }
  pool_server_ = nullptr;
  active_ = false;
  stream_->SendEnd(trailers);  // may start the next request in this object: nothing after
}

void ProxyExchange::StartTunnel(size_t head_bytes) {
  KeepResponseHead(head_bytes);
  response_head_done_ = true;
  const int64_t now = services_->now_ns();
  UpstreamRuntime& up = filter_->upstream();
  services_->stats().ObserveLatency(up.config->name,
                                    static_cast<double>(now - attempt_start_ns_) / 1e9);
  EndAttempt(true);
  services_->timers().Cancel(&request_timer_);
  response_started_ = true;
  // The upstream connection now speaks another protocol: it goes with the tunnel, never back to
  // its pool.
  UpstreamLink* link = upstream_;
  upstream_ = nullptr;
  pool_server_ = nullptr;
  active_ = false;
  std::string first;
  first.swap(up_in_);
  stream_->SendUpgrade(response_, link, first);
}

void ProxyExchange::EndAttempt(bool success, bool record_health) {
  if (server_state_ == nullptr) return;
  const int64_t now = services_->now_ns();
  UpstreamRuntime& up = filter_->upstream();
  up.balancer->OnRequestEnd(server_index_, now - attempt_start_ns_, success);
  --server_state_->active;
  if (!success) ++server_state_->failures;
  // The ejection itself is logged by UpstreamHealth::OnEjected, with its back-off.
  if (record_health && server_state_->passive.Record(success, now)) {
    services_->stats().CountError("ejection");
  }
  server_state_ = nullptr;
}

void ProxyExchange::AttemptFailed(std::string_view kind, int status, std::string detail,
                                  bool retryable) {
  services_->stats().CountError(kind);
  LOG_INFO("request %s: %s", stream_->request_id(), detail);
  services_->timers().Cancel(&connect_timer_);
  services_->timers().Cancel(&request_timer_);
  EndAttempt(false);
  CancelUpstream();
  pool_server_ = nullptr;
  if (!active_) return;
  if (retryable && retryable_ && !response_started_ &&
      attempts_ <= filter_->upstream().config->retries) {
    ++services_->stats().retries;
    if (StartAttempt()) {
      stream_->ReadRequestBody();
      if (upstream_ != nullptr) upstream_->Uncork();
      return;
    }
  }
  active_ = false;
  if (response_started_) {
    stream_->Reset();
    return;
  }
  stream_->SendLocal(status, UpstreamFailureMessage(status));
}

// ---- HTTP/2 upstream ----

void ProxyExchange::OnH2Head(const http::HttpResponse& head) {
  response_head_done_ = true;
  FilterStream* stream = stream_;
  stream->BeginOutputBatch();
  OnResponseHead(head);
  stream->EndOutputBatch();
}

void ProxyExchange::OnH2Data(std::string_view data) {
  if (!active_) return;
  stream_->SendData(data);
  if (h2_ != nullptr) {
    RescheduleRequestTimer();
    if (stream_->response_queued() > kHighWater) h2_->PauseRead();
  }
}

void ProxyExchange::OnH2End(const http::HttpHeaders* trailers) {
  h2_ = nullptr;
  if (!active_) return;
  FinishExchange(trailers, 0);
}

void ProxyExchange::OnH2Failed(std::string_view kind, std::string detail, bool unprocessed) {
  h2_ = nullptr;
  if (!active_) return;
  if (!response_head_done_) {
    // Connect failures and refused streams never reached the application: retried like a
    // failed connect. A reset after the server took the request is retried only if idempotent
    // (AttemptFailed checks that too).
    AttemptFailed(kind, 502,
                  absl::StrFormat("upstream \"%s\": %s", filter_->upstream().config->name, detail),
                  unprocessed || kind == "upstream_reset");
    return;
  }
  services_->stats().CountError("upstream_truncated");
  LOG_INFO("request %s: %s; the response broke off", stream_->request_id(), detail);
  Release();
  stream_->Reset();
}

void ProxyExchange::OnH2SendDrained() {
  if (active_) stream_->ReadRequestBody();
}

void ProxyExchange::OnGrpcDeadline() {
  // grpc-timeout has passed: the client's deadline, not the server's failure (passive health
  // ignores it). The client hears DEADLINE_EXCEEDED from gw7 as the spec says a proxy may.
  services_->stats().CountError("grpc_deadline");
  LOG_DEBUG("request %s: grpc-timeout expired", stream_->request_id());
  services_->timers().Cancel(&connect_timer_);
  services_->timers().Cancel(&request_timer_);
  if (server_state_ != nullptr) EndAttempt(true, /*record_health=*/false);
  CancelUpstream();
  pool_server_ = nullptr;
  active_ = false;
  if (!response_started_) {
    stream_->SendLocal(504, "deadline exceeded");  // trailers-only grpc-status 4
    return;
  }
  static const http::HttpHeaders kDeadline = [] {
    http::HttpHeaders t;
    t.Add("grpc-status", "4");
    t.Add("grpc-message", "deadline exceeded");
    return t;
  }();
  stream_->SendEnd(&kDeadline);
}

}  // namespace edge::l7
