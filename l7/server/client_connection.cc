#include "l7/server/client_connection.h"

#include "absl/time/time.h"
#include "common/log.h"
#include "l7/server/gateway_server.h"

namespace edge::l7 {

ClientConnection::ClientConnection(GatewayServer* server, int fd, const net::SocketAddress& peer)
    : server_(server),
      peer_(peer),
      socket_(&server->loop(), this, server->client_buffers(),
              {.single_shot = true, .half_close = true, .send_buffers = server->string_pool()}),
      timer_(&TimerThunk, this),
      send_timer_(&SendTimerThunk, this),
      http1_(server, this, peer_),
      codec_(&http1_) {
  socket_.Adopt(fd);  // its first receive is armed now: a new client has usually sent already
}

ClientConnection::~ClientConnection() {
  codec_->OnConnectionClosed();  // a stream still open ends (its filters' OnEnd)
  GiveBackStreams();
  server_->OnConnectionDestroyed(this);
}

void ClientConnection::Start() {
  const GatewayConfig& config = server_->runtime()->config;
  if (config.proxy_protocol == ProxyProtocolPolicy::kRequired &&
      !net::AnyContains(config.trusted_proxies, peer_)) {
    // Only trusted proxies may connect: nothing this peer sends is read.
    server_->stats().CountError("proxy_untrusted");
    LOG_DEBUG("%s: closed: not in trusted_proxies (proxy_protocol = \"required\")",
              peer_.ToString());
    Close();
    return;
  }
  http1_.Start(config.proxy_protocol != ProxyProtocolPolicy::kOff, server_->draining());
  RestartIdleTimer();
}

void ClientConnection::Refuse() {
  refused_ = true;
  std::string request_id;
  server_->request_ids().AssignNext(&request_id);
  const std::vector<std::pair<std::string, std::string>> retry = {{"Retry-After", "1"}};
  http1_.SendConnectionResponse(503, "too many connections; retry later", request_id, &retry);
  // Reads (and discards: the state is kDone, then kLinger) until the client closes, so that its
  // request does not turn our close into a reset that could destroy the 503 before the client
  // has read it.
}

StreamDecoder* ClientConnection::NewStream(StreamId /*id*/) {
  // A stream is free once its request is over and no suspended filter holds it.
  if (stream_ == nullptr) stream_ = server_->TakeStream(this);
  if (!stream_->active()) return stream_.get();
  for (const std::unique_ptr<RequestStream>& s : more_streams_) {
    if (!s->active()) return s.get();
  }
  more_streams_.push_back(server_->TakeStream(this));
  return more_streams_.back().get();
}

void ClientConnection::GiveBackStreams() {
  // An active stream (a request still running, or held by a suspended filter) stays.
  if (stream_ != nullptr && !stream_->active()) server_->GiveStream(stream_);
  std::erase_if(more_streams_, [this](std::unique_ptr<RequestStream>& s) {
    if (!s->active()) server_->GiveStream(s);
    return s == nullptr;
  });
}

void ClientConnection::StartHttp2(const StreamConnectionInfo& info, std::string input) {
  http2_ = std::make_unique<Http2Codec>(server_, this, info);
  codec_ = http2_.get();
  http2_->Start(input, server_->draining());
}

bool ClientConnection::AnyStreamHeld() const {
  if (stream_ != nullptr && stream_->held()) return true;
  for (const std::unique_ptr<RequestStream>& s : more_streams_) {
    if (s->held()) return true;
  }
  return false;
}

void ClientConnection::OnStreamReleased(RequestStream* /*stream*/) {
  if (state_ != State::kClosed) GiveBackStreams();  // closed: the destructor gives them back
  MaybeDestroy();
}

// ---- I/O ----

bool ClientConnection::WantRead() const {
  switch (state_) {
    case State::kClosed:
      return false;
    case State::kLinger:
    case State::kDone:
      return true;  // read and discard, so that the client never blocks on a full window
    case State::kOpen:
      return codec_->WantsInput();
    case State::kTunnel:
      return tunnel_ != nullptr && tunnel_->queued() < kHighWater;
  }
  return false;
}

void ClientConnection::ReadMore() {
  if (state_ != State::kClosed) UpdateReading();
}

void ClientConnection::UpdateReading() {
  if (WantRead()) {
    socket_.ResumeRead();
  } else {
    socket_.PauseRead();
  }
}

bool ClientConnection::WantsLargeReceive() {
  // Much is due inside a request body or a tunnel, or with a request head begun; otherwise the
  // next bytes are a request head or nothing, and a ring buffer picked on arrival takes them.
  return state_ == State::kTunnel || (state_ == State::kOpen && codec_->ExpectsMuchInput());
}

void ClientConnection::OnSocketRingEmpty() { ++server_->stats().client_buffer_fallbacks; }

void ClientConnection::Write(std::string_view data) {
  if (state_ == State::kClosed || state_ == State::kLinger) return;
  socket_.Cork();  // until the end of the pass
  socket_.Send(data);
  if (batch_depth_ == 0) FlushAtEndOfPass();
}

void ClientConnection::EndBatch() {
  if (--batch_depth_ == 0) FlushAtEndOfPass();
}

void ClientConnection::FlushAtEndOfPass() {
  if (state_ != State::kClosed) server_->loop().RunAtEndOfPass(&flush_task_);
}

void ClientConnection::FlushOut() {
  if (state_ == State::kClosed) return;
  socket_.Uncork();
  if (socket_.queued() != 0 && !send_timer_.armed()) {
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
  codec_->OnConnectionClosed();  // the stream ends: filters' OnEnd, the upstream attempt released
  uring::TimerWheel& timers = server_->loop().timers();
  timers.Cancel(&timer_);
  timers.Cancel(&send_timer_);
  if (tunnel_ != nullptr) {
    tunnel_->Close();
    tunnel_ = nullptr;
  }
  server_->OnConnectionClosed(this);
  socket_.Close();  // last: once the loop has stopped, the release (and our deletion) is at once
}

void ClientConnection::Abort() { Close(); }

void ClientConnection::DestroyAfterLoop() {
  if (tunnel_ != nullptr) {
    tunnel_->Close();
    tunnel_ = nullptr;
  }
  delete this;
}

void ClientConnection::OnSocketReleased() {
  socket_released_ = true;
  MaybeDestroy();
}

void ClientConnection::MaybeDestroy() {
  if (state_ == State::kClosed && socket_released_ && !AnyStreamHeld()) delete this;
}

void ClientConnection::OnSocketData(std::string_view data) {
  // `data` is in a ring buffer or the socket's own; every consumer below copies what it keeps
  // (the codec's input, the tunnel's queue), so a ring buffer goes back to the kernel as soon as
  // they return.
  if (state_ == State::kLinger || state_ == State::kDone) return;  // discarded
  if (state_ == State::kTunnel) {
    TunnelFromClient(data);
  } else {
    // Answers to pipelined requests leave together (see ProxyExchange::OnUpstreamData).
    BeginBatch();
    codec_->OnData(data);
    EndBatch();
  }
  if (state_ != State::kClosed) UpdateReading();
}

void ClientConnection::OnSocketEnd(int error) {
  if (error != 0) {
    Close();
    return;
  }
  // The client shut its write side (the socket stays open for our answer).
  switch (state_) {
    case State::kOpen:
      codec_->OnEof();
      break;
    case State::kLinger:
      Close();
      break;
    case State::kTunnel:
      TunnelClientEof();
      break;
    default:
      break;  // kDone: EnterLinger closes once the last response is out
  }
}

void ClientConnection::OnSocketSent() {
  if (state_ == State::kClosed) return;
  send_progress_ns_ = server_->loop().now_ns();
  const size_t queued = output_queued();
  if (queued == 0) server_->loop().timers().Cancel(&send_timer_);
  if (state_ == State::kTunnel) {
    if (tunnel_ != nullptr && queued <= kLowWater) tunnel_->ResumeRead();
  } else if (state_ == State::kOpen) {
    codec_->OnOutputDrained(queued <= kLowWater);
    if (output_queued() == 0 && state_ == State::kOpen && codec_->Idle()) ReleaseIdleBuffers();
  }
  if (output_queued() == 0 && state_ == State::kDone) EnterLinger();
  if (state_ != State::kClosed) UpdateReading();
}

void ClientConnection::ReleaseIdleBuffers() {
  socket_.ReturnIdleBuffers();
  codec_->ReleaseIdleBuffers();
}

// ---- timers ----

void ClientConnection::RestartIdleTimer() {
  timer_kind_ = TimerKind::kIdle;
  const LimitsConfig& l = server_->runtime()->config.limits;
  server_->loop().timers().Schedule(
      &timer_, server_->loop().now_ns() + absl::ToInt64Nanoseconds(l.idle_timeout));
}

void ClientConnection::OnHeadBegun() {
  if (timer_kind_ == TimerKind::kHeader) return;
  timer_kind_ = TimerKind::kHeader;
  const LimitsConfig& l = server_->runtime()->config.limits;
  server_->loop().timers().Schedule(
      &timer_, server_->loop().now_ns() + absl::ToInt64Nanoseconds(l.header_timeout));
}

void ClientConnection::OnHeadEnded() {
  server_->loop().timers().Cancel(&timer_);
  timer_kind_ = TimerKind::kNone;
}

void ClientConnection::OnIdle() {
  GiveBackStreams();
  RestartIdleTimer();
}

void ClientConnection::OnTimer() {
  switch (timer_kind_) {
    case TimerKind::kHeader:
      server_->stats().CountError("header_timeout");
      http1_.SendConnectionResponse(408, "the request head was not complete within header_timeout",
                                    {}, nullptr);
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

void ClientConnection::OnSendTimeout() {
  if (state_ == State::kClosed || output_queued() == 0) return;
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
            peer_.ToString(), static_cast<int>(output_queued()),
            state_ == State::kDone ? "after the last response" : "mid-exchange");
  Close();
}

// ---- the end of the connection ----

void ClientConnection::CloseAfterFlush() {
  state_ = State::kDone;
  server_->loop().timers().Cancel(&timer_);
  timer_kind_ = TimerKind::kNone;
  if (output_queued() == 0) EnterLinger();
}

void ClientConnection::EnterLinger() {
  if (socket_.peer_ended()) {
    Close();
    return;
  }
  // Our last response is out: shut our side and read until the client closes (bounded), so that
  // unread bytes do not make the kernel answer with a reset that could destroy the response
  // before the client has read it.
  socket_.ShutdownWrite();
  state_ = State::kLinger;
  timer_kind_ = TimerKind::kLinger;
  server_->loop().timers().Schedule(&timer_, server_->loop().now_ns() + 2'000'000'000);
  UpdateReading();
}

void ClientConnection::OnDrain() {
  codec_->Drain();
  if (state_ == State::kOpen && codec_->Idle()) Close();
}

}  // namespace edge::l7
