#include "common/tls/transport.h"

#include <openssl/err.h>
#include <openssl/x509.h>

#include "common/tls/server_context.h"

namespace edge::tls {

bool Transport::Attach(SSL* ssl) {
  Reset();
  if (ssl == nullptr) return false;
  BIO* rbio = BIO_new(BIO_s_mem());
  BIO* wbio = BIO_new(BIO_s_mem());
  if (rbio == nullptr || wbio == nullptr) {
    BIO_free(rbio);
    BIO_free(wbio);
    SSL_free(ssl);
    return false;
  }
  BIO_set_mem_eof_return(rbio, -1);  // empty means "no data yet", not EOF
  SSL_set_bio(ssl, rbio, wbio);
  ssl_ = ssl;
  rbio_ = rbio;
  wbio_ = wbio;
  return true;
}

void Transport::Reset(bool keep_resumable) {
  if (ssl_ == nullptr) return;
  if (keep_resumable && SSL_is_init_finished(ssl_)) SSL_set_shutdown(ssl_, SSL_SENT_SHUTDOWN);
  SSL_free(ssl_);  // frees the BIOs too
  ssl_ = nullptr;
  rbio_ = wbio_ = nullptr;
}

bool Transport::Feed(const char* data, size_t len) {
  return BIO_write(rbio_, data, static_cast<int>(len)) == static_cast<int>(len);
}

Transport::Result Transport::Handshake() {
  ERR_clear_error();
  int r = SSL_do_handshake(ssl_);
  if (r == 1) return Result::kOk;
  return SSL_get_error(ssl_, r) == SSL_ERROR_WANT_READ ? Result::kWantRead : Result::kError;
}

Transport::Result Transport::Read(char* buf, size_t size, size_t* n) {
  ERR_clear_error();
  int r = SSL_read(ssl_, buf, static_cast<int>(size));
  if (r > 0) {
    *n = static_cast<size_t>(r);
    return Result::kOk;
  }
  *n = 0;
  switch (SSL_get_error(ssl_, r)) {
    case SSL_ERROR_WANT_READ:
      return Result::kWantRead;
    case SSL_ERROR_ZERO_RETURN:
      return Result::kClosed;
    default:
      return Result::kError;
  }
}

bool Transport::Write(const char* data, size_t len) {
  ERR_clear_error();
  // With SSL_MODE_ENABLE_PARTIAL_WRITE (ClientContext sets it) a write may stop after a record.
  while (len > 0) {
    int n = SSL_write(ssl_, data, static_cast<int>(len));
    if (n <= 0) return false;
    data += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

void Transport::Shutdown() {
  ERR_clear_error();
  SSL_shutdown(ssl_);
}

void Transport::TakeOutput(std::string* out) {
  char* data = nullptr;
  long pending = BIO_get_mem_data(wbio_, &data);
  if (pending <= 0) return;
  out->append(data, static_cast<size_t>(pending));
  (void)BIO_reset(wbio_);
}

size_t Transport::TakeOutput(char* buf, size_t size) {
  if (size == 0) return 0;
  int n = BIO_read(wbio_, buf, static_cast<int>(size));
  return n > 0 ? static_cast<size_t>(n) : 0;
}

std::string_view Transport::PeekOutput() const {
  char* data = nullptr;
  long pending = BIO_get_mem_data(wbio_, &data);
  return pending > 0 ? std::string_view(data, static_cast<size_t>(pending)) : std::string_view();
}

void Transport::DropOutput() { (void)BIO_reset(wbio_); }

std::string Transport::HandshakeFailure() {
  const long verify = ssl_ != nullptr ? SSL_get_verify_result(ssl_) : X509_V_OK;
  std::string why = verify != X509_V_OK ? X509_verify_cert_error_string(verify) : OpenSslErrors();
  ERR_clear_error();
  return why;
}

}  // namespace edge::tls
