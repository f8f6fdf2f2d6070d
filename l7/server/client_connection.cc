#include "l7/server/client_connection.h"

#include <liburing.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "absl/time/time.h"
#include "common/log.h"
#include "l7/server/gateway_server.h"

namespace edge::l7 {

ClientConnection::ClientConnection(GatewayServer* server, int fd, const net::SocketAddress& peer)
    : server_(server),
      peer_(peer),
      fd_(fd),
      timer_(&TimerThunk, this),
      send_timer_(&SendTimerThunk, this),
      http1_(server, this, peer_),
      codec_(&http1_) {}

ClientConnection::~ClientConnection() {
  codec_->OnConnectionClosed();  // a stream still open ends (its filters' OnEnd)
  GiveBackStreams();
  server_->OnConnectionDestroyed(this);
  if (fd_ >= 0) close(fd_);
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
  ArmRecv();
}

void ClientConnection::Refuse() {
  refused_ = true;
  std::string request_id;
  server_->request_ids().AssignNext(&request_id);
  const std::vector<std::pair<std::string, std::string>> retry = {{"Retry-After", "1"}};
  http1_.SendConnectionResponse(503, "too many connections; retry later", request_id, &retry);
  // Reads (and discards) until the client closes, so that its request does not turn our close
  // into a reset that could destroy the 503 before the client has read it.
  if (state_ != State::kClosed) ArmRecv();
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
  if (state_ != State::kClosed) ArmRecv();
}

void ClientConnection::ArmRecv() {
  if (recv_armed_ || read_eof_ || !WantRead()) return;
  io_uring_sqe* sqe = server_->loop().ring().GetSqe();
  // Much is due after a receive that filled its buffer, inside a request body or a tunnel, or
  // with a request head begun; otherwise the next bytes are a request head or nothing, and the
  // kernel picks a buffer from the loop's ring only once they arrive. Without a ring, or when it
  // was empty (-ENOBUFS), the connection's own buffer takes them.
  uring::ProvidedBufferRing* ring = server_->client_buffers();
  const bool large = last_recv_full_ || state_ == State::kTunnel ||
                     (state_ == State::kOpen && codec_->ExpectsMuchInput());
  if (large || ring == nullptr || ring_empty_) {
    if (recv_buffer_ == nullptr) recv_buffer_.reset(new char[kRecvBufferSize]);
    io_uring_prep_recv(sqe, fd_, recv_buffer_.get(), kRecvBufferSize, 0);
    recv_capacity_ = kRecvBufferSize;
  } else {
    recv_buffer_.reset();  // no receive uses it now: an idle connection does not keep 32 KiB
    io_uring_prep_recv(sqe, fd_, nullptr, ring->buffer_size(), 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = static_cast<uint16_t>(ring->group_id());
    recv_capacity_ = ring->buffer_size();
  }
  ring_empty_ = false;
  // Unless the last receive filled the buffer, the socket is most likely empty now: wait for
  // data before trying, instead of a receive that fails with EAGAIN and then waits. A new
  // client's request is usually there already: its first receive tries at once (into a ring
  // buffer like any head, so that accepting costs no 32 KiB buffer).
  if (!last_recv_full_ && !first_recv_) sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
  first_recv_ = false;
  io_uring_sqe_set_data64(sqe, uring::UserData(this, kOpRecv));
  recv_armed_ = true;
  ++inflight_;
}

void ClientConnection::Write(std::string_view data) {
  if (state_ == State::kClosed || state_ == State::kLinger) return;
  server_->string_pool()->Lend(&out_);
  out_.append(data);
  if (batch_depth_ == 0) FlushAtEndOfPass();
}

void ClientConnection::EndBatch() {
  if (--batch_depth_ == 0) FlushAtEndOfPass();
}

void ClientConnection::FlushAtEndOfPass() {
  if (!send_armed_ && state_ != State::kClosed) server_->loop().RunAtEndOfPass(&flush_task_);
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
  codec_->OnConnectionClosed();  // the stream ends: filters' OnEnd, the upstream attempt released
  uring::TimerWheel& timers = server_->loop().timers();
  timers.Cancel(&timer_);
  timers.Cancel(&send_timer_);
  if (tunnel_ != nullptr) {
    tunnel_->Close();
    tunnel_ = nullptr;
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
  if (tunnel_ != nullptr) {
    tunnel_->Close();
    tunnel_ = nullptr;
  }
  delete this;
}

void ClientConnection::MaybeDestroy() {
  if (state_ == State::kClosed && close_submitted_ && inflight_ == 0 && !AnyStreamHeld()) {
    delete this;
  }
}

void ClientConnection::OnReceived(const char* buffer, int32_t res) {
  if (res > 0) {
    const std::string_view data(buffer, static_cast<size_t>(res));
    if (state_ == State::kLinger || state_ == State::kDone) {
      ArmRecv();  // discarded
      return;
    }
    if (state_ == State::kTunnel) {
      TunnelFromClient(data);
    } else {
      // Answers to pipelined requests leave together (see ProxyExchange::OnUpstreamData).
      BeginBatch();
      codec_->OnData(data);
      EndBatch();
    }
  } else if (res == 0) {
    read_eof_ = true;
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
        break;
    }
  } else if (res != -EINTR && res != -EAGAIN) {
    Close();
  }
  if (state_ != State::kClosed) ArmRecv();
}

void ClientConnection::OnCompletion(uint8_t op, int32_t res, uint32_t flags) {
  --inflight_;
  switch (op) {
    case kOpRecv: {
      recv_armed_ = false;
      // The bytes are in a ring buffer (flags say which) or in recv_buffer_. Every consumer
      // below copies what it keeps (the codec's input, the tunnel's queue), so a ring buffer
      // goes back to the kernel as soon as they return.
      uring::ProvidedBufferRing* ring = nullptr;
      uint16_t bid = 0;
      if ((flags & IORING_CQE_F_BUFFER) != 0) {
        ring = server_->client_buffers();
        bid = static_cast<uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT);
        ring->Taken();
      }
      last_recv_full_ = res == static_cast<int32_t>(recv_capacity_);
      if (res == -ENOBUFS) {
        // The ring is empty: not an error, the next receive uses the connection's own buffer.
        ring_empty_ = true;
        ++server_->stats().client_buffer_fallbacks;
        if (state_ != State::kClosed) ArmRecv();
        break;
      }
      if (state_ != State::kClosed)
        OnReceived(ring != nullptr ? ring->Data(bid) : recv_buffer_.get(), res);
      if (ring != nullptr) ring->Recycle(bid);
      break;
    }
    case kOpSend:
      send_armed_ = false;
      if (state_ == State::kClosed) break;
      if (res < 0) {
        if (res == -EINTR || res == -EAGAIN) {
          FlushAtEndOfPass();
        } else {
          Close();
        }
        break;
      }
      sent_ += static_cast<size_t>(res);
      if (res > 0) send_progress_ns_ = server_->loop().now_ns();
      FlushAtEndOfPass();
      if (output_queued() == 0) server_->loop().timers().Cancel(&send_timer_);
      if (state_ == State::kTunnel) {
        if (tunnel_ != nullptr && output_queued() <= kLowWater) tunnel_->ResumeRead();
      } else if (state_ == State::kOpen) {
        codec_->OnOutputDrained(output_queued() <= kLowWater);
        if (output_queued() == 0 && state_ == State::kOpen && codec_->Idle()) ReleaseIdleBuffers();
      }
      if (output_queued() == 0 && state_ == State::kDone) EnterLinger();
      if (state_ != State::kClosed) ArmRecv();
      break;
    case kOpClose:
      close_submitted_ = true;
      break;
  }
  MaybeDestroy();
}

void ClientConnection::ReleaseIdleBuffers() {
  StringPool* pool = server_->string_pool();
  pool->Return(&out_);
  pool->Return(&sending_);
  sent_ = 0;
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

void ClientConnection::OnDrain() {
  codec_->Drain();
  if (state_ == State::kOpen && codec_->Idle()) Close();
}

}  // namespace edge::l7
