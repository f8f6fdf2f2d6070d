#include "l7/server/client_connection.h"

#include <liburing.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "common/http/authority.h"
#include "common/http/response_writer.h"
#include "common/log.h"
#include "common/net/proxy_protocol.h"
#include "l7/filters/field_spelling.h"
#include "l7/router/path_normalizer.h"
#include "l7/server/gateway_server.h"
#include "l7/server/http_limits.h"
#include "l7/server/request_id.h"
#include "l7/server/upstream_request.h"

namespace edge::l7 {
namespace {

// http::JsonErrorBody with the request id added, so that a client can quote it and the operator
// find the log line that holds the detail.
std::string ErrorBody(int status, std::string_view message, std::string_view request_id) {
  std::string out = http::JsonErrorBody(status, message);
  constexpr std::string_view kEnd = "}}\n";
  if (request_id.empty() || out.size() < kEnd.size() ||
      std::string_view(out).substr(out.size() - kEnd.size()) != kEnd) {
    return out;
  }
  // IsValidRequestId allows only [A-Za-z0-9._-]: nothing to escape.
  std::string field = R"(,"request_id":")";
  field.append(request_id);
  field.push_back('"');
  out.insert(out.size() - kEnd.size(), field);
  return out;
}

}  // namespace

ClientConnection::ClientConnection(GatewayServer* server, int fd, const net::SocketAddress& peer)
    : server_(server),
      fd_(fd),
      peer_(peer),
      client_(peer),
      timer_(&TimerThunk, this),
      request_timer_(&RequestTimerThunk, this),
      connect_timer_(&ConnectTimerThunk, this),
      send_timer_(&SendTimerThunk, this),
      head_parser_(RequestLimits(server->runtime()->config.limits)),
      chunked_(RequestChunkedLimits(server->runtime()->config.limits)),
      response_parser_(ResponseLimits(server->runtime()->config.limits)),
      response_chunked_(ResponseChunkedLimits()) {}

ClientConnection::~ClientConnection() {
  EndFilters();
  server_->OnConnectionDestroyed(this);
  if (fd_ >= 0) close(fd_);
}

void ClientConnection::Start() {
  const GatewayConfig& config = server_->runtime()->config;
  state_ = config.proxy_protocol != ProxyProtocolPolicy::kOff ? State::kProxyHeader : State::kHead;
  if (config.proxy_protocol == ProxyProtocolPolicy::kRequired && !PeerIsTrustedProxy()) {
    // Only trusted proxies may connect: nothing this peer sends is read.
    server_->stats().CountError("proxy_untrusted");
    LOG_DEBUG("%s: closed: not in trusted_proxies (proxy_protocol = \"required\")",
              peer_.ToString());
    Close();
    return;
  }
  draining_ = server_->draining();
  RestartIdleTimer();
  ArmRecv();
}

void ClientConnection::Refuse() {
  refused_ = true;
  server_->request_ids().AssignNext(&request_id_);
  const std::vector<std::pair<std::string, std::string>> retry = {{"Retry-After", "1"}};
  LocalResponse(503, "too many connections; retry later", true, &retry);
  // Reads (and discards) until the client closes, so that its request does not turn our close
  // into a reset that could destroy the 503 before the client has read it.
  if (state_ != State::kClosed) ArmRecv();
}

std::optional<std::string_view> ClientConnection::header(std::string_view name) const {
  const http::HttpHeader* h = request_.headers.Find(name);
  if (h == nullptr) return std::nullopt;
  return h->value;
}

size_t ClientConnection::header_count(std::string_view name) const {
  size_t n = 0;
  for (const http::HttpHeader& h : request_.headers) n += SameFieldSpelling(h.name, name) ? 1 : 0;
  return n;
}

std::string_view ClientConnection::route_name() const {
  return route_ != nullptr ? std::string_view(route_->config->name) : std::string_view();
}

// ---- I/O ----

bool ClientConnection::WantRead() const {
  switch (state_) {
    case State::kClosed:
    case State::kFilters:
      return false;
    case State::kLinger:
    case State::kDone:
      return true;  // read and discard, so that the client never blocks on a full window
    case State::kProxyHeader:
    case State::kHead:
      return in_.size() < kHighWater;
    case State::kProxy:
      if (!body_complete_) return upstream_ == nullptr || upstream_->queued() < kHighWater;
      return in_.size() < kLowWater && !read_eof_;
    case State::kTunnel:
      return upstream_ != nullptr && upstream_->queued() < kHighWater;
  }
  return false;
}

void ClientConnection::ArmRecv() {
  if (recv_armed_ || read_eof_ || !WantRead()) return;
  io_uring_sqe* sqe = server_->loop().ring().GetSqe();
  // Much is due after a receive that filled its buffer, inside a request body or a tunnel, or
  // with a request head begun; otherwise the next bytes are a request head or nothing.
  const bool large = last_recv_full_ || !in_.empty() || state_ == State::kTunnel ||
                     (state_ == State::kProxy && !body_complete_);
  if (large) {
    if (recv_buffer_ == nullptr) recv_buffer_.reset(new char[kRecvBufferSize]);
    recv_target_ = recv_buffer_.get();
    recv_capacity_ = kRecvBufferSize;
  } else {
    recv_buffer_.reset();  // no receive uses it now: an idle connection does not keep 32 KiB
    recv_target_ = small_recv_buffer_;
    recv_capacity_ = kSmallRecvBufferSize;
  }
  io_uring_prep_recv(sqe, fd_, recv_target_, recv_capacity_, 0);
  // Unless the last receive filled the buffer, the socket is most likely empty now: wait for
  // data before trying, instead of a receive that fails with EAGAIN and then waits.
  if (!last_recv_full_) sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
  io_uring_sqe_set_data64(sqe, uring::UserData(this, kOpRecv));
  recv_armed_ = true;
  ++inflight_;
}

void ClientConnection::Write(std::string_view data) {
  if (state_ == State::kClosed || state_ == State::kLinger) return;
  out_.append(data);
  if (!corked_) FlushOut();
}

void ClientConnection::FlushOut() {
  if (send_armed_ || state_ == State::kClosed) return;
  if (sent_ == sending_.size()) {
    if (out_.empty()) return;
    sending_.clear();
    sending_.swap(out_);
    sent_ = 0;
  }
  io_uring_sqe* sqe = server_->loop().ring().GetSqe();
  io_uring_prep_send(sqe, fd_, sending_.data() + sent_, sending_.size() - sent_, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(sqe, uring::UserData(this, kOpSend));
  send_armed_ = true;
  ++inflight_;
  if (!send_timer_.armed()) {
    const int64_t now = server_->loop().now_ns();
    send_progress_ns_ = now;
    server_->loop().timers().Schedule(
        &send_timer_,
        now + absl::ToInt64Nanoseconds(server_->runtime()->config.limits.send_timeout));
  }
}

void ClientConnection::Close() {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  EndFilters();
  uring::TimerWheel& timers = server_->loop().timers();
  timers.Cancel(&timer_);
  timers.Cancel(&request_timer_);
  timers.Cancel(&connect_timer_);
  timers.Cancel(&send_timer_);
  if (server_state_ != nullptr) EndAttempt(false);
  if (upstream_ != nullptr) {
    upstream_->Close();
    upstream_ = nullptr;
  }
  shutdown(fd_, SHUT_RDWR);
  io_uring_sqe* sqe = server_->loop().ring().GetSqe();
  io_uring_prep_nop(sqe);
  io_uring_sqe_set_data64(sqe, uring::UserData(this, kOpClose));
  ++inflight_;
  server_->OnConnectionClosed(this);
}

void ClientConnection::Abort() { Close(); }

void ClientConnection::DestroyAfterLoop() {
  if (upstream_ != nullptr) {
    upstream_->Close();
    upstream_ = nullptr;
  }
  delete this;
}

void ClientConnection::MaybeDestroy() {
  if (state_ == State::kClosed && close_submitted_ && inflight_ == 0 && !suspended_) delete this;
}

void ClientConnection::OnCompletion(uint8_t op, int32_t res, uint32_t) {
  --inflight_;
  switch (op) {
    case kOpRecv:
      recv_armed_ = false;
      last_recv_full_ = res == static_cast<int32_t>(recv_capacity_);
      if (state_ == State::kClosed) break;
      if (res > 0) {
        if (state_ == State::kLinger || state_ == State::kDone) {
          ArmRecv();  // discarded
          break;
        }
        in_.append(recv_target_, static_cast<size_t>(res));
        corked_ = true;  // answers to pipelined requests leave together (see OnUpstreamData)
        Process();
        corked_ = false;
        FlushOut();
      } else if (res == 0) {
        read_eof_ = true;
        switch (state_) {
          case State::kProxyHeader:
            Close();
            break;
          case State::kHead:
            Process();  // answers what is complete, refuses a partial head, then closes
            break;
          case State::kProxy:
            if (!body_complete_) {
              server_->stats().CountError("client_closed");
              Close();
            }
            break;
          case State::kLinger:
            Close();
            break;
          case State::kTunnel:
            TunnelClientEof();
            break;
          default:
            break;
        }
      } else if (res != -EINTR && res != -EAGAIN) {
        Close();
      }
      if (state_ != State::kClosed) ArmRecv();
      break;
    case kOpSend:
      send_armed_ = false;
      if (state_ == State::kClosed) break;
      if (res < 0) {
        if (res == -EINTR || res == -EAGAIN) {
          FlushOut();
        } else {
          Close();
        }
        break;
      }
      sent_ += static_cast<size_t>(res);
      if (res > 0) send_progress_ns_ = server_->loop().now_ns();
      FlushOut();
      if (out_queued() == 0) server_->loop().timers().Cancel(&send_timer_);
      if (upstream_ != nullptr && out_queued() <= kLowWater) upstream_->ResumeRead();
      if (out_queued() == 0 && state_ == State::kDone) EnterLinger();
      if (state_ == State::kHead && (!in_.empty() || read_eof_)) Process();
      if (state_ != State::kClosed) ArmRecv();
      break;
    case kOpClose:
      close_submitted_ = true;
      break;
  }
  MaybeDestroy();
}

// ---- timers ----

void ClientConnection::RestartIdleTimer() {
  timer_kind_ = TimerKind::kIdle;
  const LimitsConfig& l = server_->runtime()->config.limits;
  server_->loop().timers().Schedule(
      &timer_, server_->loop().now_ns() + absl::ToInt64Nanoseconds(l.idle_timeout));
}

void ClientConnection::OnTimer() {
  switch (timer_kind_) {
    case TimerKind::kHeader:
      server_->stats().CountError("header_timeout");
      LocalResponse(408, "the request head was not complete within header_timeout", true);
      break;
    case TimerKind::kTunnel:
      OnTunnelTimer();
      break;
    case TimerKind::kIdle:
    case TimerKind::kLinger:
    case TimerKind::kNone:
      Close();
      break;
  }
}

void ClientConnection::OnRequestTimeout() {
  if (!response_started_) {
    AttemptFailed("request_timeout", 504,
                  absl::StrFormat("upstream \"%s\" did not respond within request_timeout",
                                  route_->upstream->config->name),
                  false);
  } else {
    server_->stats().CountError("upstream_stalled");
    Close();
  }
}

void ClientConnection::OnConnectTimeout() {
  if (upstream_ == nullptr || upstream_->connected()) return;
  AttemptFailed("connect_timeout", 502,
                absl::StrFormat("connecting to upstream \"%s\" server %s timed out",
                                route_->upstream->config->name, upstream_->server().ToString()),
                true);
}

void ClientConnection::OnSendTimeout() {
  if (state_ == State::kClosed || out_queued() == 0) return;
  const int64_t deadline =
      send_progress_ns_ + absl::ToInt64Nanoseconds(server_->runtime()->config.limits.send_timeout);
  if (server_->loop().now_ns() < deadline) {
    server_->loop().timers().Schedule(&send_timer_, deadline);
    return;
  }
  // The client takes no bytes: it would hold this connection, its queue and (while a response
  // streams) an upstream connection for as long as it likes.
  server_->stats().CountError("send_timeout");
  LOG_DEBUG("%s: no output progress within send_timeout (%d bytes queued, %s); closing",
            peer_.ToString(), static_cast<int>(out_queued()),
            state_ == State::kDone ? "after the last response" : "mid-exchange");
  Close();
}

// ---- requests ----

void ClientConnection::Process() {
  if (in_process_) return;  // the running loop below picks up the new state
  in_process_ = true;
  ProcessLoop();
  in_process_ = false;
}

void ClientConnection::ProcessLoop() {
  for (;;) {
    if (state_ == State::kProxyHeader) {
      ProcessProxyHeader();
      if (state_ == State::kProxyHeader) return;
      continue;
    }
    if (state_ == State::kProxy) {
      FeedRequestBody();
      return;
    }
    if (state_ == State::kTunnel) {
      TunnelFromClient();
      return;
    }
    if (state_ != State::kHead) return;
    // Pipelined requests wait while earlier answers are still queued beyond the high-water mark.
    if (out_queued() > kHighWater) return;
    if (in_.empty()) {
      if (read_eof_) FinishAfterFlush();
      return;
    }
    if (timer_kind_ != TimerKind::kHeader) {
      timer_kind_ = TimerKind::kHeader;
      const LimitsConfig& l = server_->runtime()->config.limits;
      server_->loop().timers().Schedule(
          &timer_, server_->loop().now_ns() + absl::ToInt64Nanoseconds(l.header_timeout));
    }
    http::ParseResult r = head_parser_.Parse(in_, &request_);
    if (r.need_more()) {
      if (read_eof_) {
        server_->stats().CountError("incomplete_head");
        request_.Clear();
        LocalResponse(400, "the connection ended inside a request head", true);
      }
      return;
    }
    if (r.error_status()) {
      server_->stats().CountError(
          r.error.status == 400 ? "bad_request" : absl::StrFormat("http_%d", r.error.status));
      LOG_DEBUG("%s: refused request: %d %s", peer_.ToString(), r.error.status, r.error.reason);
      request_.Clear();
      LocalResponse(r.error.status, r.error.reason, true);
      return;
    }
    StartRequest(r.consumed);
  }
}

bool ClientConnection::PeerIsTrustedProxy() const {
  return net::AnyContains(server_->runtime()->config.trusted_proxies, peer_);
}

void ClientConnection::ProcessProxyHeader() {
  const bool trusted = PeerIsTrustedProxy();
  const bool required = server_->runtime()->config.proxy_protocol == ProxyProtocolPolicy::kRequired;
  net::ProxyDecodeResult r = net::DecodeProxyHeader(in_);
  if (r.status == net::ProxyDecodeStatus::kNotProxy) {
    if (required) {
      RejectConnection(400, "proxy_missing", "no PROXY header from a trusted proxy");
      return;
    }
    state_ = State::kHead;
    return;
  }
  if (!trusted) {
    // A PROXY header (or the start of one) from a peer that may not send one: someone is trying
    // to choose the client address gw7 reports. Refused even when incomplete.
    if (r.status == net::ProxyDecodeStatus::kNeedMore && in_.size() < 6) return;
    RejectConnection(400, "proxy_untrusted", "PROXY header from an untrusted peer");
    return;
  }
  switch (r.status) {
    case net::ProxyDecodeStatus::kNeedMore:
      return;
    case net::ProxyDecodeStatus::kInvalid:
      RejectConnection(400, "proxy_invalid", absl::StrFormat("invalid PROXY header: %s", r.error));
      return;
    default:
      break;
  }
  if (r.header.has_addresses()) client_ = r.header.source;
  if (const net::ProxyTlv* ssl = r.header.FindTlv(net::kPp2TypeSsl)) {
    auto info = net::ParseProxySslTlv(ssl->value);
    tls_ = info.ok() && (info->client & net::kPp2ClientSsl) != 0;
  }
  ++server_->stats().proxy_headers;
  in_.erase(0, r.consumed);
  state_ = State::kHead;
}

void ClientConnection::RejectConnection(int status, std::string_view kind,
                                        std::string_view reason) {
  server_->stats().CountError(kind);
  LOG_INFO("%s: %s", peer_.ToString(), reason);
  LocalResponse(status, reason, true);
}

void ClientConnection::StartRequest(size_t head_bytes) {
  // The views of request_ must outlive in_'s changes: they move with the head's bytes.
  head_.assign(in_, 0, head_bytes);
  request_.Relocate({in_.data(), head_bytes, head_.data()});
  in_.erase(0, head_bytes);
  head_parser_.Reset();
  server_->loop().timers().Cancel(&timer_);
  timer_kind_ = TimerKind::kNone;
  runtime_ = server_->runtime();
  const LimitsConfig& limits = runtime_->config.limits;
  have_request_ = true;
  request_start_ns_ = server_->loop().now_ns();
  state_ = State::kProxy;  // until decided otherwise; the body belongs to this request
  host_.clear();
  http::Authority authority;
  if (!request_.authority.empty() && http::ParseAuthority(request_.authority, &authority)) {
    host_.assign(authority.host);
    for (char& c : host_) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
    if (host_.ends_with('.')) host_.pop_back();  // "example.com." names "example.com"
  }
  std::optional<std::string_view> id = header("x-request-id");
  if (id && IsValidRequestId(*id)) {
    request_id_.assign(*id);
  } else {
    server_->request_ids().AssignNext(&request_id_);
  }
  close_after_response_ = !request_.keep_alive || draining_ || server_->draining();
  switch (request_.body.kind) {
    case http::BodyKind::kContentLength:
      body_left_ = request_.body.length;
      body_complete_ = body_left_ == 0;
      break;
    case http::BodyKind::kChunked:
      chunked_ = http::ChunkedDecoder(RequestChunkedLimits(limits));
      body_complete_ = false;
      break;
    default:
      body_left_ = 0;
      body_complete_ = true;
      break;
  }
  upgrade_ = request_.upgrade && body_complete_;
  if (request_.method == http::Method::kConnect) {
    LocalResponse(501, "CONNECT is not supported", true);
    return;
  }
  // Route on, filter on and forward the path the upstream will act on (path_normalizer.h).
  path_ = request_.path;
  const PathRefusal refusal =
      NormalizePath(request_.path, runtime_->config.path_normalization, &path_buffer_, &path_);
  if (refusal != PathRefusal::kNone) {
    server_->stats().CountError(RefusalKind(refusal));
    LOG_DEBUG("%s: %s: %s", peer_.ToString(), RefusalMessage(refusal), request_.path);
    LocalResponse(400, RefusalMessage(refusal), true);
    return;
  }
  RouteMatch m = runtime_->router->Match(
      host_, path_, request_.method_name,
      [this](std::string_view name) -> std::optional<std::string_view> { return header(name); });
  if (m.outcome == RouteMatch::kCaseMismatch) {
    server_->stats().CountError("case_mismatch");
    LOG_DEBUG("%s: path %s differs only in case from a route with auth", peer_.ToString(), path_);
    LocalResponse(404, "no route for this request", !body_complete_);
    return;
  }
  if (m.outcome == RouteMatch::kNotFound) {
    LocalResponse(404, "no route for this request", !body_complete_);
    return;
  }
  if (m.outcome == RouteMatch::kMethodNotAllowed) {
    std::vector<std::pair<std::string, std::string>> allow = {{"Allow", m.allow}};
    LocalResponse(405, "method not allowed on this route", !body_complete_, &allow);
    return;
  }
  route_ = &runtime_->routes[static_cast<size_t>(m.route_index)];
  upstream_path_ = std::move(m.upstream_path);
  filter_ctx_ = std::make_unique<FilterContext>(*this);
  RunFilters(0);
}

void ClientConnection::RunFilters(size_t from) {
  for (size_t i = from; i < route_->filters.size(); ++i) {
    FilterStatus s = route_->filters[i]->OnRequest(*filter_ctx_, this);
    if (s == FilterStatus::kContinue) continue;
    if (s == FilterStatus::kSuspend) {
      filter_index_ = i + 1;
      suspended_ = true;
      state_ = State::kFilters;
      return;
    }
    server_->stats().CountError(filter_ctx_->error_kind.empty()
                                    ? absl::StrFormat("filter_%s", route_->filters[i]->name())
                                    : std::string(filter_ctx_->error_kind));
    LocalResponse(filter_ctx_->stop_status, "", !body_complete_, &filter_ctx_->response_headers,
                  filter_ctx_->stop_content_type, filter_ctx_->stop_body);
    return;
  }
  StartProxy();
}

void ClientConnection::Resume(FilterStatus status) {
  suspended_ = false;
  if (state_ == State::kClosed) {
    MaybeDestroy();
    return;
  }
  if (state_ != State::kFilters) return;
  state_ = State::kProxy;
  if (status == FilterStatus::kStop) {
    LocalResponse(filter_ctx_->stop_status, "", !body_complete_, &filter_ctx_->response_headers,
                  filter_ctx_->stop_content_type, filter_ctx_->stop_body);
  } else {
    RunFilters(filter_index_);
  }
  if (state_ != State::kClosed) {
    Process();
    if (state_ != State::kClosed) ArmRecv();
  }
}

void ClientConnection::LocalResponse(int status, std::string_view message, bool close,
                                     const std::vector<std::pair<std::string, std::string>>* extra,
                                     std::string_view content_type, std::string_view body) {
  if (state_ == State::kClosed) return;
  server_->loop().timers().Cancel(&timer_);
  timer_kind_ = TimerKind::kNone;
  if (close) close_after_response_ = true;
  // The filters' headers (RateLimit-*) go on gw7's own answers too (502, 503, 504).
  if (extra == nullptr && filter_ctx_ != nullptr) extra = &filter_ctx_->response_headers;
  if (route_ != nullptr && filter_ctx_ != nullptr) {
    for (auto& f : route_->filters) f->OnResponse(*filter_ctx_, status);
  }
  std::string body_text =
      body.empty() ? ErrorBody(status, message, request_id_) : std::string(body);
  std::vector<http::HttpHeader> headers;
  headers.push_back({"Content-Type", content_type});
  if (!request_id_.empty()) headers.push_back({"X-Request-Id", request_id_});
  if (extra != nullptr) {
    for (const auto& [name, value] : *extra) {
      if (IsSafeExtraField(name, value)) headers.push_back({name, value});
    }
  }
  http::ResponseOptions options;
  options.keep_alive = !close_after_response_;
  options.head_request = have_request_ && request_.method == http::Method::kHead;
  options.client_version = have_request_ ? request_.version : http::HttpVersion::kHttp11;
  std::string text;
  if (!http::AppendResponse(status, headers, body_text, options, &text).ok()) {
    close_after_response_ = true;
    text = http::ErrorResponse(500, "a filter produced an invalid response");
  }
  Write(text);
  response_started_ = true;
  ResponseComplete(status);
}

void ClientConnection::ResponseComplete(int status) {
  server_->stats().CountResponse(route_name(), status);
  EndFilters();
  if (close_after_response_) {
    FinishAfterFlush();
    return;
  }
  ResetForNextRequest();
}

void ClientConnection::EndFilters() {
  // A suspended filter still writes into the context when it resumes: the end waits for that.
  if (filter_ctx_ == nullptr || suspended_) return;
  if (route_ != nullptr) {
    for (auto& f : route_->filters) f->OnEnd(*filter_ctx_);
  }
  filter_ctx_.reset();
}

void ClientConnection::FinishAfterFlush() {
  state_ = State::kDone;
  server_->loop().timers().Cancel(&timer_);
  timer_kind_ = TimerKind::kNone;
  if (out_queued() == 0) EnterLinger();
}

void ClientConnection::EnterLinger() {
  if (read_eof_) {
    Close();
    return;
  }
  // Our last response is out: shut our side and read until the client closes (bounded), so that
  // unread bytes do not make the kernel answer with a reset that could destroy the response
  // before the client has read it.
  shutdown(fd_, SHUT_WR);
  state_ = State::kLinger;
  timer_kind_ = TimerKind::kLinger;
  server_->loop().timers().Schedule(&timer_, server_->loop().now_ns() + 2'000'000'000);
  ArmRecv();
}

void ClientConnection::ResetForNextRequest() {
  state_ = State::kHead;
  route_ = nullptr;
  filter_ctx_.reset();
  have_request_ = false;
  request_id_.clear();
  response_started_ = false;
  response_head_done_ = false;
  continue_sent_ = false;
  up_in_.clear();
  RestartIdleTimer();
  Process();  // pipelined requests (a no-op when called from inside Process)
  if (state_ != State::kClosed) ArmRecv();
}

void ClientConnection::OnDrain() {
  draining_ = true;
  if ((state_ == State::kHead || state_ == State::kProxyHeader) && in_.empty() &&
      out_queued() == 0) {
    Close();
  }
}

}  // namespace edge::l7
