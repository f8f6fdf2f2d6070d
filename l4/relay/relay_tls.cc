// RelayConnection's TLS sides (relay_connection.h, "TLS"): the client's handshake (mode = "tls"),
// the backend's ([pool.tls]) with the next backend tried when it fails, and the relay's bytes
// through the transports: decrypted into owned chunks, encrypted from the ring buffer they
// arrived in, queued on the same flows as plain bytes.

#include "l4/relay/relay_tls.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "common/log.h"
#include "common/net/proxy_protocol.h"
#include "common/tls/client_context.h"
#include "common/tls/server_context.h"
#include "common/uring/buffer_ring.h"
#include "common/uring/event_loop.h"
#include "l4/connection_log.h"
#include "l4/relay/relay_connection.h"
#include "l4/runtime.h"
#include "l4/worker.h"

namespace edge::l4 {

namespace {
constexpr int Other(int side) { return side ^ 1; }
constexpr size_t kReadChunk = 16384;  // plaintext read from OpenSSL at a time (one record)
// Plaintext is decrypted into this, then copied into a chunk of its size or re-encrypted: the
// queue holds what was read, not a 16 KiB allocation per small message.
thread_local char scratch[kReadChunk];
}  // namespace

std::string EncodeProxyV2WithTls(SSL* ssl, const net::SocketAddress& client,
                                 const net::SocketAddress& local) {
  std::vector<net::ProxyTlv> tlvs;
  const unsigned char* alpn = nullptr;
  unsigned alpn_len = 0;
  SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
  if (alpn_len > 0) {
    tlvs.push_back({net::kPp2TypeAlpn, std::string(reinterpret_cast<const char*>(alpn), alpn_len)});
  }
  if (const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) {
    tlvs.push_back({net::kPp2TypeAuthority, sni});
  }
  std::string cn;
  uint8_t client_flags = net::kPp2ClientSsl;
  uint32_t verify = 0;
  if (X509* peer = SSL_get0_peer_certificate(ssl)) {
    client_flags |= net::kPp2ClientCertConn;
    if (SSL_session_reused(ssl)) client_flags |= net::kPp2ClientCertSess;
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
  tlvs.push_back(net::MakeProxySslTlv(client_flags, verify, subs));
  std::string header = net::EncodeProxyV2(client, local, tlvs);
  if (header.empty()) header = net::EncodeProxyV2(client, local);  // TLVs too big
  return header;
}

void RelayConnection::StartClientTls() {
  state_ = State::kHandshaking;
  tls_ = std::make_unique<RelayTls>();
  has_tls_ = true;
  if (!tls_->transport[kClient].Attach(listener_->tls->NewSsl())) {
    LOG_WARN("TLS: cannot create a session: %s", tls::OpenSslErrors().c_str());
    Abort("out of memory for TLS");
    return;
  }
  worker_->loop().timers().Schedule(&timer_, start_ns_ + listener_->handshake_timeout_ns);
  socket(kClient).Receive();
}

// The call that completes the handshake also writes what the server sends after it: with TLS
// 1.3, OpenSSL writes its NewSessionTicket as soon as it has read the client's Finished (with 1.2
// the ticket is part of the server's last flight). FlushTls prepares their send before Connect()
// starts on the backend, and the loop submits both at the end of this pass: the ticket waits
// for neither response data nor another event, and costs no extra send (it is the only output
// then). A client that closes at once can still miss it, as it must read before it closes:
// OpenSSL cannot send the ticket earlier, with the server's Finished (RFC 8446 4.6.1 allows it).
void RelayConnection::ContinueHandshake() {
  tls::Transport& client = tls_->transport[kClient];
  tls::Transport::Result r = client.Handshake();
  if (r != tls::Transport::Result::kOk) {
    if (r == tls::Transport::Result::kWantRead) {
      FlushTls(kClient);
      return;
    }
    HandshakeFailed(ClassifyTlsFailure(), "TLS handshake failed");
    return;
  }
  FlushTls(kClient);
  WorkerStats& stats = worker_->stats();
  stats.tls_handshakes.Add(1);
  if (SSL_session_reused(client.ssl())) stats.tls_resumed.Add(1);
  worker_->loop().timers().Cancel(&timer_);
  Connect();
}

void RelayConnection::HandshakeFailed(TlsFailure failure, const char* reason) {
  worker_->stats().tls_handshake_failures[static_cast<size_t>(failure)].Add(1);
  LOG_DEBUG("TLS handshake failed (%s): %s", TlsFailureName(failure),
            failure == TlsFailure::kTimeout || failure == TlsFailure::kClientClosed
                ? reason
                : tls::OpenSslErrors().c_str());
  ERR_clear_error();
  // Best effort: the alert OpenSSL queued tells the client why; the socket is closed right after.
  SendLastWords(tls_->transport[kClient].PeekOutput());
  Abort(reason);
}

void RelayConnection::SendLastWords(std::string_view bytes) {
  const uring::StreamSocket& client = socket(kClient);
  if (bytes.empty() || client.closed() || client.sending() || client.queued_buffers() > 0) return;
  ssize_t n = send(client.fd(), bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  (void)n;
}

void RelayConnection::StartBackendTls() {
  if (tls_ == nullptr) {
    tls_ = std::make_unique<RelayTls>();
    has_tls_ = true;
  }
  state_ = State::kBackendHandshaking;
  if (!tls_->transport[kBackend].Attach(pool_->tls->NewSsl(backend_->key))) {
    LOG_WARN("TLS: cannot create a backend session: %s", tls::OpenSslErrors().c_str());
    Abort("out of memory for TLS");
    return;
  }
  worker_->loop().timers().Schedule(&timer_, worker_->loop().now_ns() + pool_->connect_timeout_ns);
  ContinueBackendHandshake();  // (the backend's socket receives once its connect event returns)
}

void RelayConnection::ContinueBackendHandshake() {
  tls::Transport& backend = tls_->transport[kBackend];
  tls::Transport::Result r = backend.Handshake();
  if (r != tls::Transport::Result::kOk) {
    if (r == tls::Transport::Result::kWantRead) {
      FlushTls(kBackend);
      return;
    }
    LOG_WARN("TLS handshake with backend %s failed: %s", backend_->key,
             backend.HandshakeFailure().c_str());
    BackendTlsFailed(PassiveFailure::kConnectError, "TLS handshake failed");
    return;
  }
  FlushTls(kBackend);
  worker_->loop().timers().Cancel(&timer_);
  StartRelay();
}

// The backend's TLS failed before relaying began: like a failed connect. Its socket is closed
// and the next backend is tried once it is released (RetryBackend), so no completion of the old
// attempt reaches the new one.
void RelayConnection::BackendTlsFailed(PassiveFailure why, const char* what) {
  worker_->loop().timers().Cancel(&timer_);
  AfterAttempt(connector_.Retry(why, what));
}

void RelayConnection::RetryBackend() {
  if (tls_ != nullptr) {
    tls_->transport[kBackend].Reset();
    tls_->close_notified[kBackend] = false;
  }
  flow_[kBackend].eof = false;
  backend_ = nullptr;
  Connect();
}

void RelayConnection::ConnectFailed() {
  // A TLS client gets a close_notify (best effort) rather than a bare FIN, so it sees an orderly
  // end instead of a truncated stream.
  if (tls_ != nullptr && tls_->transport[kClient].active()) {
    tls::Transport& client = tls_->transport[kClient];
    client.Shutdown();
    SendLastWords(client.PeekOutput());
  }
  Abort(connector_.failure());
}

// What the backend sent with the end of its handshake (a TLS 1.3 session ticket, data), the
// application data that came with the client's Finished, and (tls_passthrough) the client's
// ClientHello and what followed it, now inside lb4's session with the backend.
void RelayConnection::StartTlsRelay() {
  if (hello_ != nullptr) {
    const bool ok = Deliver(kBackend, hello_->bytes.data(), hello_->bytes.size());
    hello_.reset();
    if (!ok) return;
    FlushTls(kBackend);
  }
  if (tls_->transport[kBackend].active() && !Decrypt(kBackend)) return;
  if (tls_->transport[kClient].active() && !Decrypt(kClient)) return;
  MaybeArmRecv(kClient);
  MaybeArmRecv(kBackend);
}

void RelayConnection::ConsumeTlsBuffer(int side, const Buffer& buffer) {
  const bool live = state_ == State::kRelaying ||
                    (state_ == State::kHandshaking && side == kClient) ||
                    (state_ == State::kBackendHandshaking && side == kBackend);
  if (live) {
    CountReceived(side, buffer.len);
    OnTlsBytes(side, buffer.data, buffer.len);
  }
  socket(side).ReleaseBuffer(buffer);
}

void RelayConnection::OnTlsEndBeforeRelay(int side, int error) {
  const bool send = socket(side).send_failed();
  switch (state_) {
    case State::kHandshaking:
      if (side != kClient) return;
      HandshakeFailed(TlsFailure::kClientClosed,
                      error == 0 ? "client closed during the TLS handshake"
                      : send     ? "client gone during the TLS handshake"
                                 : "client socket error during the TLS handshake");
      return;
    case State::kBackendHandshaking:
      if (side == kBackend) {
        BackendTlsFailed(error == 0 ? PassiveFailure::kConnectError : PassiveFailure::kReset,
                         error == 0 ? "closed during the TLS handshake"
                         : send     ? "send failed during the TLS handshake"
                                    : "socket error during the TLS handshake");
        return;
      }
      break;
    case State::kBackendRetry:
      if (side == kBackend) return;  // the failed attempt's socket, closing
      break;
    default:
      break;
  }
  if (error != 0) SocketError(side, send, -error);
}

void RelayConnection::OnTlsBytes(int from, const char* data, size_t len) {
  tls::Transport& tls = tls_->transport[from];
  if (!tls.active()) {  // plain: only read while relaying
    if (Deliver(Other(from), data, len)) FlushTls(Other(from));
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

bool RelayConnection::Deliver(int to, const char* data, size_t len) {
  tls::Transport& tls = tls_->transport[to];
  if (!tls.active()) {
    socket(to).Send(std::string_view(data, len));  // copied into a buffer of its own
    return true;
  }
  if (tls.Write(data, len)) return true;  // a memory BIO takes it all
  worker_->stats().errors.Add(1);
  LOG_DEBUG("TLS write to the %s failed: %s", to == kClient ? "client" : "backend",
            tls::OpenSslErrors().c_str());
  Abort(to == kClient ? "TLS write failed" : "TLS write to backend failed");
  return false;
}

bool RelayConnection::Decrypt(int from) {
  const int to = Other(from);
  while (!flow_[from].eof) {
    size_t n = 0;
    tls::Transport::Result r = tls_->transport[from].Read(scratch, sizeof(scratch), &n);
    if (r == tls::Transport::Result::kOk) {
      if (!Deliver(to, scratch, n)) return false;
      continue;
    }
    if (r == tls::Transport::Result::kWantRead) break;
    FlushTls(from);                              // what the session has to say (an alert)
    if (r == tls::Transport::Result::kClosed) {  // close_notify
      FlushTls(to);
      flow_[from].eof = true;
      if (first_fin_ < 0) first_fin_ = from;
      TlsEof(from);
      RelayEof(from);
      return state_ == State::kRelaying;
    }
    worker_->stats().errors.Add(1);
    LOG_DEBUG("TLS read from the %s failed: %s", from == kClient ? "client" : "backend",
              tls::OpenSslErrors().c_str());
    Abort(from == kClient ? "TLS error from client" : "TLS error from backend");
    return false;
  }
  FlushTls(from);  // post-handshake messages (key updates) may want answers
  FlushTls(to);
  return true;
}

void RelayConnection::FlushTls(int side) {
  tls::Transport& tls = tls_->transport[side];
  if (!tls.active()) return;
  const size_t size = tls.PeekOutput().size();
  if (size == 0) return;
  char* records = new char[size];
  const size_t n = tls.TakeOutput(records, size);
  socket(side).SendBuffer(Buffer{records, static_cast<uint32_t>(n), -1, records});
}

void RelayConnection::TlsEof(int from) {
  const int to = Other(from);
  if (!tls_->transport[to].active() || tls_->close_notified[to]) return;
  tls_->close_notified[to] = true;
  tls_->transport[to].Shutdown();  // queued after everything encrypted before it
  FlushTls(to);
}

void RelayConnection::AddTlsToLog(ConnectionRecord* r, std::string* alpn) const {
  SSL* ssl = tls_->transport[kClient].ssl();
  if (ssl == nullptr) return;
  if (const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) r->sni = sni;
  if (!SSL_is_init_finished(ssl)) return;
  r->tls_version = SSL_get_version(ssl);
  r->tls_cipher = SSL_get_cipher_name(ssl);
  r->tls_resumed = SSL_session_reused(ssl) == 1;
  const unsigned char* proto = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(ssl, &proto, &len);
  alpn->assign(reinterpret_cast<const char*>(proto), proto != nullptr ? len : 0);
  r->alpn = *alpn;
}

}  // namespace edge::l4
