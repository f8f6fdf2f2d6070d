// TlsRelayConnection's TLS towards the backend ([pool.tls]): the client-role session over the
// connected backend socket, and what a failed backend handshake does (the next backend is
// tried, like after a failed connect). The relay itself, the same for both sides, stays in
// tls_relay_connection.cc with the rest of the data path.

#include <liburing.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "common/log.h"
#include "common/tls/client_context.h"
#include "common/tls/server_context.h"
#include "common/uring/event_loop.h"
#include "l4/runtime.h"
#include "l4/tls/tls_relay_connection.h"
#include "l4/worker.h"

namespace edge::l4 {

void TlsRelayConnection::StartBackendTls() {
  state_ = State::kBackendHandshaking;
  if (!tls_[kBackend].Attach(pool_->tls->NewSsl(backend_->key))) {
    LOG_WARN("TLS: cannot create a backend session: %s", tls::OpenSslErrors());
    Abort("out of memory for TLS");
    return;
  }
  worker_->loop().timers().Schedule(&timer_, worker_->loop().now_ns() + pool_->connect_timeout_ns);
  ContinueBackendHandshake();
  if (state_ == State::kBackendHandshaking) MaybeArmRecv(kBackend);
}

void TlsRelayConnection::ContinueBackendHandshake() {
  tls::Transport::Result r = tls_[kBackend].Handshake();
  if (r != tls::Transport::Result::kOk) {
    if (r == tls::Transport::Result::kWantRead) {
      Flush(kBackend);
      return;
    }
    long verify = SSL_get_verify_result(tls_[kBackend].ssl());
    LOG_WARN(
        "TLS handshake with backend %s failed: %s", backend_->key,
        verify != X509_V_OK ? X509_verify_cert_error_string(verify) : tls::OpenSslErrors().c_str());
    ERR_clear_error();
    BackendTlsFailed(PassiveFailure::kConnectError, "TLS handshake failed");
    return;
  }
  Flush(kBackend);
  worker_->loop().timers().Cancel(&timer_);
  StartRelay();
}

// The backend's TLS failed before relaying began: like a failed connect. Its socket may still
// have a recv or send in flight; those are cancelled and the next backend is tried once they
// have completed (MaybeRetryBackend), so no completion of the old socket reaches the new one.
void TlsRelayConnection::BackendTlsFailed(PassiveFailure why, const char* what) {
  state_ = State::kBackendRetry;
  retry_why_ = why;
  retry_what_ = what;
  worker_->loop().timers().Cancel(&timer_);
  if (recv_armed_[kBackend] || out_[kBackend].sending) {
    io_uring_sqe* sqe = worker_->loop().ring().GetSqe();
    io_uring_prep_cancel_fd(sqe, fd_[kBackend], IORING_ASYNC_CANCEL_ALL);
    io_uring_sqe_set_data64(sqe, uring::kIgnoredUserData);
  }
  MaybeRetryBackend();
}

void TlsRelayConnection::MaybeRetryBackend() {
  if (recv_armed_[kBackend] || out_[kBackend].sending) return;
  tls_[kBackend].Reset();
  out_[kBackend] = Output{};  // the PROXY header and handshake of the failed attempt
  fallback_[kBackend].reset();
  eof_[kBackend] = false;
  backend_ = nullptr;
  state_ = State::kConnecting;
  BackendConnector::Outcome outcome = connector_.Retry(retry_why_, retry_what_);
  fd_[kBackend] = connector_.fd();
  if (outcome == BackendConnector::Outcome::kFailed) {
    ConnectFailed();
    return;
  }
  ++pending_ops_;
}

}  // namespace edge::l4
