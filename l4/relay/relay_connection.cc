#include "l4/relay/relay_connection.h"

#include <openssl/ssl.h>
#include <sys/socket.h>

#include <cerrno>

#include "common/log.h"
#include "common/net/proxy_protocol.h"
#include "common/net/socket.h"
#include "common/uring/buffer_ring.h"
#include "common/uring/event_loop.h"
#include "l4/connection_log.h"
#include "l4/relay/relay_tls.h"
#include "l4/runtime.h"
#include "l4/worker.h"

namespace edge::l4 {

namespace {
constexpr int Other(int side) { return side ^ 1; }
}  // namespace

RelayConnection::Side::Side(RelayConnection* r, int i, uring::ProvidedBufferRing* ring)
    : relay(r),
      index(i),
      socket(&r->worker_->loop(), this, ring,
             uring::StreamSocket::Options{
                 .half_close = true,
                 .keep_buffers = true,
                 // A socket that already holds a lot (a slow reader's backend has filled it)
                 // cannot drain into the ring beyond the high-water mark before the
                 // backpressure cancel lands.
                 .multishot_cap = static_cast<unsigned>(kHighWaterChunks * ring->buffer_size())}) {}

void RelayConnection::Side::OnSocketRingEmpty() { relay->worker_->stats().buffer_fallbacks.Add(1); }

RelayConnection::RelayConnection(Worker* worker)
    : worker_(worker),
      side_{{this, kClient, &worker->buffers()}, {this, kBackend, &worker->buffers()}},
      timer_(&TimerThunk, this),
      connector_(worker, &side_[kBackend].socket, &timer_) {}

RelayConnection::~RelayConnection() = default;

void RelayConnection::Start(int client_fd, std::shared_ptr<const ListenerRuntime> listener,
                            const net::SocketAddress* peer) {
  listener_ = std::move(listener);
  for (Flow& f : flow_) f.Reset();
  bytes_[kClient] = bytes_[kBackend] = 0;
  close_reason_ = nullptr;
  first_fin_ = -1;
  sni_.clear();
  if (peer != nullptr) {
    client_address_ = *peer;
  } else if (listener_->needs_client_address) {
    client_address_ = net::PeerAddress(client_fd);
  }
  last_activity_ns_ = start_ns_ = worker_->loop().now_ns();
  pool_ = listener_->pool.get();
  connector_.Reset(pool_, &client_address_);
  // The state first: adopting the client arms its receive as NextReceive says.
  switch (listener_->config.mode) {
    case ListenerMode::kTlsPassthrough:
      StartSniff();
      socket(kClient).Adopt(client_fd);
      return;
    case ListenerMode::kTls:
      socket(kClient).Adopt(client_fd);
      StartClientTls();
      return;
    case ListenerMode::kTcp:
      break;
  }
  state_ = State::kConnecting;
  socket(kClient).Adopt(client_fd);
  Connect();
}

// Picks a backend (skipping those this connection already failed on) and starts connecting.
void RelayConnection::Connect() {
  state_ = State::kConnecting;
  AfterAttempt(connector_.Connect());
}

void RelayConnection::AfterAttempt(BackendConnector::Outcome outcome) {
  switch (outcome) {
    case BackendConnector::Outcome::kConnecting:
      return;
    case BackendConnector::Outcome::kRetry:
      state_ = State::kBackendRetry;  // RetryBackend once the socket is released
      return;
    case BackendConnector::Outcome::kFailed:
      ConnectFailed();
      return;
    case BackendConnector::Outcome::kConnected:
      break;
  }
  backend_ = connector_.backend();
  QueueProxyHeader();
  if (pool_->tls != nullptr) {  // the PROXY header goes first, in clear (as HAProxy sends it)
    StartBackendTls();
    return;
  }
  StartRelay();
}

void RelayConnection::OnConnected(int error) {
  if (state_ != State::kConnecting) return;
  AfterAttempt(connector_.OnConnected(error));
}

// The PROXY header goes before any byte of the client's: v2 with what the client's handshake
// negotiated, if the client spoke TLS to lb4.
void RelayConnection::QueueProxyHeader() {
  const ProxyProtocolMode mode = listener_->config.proxy_protocol;
  if (mode == ProxyProtocolMode::kOff) return;
  net::SocketAddress local = net::LocalAddress(socket(kClient).fd());
  SSL* ssl = tls_ != nullptr ? tls_->transport[kClient].ssl() : nullptr;
  if (mode == ProxyProtocolMode::kV1) {
    socket(kBackend).Send(net::EncodeProxyV1(client_address_, local));
  } else if (ssl != nullptr) {
    socket(kBackend).Send(EncodeProxyV2WithTls(ssl, client_address_, local));
  } else {
    socket(kBackend).Send(net::EncodeProxyV2(client_address_, local));
  }
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
    socket(kBackend).Send(hello_->bytes);
    hello_.reset();  // the connection may live long: do not keep the bytes
  }
  MaybeArmRecv(kClient);
  MaybeArmRecv(kBackend);
}

// How side `side` receives next. While relaying: a multishot stream while the other side's queue
// is empty (cheapest when it keeps up); once data waits there, one buffer per receive, so this
// flow takes no more ring buffers than the high-water mark while the backlog lasts (a multishot
// recv would drain the socket's whole receive queue into the ring before a cancel could land);
// none at the mark. A handshake reads one record at a time, and only the side it is with;
// nothing else is read before the relay.
RelayConnection::ReceiveMode RelayConnection::NextReceive(int side) {
  switch (state_) {
    case State::kRelaying:
      break;
    case State::kSniffing:
    case State::kHandshaking:
      return side == kClient ? ReceiveMode::kOne : ReceiveMode::kNone;
    case State::kBackendHandshaking:
      return side == kBackend ? ReceiveMode::kOne : ReceiveMode::kNone;
    default:
      return ReceiveMode::kNone;
  }
  Flow& flow = flow_[side];
  const uring::StreamSocket& to = socket(Other(side));
  if (flow.splice) {
    // The pipe takes over once the buffered bytes are out (its pump reads from here on).
    if (!to.sending() && to.queued_buffers() == 0 && !flow.eof) Pump(side);
    return ReceiveMode::kNone;
  }
  const size_t waiting = to.queued_buffers();
  if (waiting == 0) return ReceiveMode::kStream;
  return waiting < kHighWaterChunks ? ReceiveMode::kOne : ReceiveMode::kNone;
}

void RelayConnection::MaybeArmRecv(int side) {
  if (flow_[side].eof) return;
  socket(side).Receive();  // NextReceive decides (and starts a spliced flow's pump)
}

void RelayConnection::CountReceived(int side, uint64_t n) {
  last_activity_ns_ = worker_->loop().now_ns();
  (side == kClient ? worker_->stats().bytes_from_clients : worker_->stats().bytes_from_backends)
      .Add(n);
  bytes_[side] += n;
}

void RelayConnection::OnBuffer(int side, const Buffer& buffer) {
  if (has_tls_) [[unlikely]] {
    // The bytes go through the transports, then the ring buffer goes back at once.
    ConsumeTlsBuffer(side, buffer);
    MaybeFinish();  // a close_notify may have ended the last direction
    return;
  }
  if (state_ != State::kRelaying) [[unlikely]] {
    if (state_ == State::kSniffing) {
      OnSniff(buffer);
    } else {
      socket(side).ReleaseBuffer(buffer);
    }
    return;
  }
  Flow& flow = flow_[side];
  uring::StreamSocket& to = socket(Other(side));
  const uint32_t len = buffer.len;
  CountReceived(side, len);
  to.SendBuffer(buffer);  // no copy: sent from the buffer it arrived in
  if (len == worker_->buffers().buffer_size() && !flow.splice && !flow.no_splice) {
    // A full buffer: a bulk flow, which the worker's batched waits must not slow down.
    worker_->loop().ring().HoldShortWaits(1);
    StartSplice(side);
  }
  if (to.queued_buffers() >= kHighWaterChunks) {
    // Backpressure: the other side is not keeping up. Stop reading until it drains.
    socket(side).CancelReceive();
  }
}

void RelayConnection::OnEnd(int side, int error) {
  if (state_ == State::kClosing || state_ == State::kIdle) return;
  if (state_ != State::kRelaying) {
    if (state_ == State::kSniffing) {
      WorkerStats& stats = worker_->stats();
      if (error == 0) {
        stats.hello_eof.Add(1);
        Abort("client closed before its ClientHello was complete");
      } else {
        stats.errors.Add(1);
        Abort("client socket error before its ClientHello");
      }
      return;
    }
    if (has_tls_) {
      OnTlsEndBeforeRelay(side, error);
    } else {
      SocketError(side, socket(side).send_failed(), -error);
    }
    return;
  }
  if (error != 0) {
    SocketError(side, socket(side).send_failed(), -error);
    return;
  }
  Flow& flow = flow_[side];
  if (flow.eof) return;  // a TLS side may have ended its stream by close_notify already
  flow.eof = true;
  if (first_fin_ < 0) first_fin_ = side;
  if (has_tls_) TlsEof(side);
  RelayEof(side);
  MaybeFinish();
}

// A send to side `to` completed: room on that side for what the other one sends.
void RelayConnection::OnSent(int to) {
  last_activity_ns_ = worker_->loop().now_ns();
  if (state_ != State::kRelaying) return;
  MaybeArmRecv(Other(to));
  MaybeFinish();
}

void RelayConnection::SocketError(int side, bool send, int error) {
  worker_->stats().errors.Add(1);
  if (side == kBackend && backend_ != nullptr &&
      (error == ECONNRESET || (send && error == EPIPE))) {
    backend_->RecordFailure(PassiveFailure::kReset);
  }
  if (side == kClient) {
    Abort(send ? "client send failed" : "client socket error");
  } else {
    Abort(send ? "backend send failed" : "backend socket error");
  }
}

// FIN from `from`: passed on once everything received before it has been sent (the socket's
// ShutdownWrite waits for its queue; a spliced flow's pipe must be empty first).
void RelayConnection::RelayEof(int from) {
  Flow& flow = flow_[from];
  if (flow.shut || flow.piped > 0) return;
  socket(Other(from)).ShutdownWrite();
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
      AfterAttempt(connector_.OnTimeout());
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
  CloseSockets();
  MaybeFinish();
}

void RelayConnection::CloseSockets() {
  for (Side& side : side_) {
    if (side.socket.busy()) side.socket.Close();
  }
}

void RelayConnection::OnReleased(int side) {
  if (state_ == State::kBackendRetry && side == kBackend) {
    RetryBackend();
    return;
  }
  MaybeFinish();
}

void RelayConnection::MaybeFinish() {
  if (state_ == State::kRelaying && socket(kClient).write_shut() && socket(kBackend).write_shut()) {
    // Both directions ended and were flushed: a clean finish. Only stray completions (a recv
    // cancel racing the EOF) can still be pending.
    state_ = State::kClosing;
    worker_->loop().timers().Cancel(&timer_);
    CloseSockets();
  }
  if (state_ == State::kClosing && !socket(kClient).busy() && !socket(kBackend).busy()) Finish();
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
  for (Flow& flow : flow_) {
    worker_->ReleasePipe(flow.pipe);
    if (flow.splice || flow.no_splice) worker_->loop().ring().HoldShortWaits(-1);  // was bulk
  }
  connector_.Release();
  backend_ = nullptr;
  listener_ = nullptr;
  pool_ = nullptr;
  hello_.reset();
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

}  // namespace edge::l4
