#include "l4/relay/relay_connection.h"

#include <liburing.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "common/net/proxy_protocol.h"
#include "common/net/socket.h"
#include "common/uring/buffer_ring.h"
#include "common/uring/compat.h"
#include "common/uring/event_loop.h"
#include "l4/connection_log.h"
#include "l4/connection_sockets.h"
#include "l4/relay/relay_tls.h"
#include "l4/runtime.h"
#include "l4/worker.h"

namespace edge::l4 {

namespace {
constexpr int Other(int side) { return side ^ 1; }
}  // namespace

RelayConnection::RelayConnection(Worker* worker)
    : worker_(worker), timer_(&TimerThunk, this), connector_(worker, this, kConnect, &timer_) {}

RelayConnection::~RelayConnection() = default;

void RelayConnection::Start(int client_fd, std::shared_ptr<const ListenerRuntime> listener,
                            const net::SocketAddress* peer) {
  listener_ = std::move(listener);
  fd_[kClient] = client_fd;
  fd_[kBackend] = -1;
  pending_ops_ = 0;
  for (Flow& f : flow_) f.Reset();
  proxy_header_.clear();
  bytes_[kClient] = bytes_[kBackend] = 0;
  close_reason_ = nullptr;
  first_fin_ = -1;
  sni_.clear();
  net::SetNoDelay(client_fd);
  if (peer != nullptr) {
    client_address_ = *peer;
  } else if (listener_->needs_client_address) {
    client_address_ = net::PeerAddress(client_fd);
  }
  last_activity_ns_ = start_ns_ = worker_->loop().now_ns();
  pool_ = listener_->pool.get();
  connector_.Reset(pool_, &client_address_);
  switch (listener_->config.mode) {
    case ListenerMode::kTlsPassthrough:
      StartSniff();
      return;
    case ListenerMode::kTls:
      StartClientTls();
      return;
    case ListenerMode::kTcp:
      break;
  }
  Connect();
}

// Picks a backend (skipping those this connection already failed on) and starts connecting.
void RelayConnection::Connect() {
  state_ = State::kConnecting;
  BackendConnector::Outcome outcome = connector_.Connect();
  fd_[kBackend] = connector_.fd();
  if (outcome == BackendConnector::Outcome::kFailed) {
    ConnectFailed();
    return;
  }
  ++pending_ops_;
}

void RelayConnection::OnConnect(int32_t res) {
  --pending_ops_;
  if (state_ == State::kClosing) {
    MaybeFinish();
    return;
  }
  BackendConnector::Outcome outcome = connector_.OnConnect(res);
  fd_[kBackend] = connector_.fd();
  if (outcome == BackendConnector::Outcome::kFailed) {
    ConnectFailed();
    return;
  }
  if (outcome == BackendConnector::Outcome::kConnecting) {
    ++pending_ops_;
    return;
  }
  backend_ = connector_.backend();
  QueueProxyHeader();
  if (pool_->tls != nullptr) {  // the PROXY header goes first, in clear (as HAProxy sends it)
    StartBackendTls();
    return;
  }
  StartRelay();
}

// The PROXY header goes before any byte of the client's: v2 with what the client's handshake
// negotiated, if the client spoke TLS to lb4.
void RelayConnection::QueueProxyHeader() {
  const ProxyProtocolMode mode = listener_->config.proxy_protocol;
  if (mode == ProxyProtocolMode::kOff) return;
  net::SocketAddress local = net::LocalAddress(fd_[kClient]);
  SSL* ssl = tls_ != nullptr ? tls_->transport[kClient].ssl() : nullptr;
  if (mode == ProxyProtocolMode::kV1) {
    proxy_header_ = net::EncodeProxyV1(client_address_, local);
  } else if (ssl != nullptr) {
    proxy_header_ = EncodeProxyV2WithTls(ssl, client_address_, local);
  } else {
    proxy_header_ = net::EncodeProxyV2(client_address_, local);
  }
  flow_[kClient].queue.push_back(Chunk{
      proxy_header_.data(), static_cast<uint32_t>(proxy_header_.size()), kHeaderChunk, nullptr});
}

void RelayConnection::StartRelay() {
  state_ = State::kRelaying;
  last_activity_ns_ = worker_->loop().now_ns();
  worker_->loop().timers().Schedule(&timer_, last_activity_ns_ + listener_->idle_timeout_ns);
  if (tls_ != nullptr) {
    StartTlsRelay();
    return;
  }
  if (hello_ != nullptr) {  // passthrough: the ClientHello (and anything after it) goes first
    flow_[kClient].queue.push_back(
        Chunk{hello_->bytes.data(), static_cast<uint32_t>(hello_->size), kHelloChunk, nullptr});
  }
  if (flow_[kClient].pending() > 0) TrySend(kClient);
  ArmRecv(kClient);
  ArmRecv(kBackend);
}

void RelayConnection::ArmRecv(int side) {
  Flow& flow = flow_[side];
  io_uring_sqe* sqe = worker_->loop().ring().GetSqe();
  if (flow.pending() == 0 && state_ == State::kRelaying) {
    // Capped at the high-water mark: a socket that already holds a lot (a slow reader's
    // backend has filled it) cannot drain into the ring before the backpressure cancel lands.
    flow.recv_capped = uring::RecvCapSupported();
    uring::PrepRecvMultishotCapped(
        sqe, fd_[side], static_cast<unsigned>(kHighWaterChunks * worker_->buffers().buffer_size()));
  } else {
    flow.recv_capped = false;
    // A handshake: one record at a time. Else the other side is behind: one buffer per recv, so
    // this flow takes no more ring buffers than the high-water mark while the backlog lasts (a
    // multishot recv would drain the socket's whole receive queue into the ring before a cancel
    // could land).
    io_uring_prep_recv(sqe, fd_[side], nullptr, worker_->buffers().buffer_size(), 0);
  }
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = static_cast<__u16>(worker_->buffers().group_id());
  io_uring_sqe_set_data64(sqe, uring::UserData(this, static_cast<uint8_t>(kRecvClient + side)));
  ++pending_ops_;
  flow.recv_armed = true;
  flow.recv_cancelled = false;
}

void RelayConnection::MaybeArmRecv(int side) {
  Flow& flow = flow_[side];
  if (flow.recv_armed || flow.eof) return;
  if (state_ != State::kRelaying) {
    // A handshake reads only the side it is with; nothing else is read before the relay.
    if ((state_ == State::kHandshaking && side == kClient) ||
        (state_ == State::kBackendHandshaking && side == kBackend)) {
      ArmRecv(side);
    }
    return;
  }
  if (flow.splice) {  // the buffered bytes are out: the pipe takes over
    if (!flow.sending && flow.pending() == 0) Pump(side);
    return;
  }
  if (flow.pending() >= kHighWaterChunks) return;
  ArmRecv(side);
}

void RelayConnection::CancelRecv(int side) {
  Flow& flow = flow_[side];
  io_uring_sqe* sqe = worker_->loop().ring().GetSqe();
  io_uring_prep_cancel64(sqe, uring::UserData(this, static_cast<uint8_t>(kRecvClient + side)), 0);
  io_uring_sqe_set_data64(sqe, uring::kIgnoredUserData);
  flow.recv_cancelled = true;
}

void RelayConnection::CountReceived(int side, uint64_t n) {
  last_activity_ns_ = worker_->loop().now_ns();
  (side == kClient ? worker_->stats().bytes_from_clients : worker_->stats().bytes_from_backends)
      .Add(n);
  bytes_[side] += n;
}

// One plain recv into a buffer of this flow's own, used when the provided ring is empty.
void RelayConnection::ArmFallbackRecv(int side) {
  Flow& flow = flow_[side];
  uint32_t size = worker_->buffers().buffer_size();
  flow.fallback = new char[size];
  io_uring_sqe* sqe = worker_->loop().ring().GetSqe();
  io_uring_prep_recv(sqe, fd_[side], flow.fallback, size, 0);
  io_uring_sqe_set_data64(sqe, uring::UserData(this, static_cast<uint8_t>(kRecvClient + side)));
  ++pending_ops_;
  flow.recv_armed = true;
  flow.recv_cancelled = false;
  worker_->stats().buffer_fallbacks.Add(1);
}

void RelayConnection::ReleaseChunk(const Chunk& chunk) {
  if (chunk.bid >= 0) {
    worker_->ReturnBuffer(static_cast<uint16_t>(chunk.bid));
  } else if (chunk.bid == kHeapChunk) {
    delete[] chunk.heap;
  } else if (chunk.bid == kHelloChunk) {
    hello_.reset();  // the connection may live long: do not keep the bytes
  }
}

void RelayConnection::OnRecv(int side, int32_t res, uint32_t flags) {
  Flow& flow = flow_[side];
  if (!(flags & IORING_CQE_F_MORE)) {
    --pending_ops_;
    flow.recv_armed = false;
  }
  if (has_tls_) [[unlikely]] {
    // The bytes go through the transports, then the ring buffer goes back at once.
    ConsumeTlsRecv(side, res, flags);
    if (state_ != State::kRelaying) {
      if (!OnTlsRecvBeforeRelay(side, res)) MaybeFinish();
      return;
    }
  } else if (flags & IORING_CQE_F_BUFFER) {
    uint16_t bid = static_cast<uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT);
    worker_->buffers().Taken();
    if (res > 0 && state_ == State::kRelaying) {
      flow.queue.push_back(
          Chunk{worker_->buffers().Data(bid), static_cast<uint32_t>(res), bid, nullptr});
    } else {
      worker_->ReturnBuffer(bid);
    }
  } else if (flow.fallback != nullptr) {  // completion of the plain recv
    char* buf = flow.fallback;
    flow.fallback = nullptr;
    if (res > 0 && state_ == State::kRelaying) {
      flow.queue.push_back(Chunk{buf, static_cast<uint32_t>(res), kHeapChunk, buf});
    } else {
      delete[] buf;
    }
  }
  if (state_ != State::kRelaying) {
    MaybeFinish();
    return;
  }
  if (res > 0) {
    if (!has_tls_) [[likely]] {  // with TLS, counted and sent by ConsumeTlsRecv
      CountReceived(side, static_cast<uint64_t>(res));
      TrySend(side);
      if (static_cast<uint32_t>(res) == worker_->buffers().buffer_size() && !flow.splice &&
          !flow.no_splice) {
        // A full buffer: a bulk flow, which the worker's batched waits must not slow down.
        worker_->loop().ring().HoldShortWaits(1);
        StartSplice(side);
      }
    }
    if (flow.recv_armed && !flow.recv_cancelled && flow.pending() >= kHighWaterChunks) {
      // Backpressure: the other side is not keeping up. Stop reading until it drains.
      CancelRecv(side);
    }
  } else if (res == 0) {
    if (!flow.eof) {  // (a TLS side may have ended its stream by close_notify already)
      flow.eof = true;
      if (first_fin_ < 0) first_fin_ = side;
      if (has_tls_) TlsEof(side);
      RelayEof(side);
    }
  } else if (res == -ENOBUFS) {
    // The worker's buffer ring is empty: not an error and not EOF. Keep this flow moving with a
    // buffer of its own rather than waiting for others to return ring buffers (see header).
    if (!flow.recv_armed && !flow.splice) ArmFallbackRecv(side);
  } else if (res == -EINVAL && flow.recv_capped && !flow.recv_armed) {
    uring::RecvCapRefused();  // a kernel older than 6.17: arm again without the cap
  } else if (res != -ECANCELED) {
    SocketError(side, /*send=*/false, -res);
    return;
  }
  if (!flow.recv_armed) MaybeArmRecv(side);
  MaybeFinish();
}

// Sends what is queued from side `from` to the other side: one chunk with send, several with
// sendmsg, never more than one operation in flight per direction.
void RelayConnection::TrySend(int from) {
  Flow& flow = flow_[from];
  int to = Other(from);
  if (flow.sending || flow.pending() == 0) return;
  if (state_ != State::kRelaying && !SendAllowedBeforeRelay(to)) return;
  io_uring_sqe* sqe = worker_->loop().ring().GetSqe();
  size_t n = flow.pending();
  if (n == 1) {
    const Chunk& c = flow.queue[flow.head];
    io_uring_prep_send(sqe, fd_[to], c.data, c.len, MSG_NOSIGNAL);
  } else {
    if (n > kMaxIov) n = kMaxIov;
    if (send_vector_[to] == nullptr) send_vector_[to] = std::make_unique<SendVector>();
    SendVector& v = *send_vector_[to];
    for (size_t i = 0; i < n; ++i) {
      const Chunk& c = flow.queue[flow.head + i];
      v.iov[i].iov_base = c.data;
      v.iov[i].iov_len = c.len;
    }
    msghdr& msg = v.msg;
    std::memset(&msg, 0, sizeof(msg));
    msg.msg_iov = v.iov;
    msg.msg_iovlen = n;
    io_uring_prep_sendmsg(sqe, fd_[to], &msg, MSG_NOSIGNAL);
  }
  io_uring_sqe_set_data64(sqe, uring::UserData(this, static_cast<uint8_t>(kSendClient + to)));
  ++pending_ops_;
  flow.sending = true;
}

void RelayConnection::OnSend(int to, int32_t res) {
  int from = Other(to);
  Flow& flow = flow_[from];
  --pending_ops_;
  flow.sending = false;
  if (state_ != State::kRelaying) [[unlikely]] {
    if (!has_tls_ || !OnSendBeforeRelay(to, res)) {
      MaybeFinish();
      return;
    }
  } else if (res < 0) {
    SocketError(to, /*send=*/true, -res);
    return;
  }
  last_activity_ns_ = worker_->loop().now_ns();
  size_t left = static_cast<size_t>(res);
  while (left > 0 && flow.pending() > 0) {
    Chunk& c = flow.queue[flow.head];
    if (left < c.len) {  // partial send: the rest goes next time
      c.data += left;
      c.len -= static_cast<uint32_t>(left);
      break;
    }
    left -= c.len;
    ReleaseChunk(c);
    ++flow.head;
  }
  if (flow.pending() == 0) {
    flow.queue.clear();
    flow.head = 0;
    send_vector_[to].reset();  // only a backlog needs it: an idle connection holds none
  }
  TrySend(from);
  if (flow.pending() == 0 && flow.eof) RelayEof(from);
  MaybeArmRecv(from);
  MaybeFinish();
}

void RelayConnection::SocketError(int side, bool send, int error) {
  worker_->stats().errors.Add(1);
  if (side == kBackend && (error == ECONNRESET || (send && error == EPIPE))) {
    backend_->RecordFailure(PassiveFailure::kReset);
  }
  if (side == kClient) {
    Abort(send ? "client send failed" : "client socket error");
  } else {
    Abort(send ? "backend send failed" : "backend socket error");
  }
}

// FIN from `from`: once everything received before it has been sent, pass it on.
void RelayConnection::RelayEof(int from) {
  Flow& flow = flow_[from];
  if (flow.shut || flow.sending || flow.pending() > 0 || flow.piped > 0) return;
  shutdown(fd_[Other(from)], SHUT_WR);
  flow.shut = true;
}

void RelayConnection::OnTimer() {
  int64_t now = worker_->loop().now_ns();
  switch (state_) {
    case State::kSniffing:
      worker_->stats().hello_timeouts.Add(1);
      Abort("no complete ClientHello within handshake_timeout");
      return;
    case State::kHandshaking:
      HandshakeFailed(TlsFailure::kTimeout, "TLS handshake timeout");
      return;
    case State::kConnecting:
      connector_.OnTimeout();  // the connect's completion (-ECANCELED) moves on
      return;
    case State::kBackendHandshaking:
      worker_->stats().connect_timeouts.Add(1);
      BackendTlsFailed(PassiveFailure::kConnectTimeout, "TLS handshake timeout");
      return;
    case State::kRelaying:
      break;
    default:
      return;
  }
  int64_t deadline = last_activity_ns_ + listener_->idle_timeout_ns;
  if (deadline > now) {
    worker_->loop().timers().Schedule(&timer_, deadline);
    return;
  }
  worker_->stats().idle_timeouts.Add(1);
  Abort("idle timeout");
}

void RelayConnection::Abort(const char* reason) {
  if (state_ == State::kClosing || state_ == State::kIdle) return;
  LOG_DEBUG("connection closed: %s", reason);
  if (close_reason_ == nullptr) close_reason_ = reason;
  state_ = State::kClosing;
  worker_->loop().timers().Cancel(&timer_);
  if (pending_ops_ > 0) CancelInFlight(worker_->loop(), fd_);
  MaybeFinish();
}

void RelayConnection::MaybeFinish() {
  if (state_ == State::kRelaying && flow_[kClient].shut && flow_[kBackend].shut) {
    // Both directions ended and were flushed: a clean finish. Only stray completions (a recv
    // cancel racing the EOF) can still be pending.
    state_ = State::kClosing;
    worker_->loop().timers().Cancel(&timer_);
  }
  if (state_ == State::kClosing && pending_ops_ == 0) Finish();
}

void RelayConnection::ReleaseChunks(Flow& flow) {
  for (size_t i = flow.head; i < flow.queue.size(); ++i) ReleaseChunk(flow.queue[i]);
  flow.queue.clear();
  flow.head = 0;
}

void RelayConnection::WriteConnectionLog() {
  log::LineSink* sink = worker_->connection_log();
  if (sink == nullptr || listener_->access_log_sample <= 0) return;
  const int64_t duration = worker_->loop().now_ns() - start_ns_;
  ConnectionRecord r;
  r.start_unix_ns = WallClockNs() - duration;
  r.duration_ns = duration;
  r.listener = listener_->config.name;
  switch (listener_->config.mode) {
    case ListenerMode::kTcp:
      r.mode = "tcp";
      break;
    case ListenerMode::kTls:
      r.mode = "tls";
      break;
    case ListenerMode::kTlsPassthrough:
      r.mode = "tls_passthrough";
      break;
  }
  r.client = &client_address_;
  if (pool_ != nullptr) r.pool = pool_->config.name;
  if (backend_ != nullptr) r.backend = backend_->key;
  r.bytes_from_client = bytes_[kClient];
  r.bytes_from_backend = bytes_[kBackend];
  r.close = close_reason_ != nullptr ? close_reason_
            : first_fin_ == kBackend ? "backend closed"
                                     : "client closed";
  r.sni = sni_;
  std::string alpn;  // (outlives r)
  if (tls_ != nullptr) AddTlsToLog(&r, &alpn);
  LogConnection(sink, listener_->access_log_sample, r);
}

void RelayConnection::Finish() {
  WriteConnectionLog();
  ReleaseChunks(flow_[kClient]);
  ReleaseChunks(flow_[kBackend]);
  for (Flow& flow : flow_) {
    worker_->ReleasePipe(flow.pipe);
    if (flow.splice || flow.no_splice) worker_->loop().ring().HoldShortWaits(-1);  // was bulk
  }
  CloseSockets(worker_->loop(), fd_);
  connector_.Release();
  backend_ = nullptr;
  listener_ = nullptr;
  pool_ = nullptr;
  hello_.reset();
  for (std::unique_ptr<SendVector>& v : send_vector_) v.reset();
  if (tls_ != nullptr) {
    // However this connection ended, the backend's session stays good for the next one.
    tls_->transport[kBackend].Reset(/*keep_resumable=*/true);
    tls_.reset();
    has_tls_ = false;
  }
  state_ = State::kIdle;
  worker_->stats().closed.Add(1);
  worker_->stats().durations.Observe(static_cast<double>(worker_->loop().now_ns() - start_ns_) /
                                     1e9);
  worker_->Release(this);
}

void RelayConnection::OnCompletion(uint8_t op, int32_t res, uint32_t flags) {
  switch (op) {
    case kConnect:
      OnConnect(res);
      break;
    case kRecvClient:
    case kRecvBackend:
      OnRecv(op - kRecvClient, res, flags);
      break;
    case kSendClient:
    case kSendBackend:
      OnSend(op - kSendClient, res);
      break;
    case kSniff:
      OnSniff(res);
      break;
    case kPollIn:
    case kPollIn + 1:
      OnPoll(op - kPollIn, /*out=*/false);
      break;
    case kPollOut:
    case kPollOut + 1:
      OnPoll(op - kPollOut, /*out=*/true);
      break;
    default:
      break;
  }
}

}  // namespace edge::l4
