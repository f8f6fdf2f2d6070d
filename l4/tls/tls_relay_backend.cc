// TlsTerminateConnection's optional TLS towards the backend ([pool.tls]): the client-side
// session over the connected backend socket, and what a failed backend handshake does (the
// next backend is tried, like after a failed connect). Decryption during the relay stays in
// tls_terminate_connection.cc with the rest of the data path.

#include <liburing.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "common/log.h"
#include "common/tls/client_context.h"
#include "common/tls/server_context.h"
#include "common/uring/event_loop.h"
#include "l4/runtime.h"
#include "l4/tls/tls_terminate_connection.h"
#include "l4/worker.h"

namespace edge::l4 {

void TlsTerminateConnection::StartBackendTls() {
  state_ = State::kBackendHandshaking;
  up_ssl_ = pool_->tls->NewSsl(backend_->key);
  up_rbio_ = BIO_new(BIO_s_mem());
  up_wbio_ = BIO_new(BIO_s_mem());
  if (up_ssl_ == nullptr || up_rbio_ == nullptr || up_wbio_ == nullptr) {
    if (up_ssl_ != nullptr) SSL_free(up_ssl_);
    BIO_free(up_rbio_);
    BIO_free(up_wbio_);
    up_ssl_ = nullptr;
    up_rbio_ = up_wbio_ = nullptr;
    LOG_WARN("TLS: cannot create a backend session: %s", tls::OpenSslErrors());
    Abort("out of memory for TLS");
    return;
  }
  BIO_set_mem_eof_return(up_rbio_, -1);
  SSL_set_bio(up_ssl_, up_rbio_, up_wbio_);
  worker_->loop().timers().Schedule(&timer_, worker_->loop().now_ns() + pool_->connect_timeout_ns);
  ContinueBackendHandshake();
  if (state_ == State::kBackendHandshaking) MaybeArmRecv(kBackend);
}

void TlsTerminateConnection::ContinueBackendHandshake() {
  ERR_clear_error();
  int r = SSL_do_handshake(up_ssl_);
  if (r != 1) {
    int err = SSL_get_error(up_ssl_, r);
    if (err == SSL_ERROR_WANT_READ) {
      FlushBackendTls();
      return;
    }
    long verify = SSL_get_verify_result(up_ssl_);
    LOG_WARN(
        "TLS handshake with backend %s failed: %s", backend_->key,
        verify != X509_V_OK ? X509_verify_cert_error_string(verify) : tls::OpenSslErrors().c_str());
    ERR_clear_error();
    BackendTlsFailed(PassiveFailure::kConnectError, "TLS handshake failed");
    return;
  }
  FlushBackendTls();
  worker_->loop().timers().Cancel(&timer_);
  StartRelay();
}

// The backend's TLS failed before relaying began: like a failed connect. Its socket may still
// have a recv or send in flight; those are cancelled and the next backend is tried once they
// have completed (MaybeRetryBackend), so no completion of the old socket reaches the new one.
void TlsTerminateConnection::BackendTlsFailed(PassiveFailure why, const char* what) {
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

void TlsTerminateConnection::MaybeRetryBackend() {
  if (recv_armed_[kBackend] || out_[kBackend].sending) return;
  SSL_free(up_ssl_);  // frees its BIOs too
  up_ssl_ = nullptr;
  up_rbio_ = up_wbio_ = nullptr;
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

void TlsTerminateConnection::FlushBackendTls() {
  char* data = nullptr;
  long pending = BIO_get_mem_data(up_wbio_, &data);
  if (pending <= 0) return;
  out_[kBackend].queued.append(data, static_cast<size_t>(pending));
  (void)BIO_reset(up_wbio_);
  TrySend(kBackend);
}

}  // namespace edge::l4
