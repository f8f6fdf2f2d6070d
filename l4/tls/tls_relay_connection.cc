#include "l4/tls/tls_relay_connection.h"

#include <liburing.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/log.h"
#include "common/net/proxy_protocol.h"
#include "common/net/socket.h"
#include "common/tls/server_context.h"
#include "common/uring/buffer_ring.h"
#include "common/uring/event_loop.h"
#include "l4/connection_log.h"
#include "l4/connection_sockets.h"
#include "l4/runtime.h"
#include "l4/worker.h"

namespace edge::l4 {

namespace {
constexpr int Other(int side) { return side ^ 1; }
constexpr size_t kReadChunk = 16384;  // plaintext read from OpenSSL at a time
// Plaintext is decrypted into this, then appended or re-encrypted: output grows by what was
// read, not by a zero-filled 16KiB each time.
thread_local char scratch[kReadChunk];

TlsFailure Classify() {
  unsigned long e = ERR_peek_last_error();
  if (ERR_GET_LIB(e) != ERR_LIB_SSL) return TlsFailure::kProtocol;
  switch (ERR_GET_REASON(e)) {
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_UNKNOWN_PROTOCOL:
    case SSL_R_VERSION_TOO_LOW:
      return TlsFailure::kVersion;
    case SSL_R_NO_SHARED_CIPHER:
    case SSL_R_NO_SHARED_GROUPS:
    case SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM:
      return TlsFailure::kNoSharedCipher;
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
    case SSL_R_CERTIFICATE_VERIFY_FAILED:
      return TlsFailure::kClientCert;
    default:
      return TlsFailure::kProtocol;
  }
}
}  // namespace

const char* TlsFailureName(TlsFailure failure) {
  switch (failure) {
    case TlsFailure::kTimeout:
      return "timeout";
    case TlsFailure::kClientClosed:
      return "client_closed";
    case TlsFailure::kVersion:
      return "version";
    case TlsFailure::kNoSharedCipher:
      return "no_shared_cipher";
    case TlsFailure::kClientCert:
      return "client_cert";
    case TlsFailure::kProtocol:
      return "protocol";
  }
  return "unknown";
}

TlsRelayConnection::TlsRelayConnection(Worker* worker)
    : worker_(worker), connector_(worker, this, kConnect, &timer_), timer_(&TimerThunk, this) {}

TlsRelayConnection::~TlsRelayConnection() = default;

void TlsRelayConnection::Start(int client_fd, std::shared_ptr<const ListenerRuntime> listener,
                               const net::SocketAddress* peer) {
  listener_ = std::move(listener);
  pool_ = listener_->pool.get();
  fd_[kClient] = client_fd;
  fd_[kBackend] = -1;
  pending_ops_ = 0;
  for (int s : {kClient, kBackend}) {
    out_[s] = Output{};
    recv_armed_[s] = eof_[s] = shut_[s] = false;
    bytes_[s] = 0;
  }
  close_reason_ = nullptr;
  first_eof_ = -1;
  net::SetNoDelay(client_fd);
  if (peer != nullptr) {
    client_address_ = *peer;
  } else if (listener_->needs_client_address) {
    client_address_ = net::PeerAddress(client_fd);
  }
  connector_.Reset(pool_, &client_address_);
  last_activity_ns_ = start_ns_ = worker_->loop().now_ns();
  if (listener_->config.mode != ListenerMode::kTls) {  // a plain client: TLS to the backend only
    Connect();
    return;
  }
  state_ = State::kHandshaking;
  if (!tls_[kClient].Attach(listener_->tls->NewSsl())) {
    LOG_WARN("TLS: cannot create a session: %s", tls::OpenSslErrors());
    Abort("out of memory for TLS");
    return;
  }
  worker_->loop().timers().Schedule(&timer_, start_ns_ + listener_->handshake_timeout_ns);
  ArmRecv(kClient);
}

void TlsRelayConnection::ArmRecv(int side) {
  io_uring_sqe* sqe = worker_->loop().ring().GetSqe();
  io_uring_prep_recv(sqe, fd_[side], nullptr, worker_->buffers().buffer_size(), 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = static_cast<__u16>(worker_->buffers().group_id());
  io_uring_sqe_set_data64(sqe, uring::UserData(this, static_cast<uint8_t>(kRecvClient + side)));
  ++pending_ops_;
  recv_armed_[side] = true;
}

void TlsRelayConnection::ArmFallbackRecv(int side) {
  const uint32_t size = worker_->buffers().buffer_size();
  fallback_[side].reset(new char[size]);
  io_uring_sqe* sqe = worker_->loop().ring().GetSqe();
  io_uring_prep_recv(sqe, fd_[side], fallback_[side].get(), size, 0);
  io_uring_sqe_set_data64(sqe, uring::UserData(this, static_cast<uint8_t>(kRecvClient + side)));
  ++pending_ops_;
  recv_armed_[side] = true;
  worker_->stats().buffer_fallbacks.Add(1);
}

// Reads side `side` only while what it produces (towards the other side) is below the mark.
void TlsRelayConnection::MaybeArmRecv(int side) {
  if (recv_armed_[side] || eof_[side] || fd_[side] < 0) return;
  if (state_ == State::kHandshaking || state_ == State::kBackendHandshaking) {
    // One side handshakes at a time; the other is not read meanwhile.
    if (side == (state_ == State::kHandshaking ? kClient : kBackend)) ArmRecv(side);
    return;
  }
  if (state_ != State::kRelaying) return;
  if (out_[Other(side)].size() >= kHighWater) return;
  ArmRecv(side);
}

void TlsRelayConnection::OnRecv(int side, int32_t res, uint32_t flags) {
  --pending_ops_;
  recv_armed_[side] = false;
  const char* data = nullptr;
  int bid = -1;
  if (flags & IORING_CQE_F_BUFFER) {
    bid = static_cast<int>(flags >> IORING_CQE_BUFFER_SHIFT);
    worker_->buffers().Taken();
    data = worker_->buffers().Data(static_cast<uint16_t>(bid));
  }
  std::unique_ptr<char[]> fallback = std::move(fallback_[side]);  // freed on return
  if (bid < 0 && fallback != nullptr) data = fallback.get();
  const bool live = state_ == State::kHandshaking || state_ == State::kBackendHandshaking ||
                    state_ == State::kRelaying;
  if (live && res > 0) {
    last_activity_ns_ = worker_->loop().now_ns();
    (side == kClient ? worker_->stats().bytes_from_clients : worker_->stats().bytes_from_backends)
        .Add(static_cast<uint64_t>(res));
    bytes_[side] += static_cast<uint64_t>(res);
    // The bytes are copied (into OpenSSL or the output), so the ring buffer goes back at once.
    OnBytes(side, data, static_cast<size_t>(res));
  }
  if (bid >= 0) worker_->ReturnBuffer(static_cast<uint16_t>(bid));
  if (state_ == State::kBackendRetry) {
    MaybeRetryBackend();
    return;
  }
  if (state_ != State::kHandshaking && state_ != State::kBackendHandshaking &&
      state_ != State::kRelaying) {
    MaybeFinish();
    return;
  }
  if (state_ == State::kBackendHandshaking && side == kBackend && res <= 0 && res != -ENOBUFS &&
      res != -ECANCELED) {
    BackendTlsFailed(
        res == 0 ? PassiveFailure::kConnectError : PassiveFailure::kReset,
        res == 0 ? "closed during the TLS handshake" : "socket error during the TLS handshake");
    return;
  }
  if (res == 0) {
    if (side == kClient && state_ == State::kHandshaking) {
      HandshakeFailed(TlsFailure::kClientClosed, "client closed during the TLS handshake");
      return;
    }
    Eof(side);
  } else if (res < 0 && res != -ENOBUFS && res != -ECANCELED) {
    if (state_ == State::kHandshaking) {
      HandshakeFailed(TlsFailure::kClientClosed, "client socket error during the TLS handshake");
      return;
    }
    worker_->stats().errors.Add(1);
    if (side == kBackend && res == -ECONNRESET) backend_->RecordFailure(PassiveFailure::kReset);
    Abort(side == kClient ? "client socket error" : "backend socket error");
    return;
  }
  if (res == -ENOBUFS) {
    ArmFallbackRecv(side);
    return;
  }
  MaybeArmRecv(side);
  MaybeFinish();
}

void TlsRelayConnection::OnBytes(int from, const char* data, size_t len) {
  tls::Transport& tls = tls_[from];
  if (!tls.active()) {  // plain: only read while relaying
    if (Deliver(Other(from), data, len)) Flush(Other(from));
    return;
  }
  if (!tls.Feed(data, len)) {
    Abort("out of memory for TLS input");
    return;
  }
  if (state_ == State::kHandshaking) {
    ContinueHandshake();
  } else if (state_ == State::kBackendHandshaking) {
    ContinueBackendHandshake();
  } else if (state_ == State::kRelaying) {
    Decrypt(from);
  }
}

// The call that completes the handshake also writes what the server sends after it: with TLS
// 1.3, OpenSSL writes its NewSessionTicket as soon as it has read the client's Finished (with 1.2
// the ticket is part of the server's last flight). Flush prepares their send before Connect()
// starts on the backend, and the loop submits both at the end of this pass: the ticket waits
// for neither response data nor another event, and costs no extra send (it is the only output
// then). A client that closes at once can still miss it, as it must read before it closes:
// OpenSSL cannot send the ticket earlier, with the server's Finished (RFC 8446 4.6.1 allows it).
void TlsRelayConnection::ContinueHandshake() {
  tls::Transport::Result r = tls_[kClient].Handshake();
  Flush(kClient);
  if (r != tls::Transport::Result::kOk) {
    if (r == tls::Transport::Result::kWantRead) return;
    HandshakeFailed(Classify(), "TLS handshake failed");
    return;
  }
  WorkerStats& stats = worker_->stats();
  stats.tls_handshakes.Add(1);
  if (SSL_session_reused(tls_[kClient].ssl())) stats.tls_resumed.Add(1);
  worker_->loop().timers().Cancel(&timer_);
  state_ = State::kConnecting;
  Connect();
}

void TlsRelayConnection::HandshakeFailed(TlsFailure failure, const char* reason) {
  worker_->stats().tls_handshake_failures[static_cast<size_t>(failure)].Add(1);
  LOG_DEBUG("TLS handshake failed (%s): %s", TlsFailureName(failure),
            failure == TlsFailure::kTimeout || failure == TlsFailure::kClientClosed
                ? reason
                : tls::OpenSslErrors().c_str());
  ERR_clear_error();
  // Best effort: the alert OpenSSL queued tells the client why; the socket is closed right after.
  Output& out = out_[kClient];
  if (!out.sending && !out.queued.empty()) {
    ssize_t n =
        send(fd_[kClient], out.queued.data(), out.queued.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    (void)n;
  }
  Abort(reason);
}

bool TlsRelayConnection::Deliver(int to, const char* data, size_t len) {
  if (!tls_[to].active()) {
    out_[to].queued.append(data, len);
    return true;
  }
  if (tls_[to].Write(data, len)) return true;  // a memory BIO takes it all
  worker_->stats().errors.Add(1);
  LOG_DEBUG("TLS write to the %s failed: %s", to == kClient ? "client" : "backend",
            tls::OpenSslErrors());
  Abort(to == kClient ? "TLS write failed" : "TLS write to backend failed");
  return false;
}

bool TlsRelayConnection::Decrypt(int from) {
  const int to = Other(from);
  while (!eof_[from]) {
    size_t n = 0;
    tls::Transport::Result r = tls_[from].Read(scratch, sizeof(scratch), &n);
    if (r == tls::Transport::Result::kOk) {
      if (!Deliver(to, scratch, n)) return false;
      continue;
    }
    if (r == tls::Transport::Result::kWantRead) break;
    Flush(from);                                 // what the session has to say (an alert)
    if (r == tls::Transport::Result::kClosed) {  // close_notify
      Eof(from);
      return state_ == State::kRelaying;
    }
    worker_->stats().errors.Add(1);
    LOG_DEBUG("TLS read from the %s failed: %s", from == kClient ? "client" : "backend",
              tls::OpenSslErrors());
    Abort(from == kClient ? "TLS error from client" : "TLS error from backend");
    return false;
  }
  Flush(from);  // post-handshake messages (key updates) may want answers
  Flush(to);
  return true;
}

void TlsRelayConnection::Flush(int side) {
  if (tls_[side].active()) tls_[side].TakeOutput(&out_[side].queued);
  TrySend(side);
}

void TlsRelayConnection::TrySend(int to) {
  Output& out = out_[to];
  if (out.sending || fd_[to] < 0) return;
  if (state_ == State::kClosing || state_ == State::kIdle) return;
  if (to == kBackend && state_ != State::kRelaying && state_ != State::kBackendHandshaking) return;
  if (out.offset == out.inflight.size()) {
    if (out.queued.empty()) return;
    out.inflight.clear();
    out.offset = 0;
    std::swap(out.inflight, out.queued);
  }
  io_uring_sqe* sqe = worker_->loop().ring().GetSqe();
  io_uring_prep_send(sqe, fd_[to], out.inflight.data() + out.offset,
                     out.inflight.size() - out.offset, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(sqe, uring::UserData(this, static_cast<uint8_t>(kSendClient + to)));
  ++pending_ops_;
  out.sending = true;
}

void TlsRelayConnection::OnSend(int to, int32_t res) {
  Output& out = out_[to];
  --pending_ops_;
  out.sending = false;
  if (state_ == State::kClosing || state_ == State::kIdle) {
    MaybeFinish();
    return;
  }
  if (state_ == State::kBackendRetry) {
    MaybeRetryBackend();
    return;
  }
  if (res < 0) {
    if (state_ == State::kHandshaking) {
      HandshakeFailed(TlsFailure::kClientClosed, "client gone during the TLS handshake");
      return;
    }
    if (state_ == State::kBackendHandshaking && to == kBackend) {
      BackendTlsFailed(PassiveFailure::kReset, "send failed during the TLS handshake");
      return;
    }
    worker_->stats().errors.Add(1);
    if (to == kBackend && (res == -ECONNRESET || res == -EPIPE)) {
      backend_->RecordFailure(PassiveFailure::kReset);
    }
    Abort(to == kClient ? "client send failed" : "backend send failed");
    return;
  }
  last_activity_ns_ = worker_->loop().now_ns();
  out.offset += static_cast<size_t>(res);
  if (out.offset == out.inflight.size() && out.queued.empty() &&
      out.inflight.capacity() > kKeptOutput) {
    // Idle after a large transfer: give the memory back (a keep-alive connection may sit for
    // minutes). Small buffers are kept: freeing them per message costs more than they weigh.
    std::string().swap(out.inflight);
    out.offset = 0;
  }
  TrySend(to);
  MaybeShut();
  MaybeArmRecv(Other(to));
  MaybeFinish();
}

void TlsRelayConnection::Eof(int from) {
  if (eof_[from]) return;  // a FIN after the close_notify
  eof_[from] = true;
  if (first_eof_ < 0) first_eof_ = from;
  const int to = Other(from);
  if (tls_[to].active()) tls_[to].Shutdown();  // a close_notify before the FIN
  Flush(to);
  MaybeShut();
}

// Passes each side's end of stream on once everything before it is sent.
void TlsRelayConnection::MaybeShut() {
  if (state_ != State::kRelaying) return;
  for (int from : {kClient, kBackend}) {
    int to = Other(from);
    if (eof_[from] && !shut_[to] && !out_[to].sending && out_[to].size() == 0) {
      shutdown(fd_[to], SHUT_WR);
      shut_[to] = true;
    }
  }
}

void TlsRelayConnection::Connect() {
  state_ = State::kConnecting;
  BackendConnector::Outcome outcome = connector_.Connect();
  fd_[kBackend] = connector_.fd();
  if (outcome == BackendConnector::Outcome::kFailed) {
    ConnectFailed();
    return;
  }
  ++pending_ops_;
}

void TlsRelayConnection::OnConnect(int32_t res) {
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
  if (pool_->tls != nullptr) {
    StartBackendTls();
  } else {
    StartRelay();
  }
}

// No backend could be reached: a TLS client gets a close_notify (best effort) rather than a bare
// FIN, so it sees an orderly end instead of a truncated stream.
void TlsRelayConnection::ConnectFailed() {
  Output& out = out_[kClient];
  if (tls_[kClient].active() && !out.sending && out.size() == 0) {
    tls_[kClient].Shutdown();
    std::string_view pending = tls_[kClient].PeekOutput();
    if (!pending.empty()) {
      ssize_t n = send(fd_[kClient], pending.data(), pending.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      (void)n;
    }
  }
  Abort(connector_.failure());
}

void TlsRelayConnection::StartRelay() {
  state_ = State::kRelaying;
  last_activity_ns_ = worker_->loop().now_ns();
  worker_->loop().timers().Schedule(&timer_, last_activity_ns_ + listener_->idle_timeout_ns);
  // What the backend sent with the end of its handshake (a TLS 1.3 session ticket, data), and
  // application data that came with the client's Finished.
  if (tls_[kBackend].active() && !Decrypt(kBackend)) return;
  if (tls_[kClient].active() && !Decrypt(kClient)) return;
  TrySend(kClient);
  MaybeArmRecv(kClient);
  MaybeArmRecv(kBackend);
}

// The PROXY header goes before any plaintext: v2 with what the client's handshake negotiated, if
// the client spoke TLS.
void TlsRelayConnection::QueueProxyHeader() {
  const ProxyProtocolMode mode = listener_->config.proxy_protocol;
  if (mode == ProxyProtocolMode::kOff) return;
  net::SocketAddress local = net::LocalAddress(fd_[kClient]);
  SSL* ssl = tls_[kClient].ssl();
  std::string header;
  if (mode == ProxyProtocolMode::kV1) {
    header = net::EncodeProxyV1(client_address_, local);
  } else if (ssl == nullptr) {
    header = net::EncodeProxyV2(client_address_, local);
  } else {
    std::vector<net::ProxyTlv> tlvs;
    const unsigned char* alpn = nullptr;
    unsigned alpn_len = 0;
    SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
    if (alpn_len > 0) {
      tlvs.push_back(
          {net::kPp2TypeAlpn, std::string(reinterpret_cast<const char*>(alpn), alpn_len)});
    }
    if (const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) {
      tlvs.push_back({net::kPp2TypeAuthority, sni});
    }
    std::string cn;
    uint8_t client = net::kPp2ClientSsl;
    uint32_t verify = 0;
    if (X509* peer = SSL_get0_peer_certificate(ssl)) {
      client |= net::kPp2ClientCertConn;
      if (SSL_session_reused(ssl)) client |= net::kPp2ClientCertSess;
      verify = SSL_get_verify_result(ssl) == X509_V_OK ? 0 : 1;
      char buf[256];
      int n =
          X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, buf, sizeof(buf));
      if (n > 0) cn.assign(buf, static_cast<size_t>(n));
    }
    std::string version = SSL_get_version(ssl);
    std::vector<net::ProxyTlvView> subs = {{net::kPp2SubtypeSslVersion, version}};
    if (!cn.empty()) subs.push_back({net::kPp2SubtypeSslCn, cn});
    const char* cipher = SSL_get_cipher_name(ssl);
    std::string cipher_name = cipher != nullptr ? cipher : "";
    if (!cipher_name.empty()) subs.push_back({net::kPp2SubtypeSslCipher, cipher_name});
    tlvs.push_back(net::MakeProxySslTlv(client, verify, subs));
    header = net::EncodeProxyV2(client_address_, local, tlvs);
    if (header.empty()) header = net::EncodeProxyV2(client_address_, local);  // TLVs too big
  }
  Output& out = out_[kBackend];
  out.queued.insert(0, header);
}

void TlsRelayConnection::OnTimer() {
  int64_t now = worker_->loop().now_ns();
  if (state_ == State::kHandshaking) {
    HandshakeFailed(TlsFailure::kTimeout, "TLS handshake timeout");
    return;
  }
  if (state_ == State::kConnecting) {
    connector_.OnTimeout();  // the connect's completion (-ECANCELED) moves on
    return;
  }
  if (state_ == State::kBackendHandshaking) {
    worker_->stats().connect_timeouts.Add(1);
    BackendTlsFailed(PassiveFailure::kConnectTimeout, "TLS handshake timeout");
    return;
  }
  if (state_ != State::kRelaying) return;
  int64_t deadline = last_activity_ns_ + listener_->idle_timeout_ns;
  if (deadline > now) {
    worker_->loop().timers().Schedule(&timer_, deadline);
    return;
  }
  worker_->stats().idle_timeouts.Add(1);
  Abort("idle timeout");
}

void TlsRelayConnection::Abort(const char* reason) {
  if (state_ == State::kClosing || state_ == State::kIdle) return;
  LOG_DEBUG("TLS connection closed: %s", reason);
  if (close_reason_ == nullptr) close_reason_ = reason;
  state_ = State::kClosing;
  worker_->loop().timers().Cancel(&timer_);
  if (pending_ops_ > 0) CancelInFlight(worker_->loop(), fd_);
  MaybeFinish();
}

void TlsRelayConnection::MaybeFinish() {
  if (state_ == State::kRelaying && shut_[kClient] && shut_[kBackend]) {
    state_ = State::kClosing;
    worker_->loop().timers().Cancel(&timer_);
  }
  if (state_ == State::kClosing && pending_ops_ == 0) Finish();
}

void TlsRelayConnection::WriteConnectionLog() {
  log::LineSink* sink = worker_->connection_log();
  if (sink == nullptr || listener_->access_log_sample <= 0) return;
  const int64_t duration = worker_->loop().now_ns() - start_ns_;
  ConnectionRecord r;
  r.start_unix_ns = WallClockNs() - duration;
  r.duration_ns = duration;
  r.listener = listener_->config.name;
  r.mode = listener_->config.mode == ListenerMode::kTls ? "tls" : "tcp";
  r.client = &client_address_;
  if (pool_ != nullptr) r.pool = pool_->config.name;
  if (backend_ != nullptr) r.backend = backend_->key;
  r.bytes_from_client = bytes_[kClient];
  r.bytes_from_backend = bytes_[kBackend];
  r.close = close_reason_ != nullptr ? close_reason_
            : first_eof_ == kBackend ? "backend closed"
                                     : "client closed";
  std::string alpn;
  if (SSL* ssl = tls_[kClient].ssl()) {
    if (const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) r.sni = sni;
    if (SSL_is_init_finished(ssl)) {
      r.tls_version = SSL_get_version(ssl);
      r.tls_cipher = SSL_get_cipher_name(ssl);
      r.tls_resumed = SSL_session_reused(ssl) == 1;
      const unsigned char* proto = nullptr;
      unsigned int len = 0;
      SSL_get0_alpn_selected(ssl, &proto, &len);
      alpn.assign(reinterpret_cast<const char*>(proto), proto != nullptr ? len : 0);
      r.alpn = alpn;
    }
  }
  LogConnection(sink, listener_->access_log_sample, r);
}

void TlsRelayConnection::Finish() {
  WriteConnectionLog();
  CloseSockets(worker_->loop(), fd_);
  for (int side : {kClient, kBackend}) {
    out_[side] = Output{};
    fallback_[side].reset();
  }
  tls_[kClient].Reset();
  // However this connection ended, the backend's session stays good for the next one.
  tls_[kBackend].Reset(/*keep_resumable=*/true);
  connector_.Release();
  backend_ = nullptr;
  listener_ = nullptr;
  pool_ = nullptr;
  state_ = State::kIdle;
  worker_->stats().closed.Add(1);
  worker_->stats().durations.Observe(static_cast<double>(worker_->loop().now_ns() - start_ns_) /
                                     1e9);
  worker_->Release(this);
}

void TlsRelayConnection::OnCompletion(uint8_t op, int32_t res, uint32_t flags) {
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
    default:
      break;
  }
}

}  // namespace edge::l4
