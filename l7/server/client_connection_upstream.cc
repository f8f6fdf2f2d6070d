// ClientConnection, upstream side: choosing a server, sending the request (head and body) to it,
// reading its response and forwarding it, retries and failures. The client side (reading and
// parsing requests, filters, local answers, keep-alive) is in client_connection.cc.
#include <liburing.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "common/http/authority.h"
#include "common/http/hop_by_hop.h"
#include "common/http/response_writer.h"
#include "common/log.h"
#include "common/net/proxy_protocol.h"
#include "l7/server/client_connection.h"
#include "l7/server/gateway_server.h"
#include "l7/server/http_limits.h"
#include "l7/server/request_id.h"
#include "l7/server/upstream_request.h"

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

void ClientConnection::StartProxy() {
  state_ = State::kProxy;
  UpstreamRuntime* up = route_->upstream;
  tried_.assign(up->servers.size(), false);
  attempts_ = 0;
  retryable_ = http::IsIdempotent(request_.method) && up->config->retries > 0;
  retry_copy_.clear();
  UpstreamRequestOptions options;
  options.path = upstream_path_;
  options.client = &client_;
  options.proto = tls_ ? "https" : "http";
  options.request_id = request_id_;
  options.default_host = up->servers[0]->key;
  options.remove_headers = &filter_ctx_->upstream_remove_headers;
  options.add_headers = &filter_ctx_->upstream_add_headers;
  options.route_headers = &route_->config->add_request_headers;
  options.body = request_.body;
  const RouteConfig& route = *route_->config;
  // An Upgrade offering only h2c is no upgrade at all where h2c is not allowed.
  if (upgrade_ && !route.allow_h2c_upgrade && !OffersUpgradeOtherThanH2c(request_.headers)) {
    upgrade_ = false;
  }
  options.upgrade = upgrade_;
  if (http::ConnectionNamesFraming(request_.headers)) {
    // Ignored (hop_by_hop.h): Content-Length and Host go upstream as they came.
    server_->stats().CountError("connection_names_framing");
    LOG_DEBUG("request %s: Connection names a framing field or Host; ignored", request_id_);
  }
  options.allow_h2c = route.allow_h2c_upgrade;
  if (filter_ctx_->upstream_query) options.query = &*filter_ctx_->upstream_query;
  options.strip = &runtime_->stripped_fields;
  options.trusted_client = net::AnyContains(runtime_->config.trusted_proxies, client_);
  UpstreamHeadReport report = AppendUpstreamRequestHead(request_, options, &retry_copy_);
  server_->stats().stripped_headers += report.stripped;
  if (report.forwarded_dropped) {
    server_->stats().CountError("bad_forwarded");
    LOG_DEBUG("request %s: dropped a Forwarded field that is not RFC 7239 from trusted %s",
              request_id_, client_.ToString());
  }
  if (request_.expect_continue && !body_complete_ && in_.empty()) {
    Write(http::kContinueResponse);
    continue_sent_ = true;
  }
  if (!StartAttempt()) {
    server_->stats().CountError("no_healthy_server");
    LOG_DEBUG("request %s: no healthy server in upstream \"%s\"", request_id_, up->config->name);
    LocalResponse(503, UpstreamFailureMessage(503), !body_complete_);
    return;
  }
  FeedRequestBody();
  if (upstream_ != nullptr) upstream_->Uncork();
}

bool ClientConnection::StartAttempt() {
  UpstreamRuntime* up = route_->upstream;
  const int64_t now = server_->loop().now_ns();
  excluded_.resize(up->servers.size());
  for (size_t i = 0; i < up->servers.size(); ++i) {
    excluded_[i] = tried_[i] || !up->servers[i]->Available(now);
  }
  std::string key;
  if (up->config->balance == UpstreamBalance::kMaglev) key = BalanceKey(*up->config, *this);
  int index = up->balancer->Pick(key, excluded_);
  if (index < 0 || static_cast<size_t>(index) >= up->servers.size()) return false;
  ++attempts_;
  tried_[static_cast<size_t>(index)] = true;
  server_index_ = index;
  server_state_ = up->servers[static_cast<size_t>(index)].get();
  pool_server_ = server_state_;
  up->balancer->OnRequestStart(index);
  ++server_state_->active;
  ++server_state_->requests;
  attempt_start_ns_ = now;
  up_in_.clear();
  response_parser_.Reset();
  response_head_done_ = false;

  uring::TimerWheel& timers = server_->loop().timers();
  timers.Schedule(&request_timer_, now + absl::ToInt64Nanoseconds(up->config->request_timeout));
  if (IdleConnection* idle = server_state_->pool.Take()) {
    upstream_ = static_cast<UpstreamConnection*>(idle);
    upstream_->set_owner(this);
  } else {
    auto c = UpstreamConnection::Connect(&server_->loop(), server_state_->address, this);
    if (!c.ok()) {
      AttemptFailed("connect_failed", 502,
                    absl::StrFormat("cannot connect to upstream \"%s\": %s", up->config->name,
                                    c.status().message()),
                    true);
      return true;  // answered (or retried) by AttemptFailed
    }
    upstream_ = *c;
    timers.Schedule(&connect_timer_, now + absl::ToInt64Nanoseconds(up->config->connect_timeout));
  }
  upstream_->CountRequest();
  upstream_->Cork();  // the callers add what they have of the body, then uncork
  upstream_->Send(retry_copy_);
  return true;
}

void ClientConnection::SendBody(std::string_view data, bool last) {
  std::string framed;
  std::string_view bytes = data;
  if (request_.body.kind == http::BodyKind::kChunked) {
    if (!data.empty()) AppendChunk(data, &framed);
    if (last) {
      server_->stats().stripped_headers += AppendUpstreamLastChunk(
          chunked_.trailers(), request_.headers, &framed, &runtime_->stripped_fields);
    }
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

void ClientConnection::FeedRequestBody() {
  while (!body_complete_ && !in_.empty() && state_ == State::kProxy) {
    if (request_.body.kind == http::BodyKind::kContentLength) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(body_left_, in_.size()));
      body_left_ -= n;
      body_complete_ = body_left_ == 0;
      SendBody(std::string_view(in_).substr(0, n), body_complete_);
      in_.erase(0, n);
      continue;
    }
    http::ChunkedResult r = chunked_.Decode(in_);
    switch (r.status) {
      case http::ChunkedStatus::kData:
        SendBody(r.data, false);
        in_.erase(0, r.consumed);
        break;
      case http::ChunkedStatus::kNeedMore:
        in_.erase(0, r.consumed);
        return;
      case http::ChunkedStatus::kDone:
        body_complete_ = true;
        SendBody({}, true);  // the trailers point into in_: send before erasing
        in_.erase(0, r.consumed);
        break;
      case http::ChunkedStatus::kError:
        server_->stats().CountError("bad_request_body");
        if (server_state_ != nullptr) EndAttempt(true);
        if (upstream_ != nullptr) {
          upstream_->Close();
          upstream_ = nullptr;
        }
        server_->loop().timers().Cancel(&request_timer_);
        server_->loop().timers().Cancel(&connect_timer_);
        if (!response_started_) {
          LocalResponse(r.error.status, r.error.reason, true);
        } else {
          Close();
        }
        return;
    }
  }
}

void ClientConnection::OnUpstreamConnected(UpstreamConnection* c, int error) {
  if (c != upstream_) return;
  server_->loop().timers().Cancel(&connect_timer_);
  if (error != 0) {
    upstream_ = nullptr;  // it closed itself
    AttemptFailed(
        "connect_failed", 502,
        absl::StrFormat("connecting to upstream \"%s\" server %s failed: %s",
                        route_->upstream->config->name, c->server().ToString(), ErrnoText(error)),
        true);
  }
}

void ClientConnection::OnUpstreamData(UpstreamConnection* c, std::string_view data) {
  if (c != upstream_) return;
  // One send for everything this data produces (typically a response head and its body),
  // instead of one for the head and one more after its completion.
  corked_ = true;
  if (state_ == State::kTunnel) {
    TunnelToClient(data);
  } else {
    up_in_.append(data);
    ProcessUpstream();
  }
  corked_ = false;
  FlushOut();
}

void ClientConnection::OnUpstreamSendDrained(UpstreamConnection* c) {
  if (c != upstream_) return;
  if (!in_.empty()) FeedRequestBody();
  if (state_ != State::kClosed) ArmRecv();
}

void ClientConnection::OnUpstreamClosed(UpstreamConnection* c, int error) {
  if (c != upstream_) return;
  upstream_ = nullptr;
  if (state_ == State::kTunnel) {
    TunnelUpstreamClosed(error);
    return;
  }
  if (!response_head_done_) {
    AttemptFailed(
        error == 0 ? "upstream_closed" : "upstream_reset", 502,
        absl::StrFormat("upstream \"%s\" server %s closed the connection before "
                        "responding (%s)",
                        route_->upstream->config->name, c->server().ToString(), ErrnoText(error)),
        true);
    return;
  }
  if (response_.body.kind == http::BodyKind::kUntilClose && error == 0) {
    if (client_framing_ == ClientFraming::kChunked) Write(kLastChunk);
    FinishExchange();
    return;
  }
  server_->stats().CountError("upstream_truncated");
  LOG_INFO("upstream %s ended a response early (%s); closing the client connection",
           c->server().ToString(), ErrnoText(error));
  Close();
}

void ClientConnection::ProcessUpstream() {
  while (!response_head_done_) {
    http::ParseResult r = response_parser_.Parse(up_in_, request_.method, &response_);
    if (r.need_more()) return;
    if (r.error_status()) {
      AttemptFailed("bad_response", 502,
                    absl::StrFormat("upstream \"%s\" sent an invalid response: %s",
                                    route_->upstream->config->name, r.error.reason),
                    false);
      return;
    }
    if (response_.status == 101) {
      if (upgrade_ && response_.headers.Find("upgrade") != nullptr) {
        StartTunnel(r.consumed);
        return;
      }
      const std::string& name = route_->upstream->config->name;
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
    OnResponseHead();
    if (state_ == State::kClosed) return;
  }
  ForwardResponseBody();
}

void ClientConnection::KeepResponseHead(size_t head_bytes) {
  // response_ must outlive up_in_'s changes: its views move with the head's bytes.
  response_head_bytes_.assign(up_in_, 0, head_bytes);
  response_.Relocate({up_in_.data(), head_bytes, response_head_bytes_.data()});
  up_in_.erase(0, head_bytes);
}

void ClientConnection::OnResponseHead() {
  response_head_done_ = true;
  response_status_ = response_.status;
  const int64_t now = server_->loop().now_ns();
  UpstreamRuntime* up = route_->upstream;
  server_->stats().ObserveLatency(up->config->name,
                                  static_cast<double>(now - attempt_start_ns_) / 1e9);
  // Only gateway-class answers count against the server; a 500 is the application's verdict.
  EndAttempt(response_.status != 502 && response_.status != 503 && response_.status != 504);
  server_->loop().timers().Schedule(&request_timer_,
                                    now + absl::ToInt64Nanoseconds(up->config->request_timeout));
  for (auto& f : route_->filters) f->OnResponse(*filter_ctx_, response_.status);
  if (http::ConnectionNamesFraming(response_.headers)) {
    // Ignored (hop_by_hop.h): the relayed response keeps its framing.
    server_->stats().CountError("connection_names_framing");
    LOG_DEBUG("request %s: upstream %s named a framing field in Connection; ignored", request_id_,
              upstream_ != nullptr ? upstream_->server().ToString() : "?");
  }
  client_framing_ = ChooseClientFraming(response_, request_.version);
  if (!body_complete_ || draining_ || server_->draining() ||
      client_framing_ == ClientFraming::kUntilClose) {
    close_after_response_ = true;
  }
  ClientResponseOptions options;
  options.framing = client_framing_;
  options.keep_alive = !close_after_response_;
  options.client_version = request_.version;
  options.request_id = request_id_;
  options.extra_headers = &filter_ctx_->response_headers;
  std::string head;
  AppendClientResponseHead(response_, options, &head);
  Write(head);
  response_started_ = true;
  response_left_ =
      response_.body.kind == http::BodyKind::kContentLength ? response_.body.length : 0;
  response_chunked_.Reset();
}

void ClientConnection::ForwardResponseBody() {
  auto write_body = [this](std::string_view data) {
    if (data.empty()) return;
    if (client_framing_ == ClientFraming::kChunked) {
      std::string framed;
      AppendChunk(data, &framed);
      Write(framed);
    } else {
      Write(data);
    }
  };
  bool done = false;
  switch (response_.body.kind) {
    case http::BodyKind::kNone:
      done = true;
      break;
    case http::BodyKind::kContentLength: {
      size_t n = static_cast<size_t>(std::min<uint64_t>(response_left_, up_in_.size()));
      write_body(std::string_view(up_in_).substr(0, n));
      up_in_.erase(0, n);
      response_left_ -= n;
      done = response_left_ == 0;
      break;
    }
    case http::BodyKind::kChunked:
      while (!done) {
        http::ChunkedResult r = response_chunked_.Decode(up_in_);
        if (r.status == http::ChunkedStatus::kData) {
          write_body(r.data);
          up_in_.erase(0, r.consumed);
        } else if (r.status == http::ChunkedStatus::kNeedMore) {
          up_in_.erase(0, r.consumed);
          break;
        } else if (r.status == http::ChunkedStatus::kDone) {
          if (client_framing_ == ClientFraming::kChunked) {
            // The trailers point into up_in_: write them before erasing.
            std::string last;
            AppendClientLastChunk(response_chunked_.trailers(), response_.headers, &last);
            Write(last);
          }
          up_in_.erase(0, r.consumed);
          done = true;
        } else {
          server_->stats().CountError("bad_response_body");
          LOG_INFO("upstream %s: invalid chunked body: %s; closing the client connection",
                   upstream_ != nullptr ? upstream_->server().ToString() : "?", r.error.reason);
          Close();
          return;
        }
      }
      break;
    case http::BodyKind::kUntilClose:
      write_body(up_in_);
      up_in_.clear();
      break;
  }
  if (done) {
    FinishExchange();
    return;
  }
  if (upstream_ != nullptr) {
    server_->loop().timers().Schedule(
        &request_timer_, server_->loop().now_ns() +
                             absl::ToInt64Nanoseconds(route_->upstream->config->request_timeout));
    if (out_queued() > kHighWater) upstream_->PauseRead();
  }
}

void ClientConnection::FinishExchange() {
  server_->loop().timers().Cancel(&request_timer_);
  server_->loop().timers().Cancel(&connect_timer_);
  if (upstream_ != nullptr) {
    UpstreamConnection* c = upstream_;
    upstream_ = nullptr;
    bool reuse = response_.keep_alive && body_complete_ && up_in_.empty() &&
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
  ResponseComplete(response_status_);
}

void ClientConnection::EndAttempt(bool success) {
  if (server_state_ == nullptr) return;
  const int64_t now = server_->loop().now_ns();
  UpstreamRuntime* up = route_->upstream;
  up->balancer->OnRequestEnd(server_index_, now - attempt_start_ns_, success);
  --server_state_->active;
  if (!success) ++server_state_->failures;
  if (server_state_->passive.Record(success, now)) {
    server_->stats().CountError("ejection");
    LOG_WARN("upstream \"%s\" server %s ejected for %s after %d consecutive failures",
             up->config->name, server_state_->key, absl::FormatDuration(up->config->ejection_time),
             up->config->passive_failures);
  }
  server_state_ = nullptr;
}

void ClientConnection::AttemptFailed(std::string_view kind, int status, std::string detail,
                                     bool retryable) {
  server_->stats().CountError(kind);
  LOG_INFO("request %s: %s", request_id_, detail);
  server_->loop().timers().Cancel(&connect_timer_);
  server_->loop().timers().Cancel(&request_timer_);
  EndAttempt(false);
  if (upstream_ != nullptr) {
    upstream_->Close();
    upstream_ = nullptr;
  }
  pool_server_ = nullptr;
  if (state_ == State::kClosed) return;
  if (retryable && retryable_ && !response_started_ &&
      attempts_ <= route_->upstream->config->retries) {
    ++server_->stats().retries;
    if (StartAttempt()) {
      FeedRequestBody();
      if (upstream_ != nullptr) upstream_->Uncork();
      return;
    }
  }
  if (response_started_) {
    Close();
    return;
  }
  LocalResponse(status, UpstreamFailureMessage(status), !body_complete_);
}

}  // namespace edge::l7
