#include "l7/upstream/tls_upstream_link.h"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cerrno>

#include "common/log.h"
#include "common/tls/server_context.h"

namespace edge::l7 {
namespace {

constexpr std::string_view kAlpnH2 = "h2";

}  // namespace

// Every entry point holds one: the link is deleted when the outermost one ends after a close,
// never while a frame of it is still on the stack.
class TlsUpstreamLinkGuard {
 public:
  explicit TlsUpstreamLinkGuard(TlsUpstreamLink* link) : link_(link) { ++link_->depth_; }
  ~TlsUpstreamLinkGuard() {
    if (--link_->depth_ == 0 && link_->closed_) delete link_;
  }

 private:
  TlsUpstreamLink* link_;
};

absl::StatusOr<UpstreamLink*> TlsUpstreamLink::Connect(
    std::shared_ptr<const tls::ClientContext> context, UpstreamConnector& connector,
    const net::SocketAddress& server, UpstreamLink::Owner* owner) {
  auto* link = new TlsUpstreamLink(std::move(context), server, owner);
  if (link->ssl_ == nullptr) {
    delete link;
    return absl::ResourceExhaustedError("TLS: cannot allocate a connection (out of memory)");
  }
  absl::StatusOr<UpstreamLink*> tcp = connector.Connect(server, link);
  if (!tcp.ok()) {
    delete link;
    return tcp.status();
  }
  link->tcp_ = *tcp;
  return link;
}

TlsUpstreamLink::TlsUpstreamLink(std::shared_ptr<const tls::ClientContext> context,
                                 const net::SocketAddress& server, UpstreamLink::Owner* owner)
    : context_(std::move(context)), server_(server), server_key_(server.ToString()), owner_(owner) {
  ssl_ = context_->NewSsl(server_key_);
  if (ssl_ == nullptr) return;
  rbio_ = BIO_new(BIO_s_mem());
  wbio_ = BIO_new(BIO_s_mem());
  if (rbio_ == nullptr || wbio_ == nullptr) {
    BIO_free(rbio_);
    BIO_free(wbio_);
    SSL_free(ssl_);
    ssl_ = nullptr;
    return;
  }
  BIO_set_mem_eof_return(rbio_, -1);  // an empty read BIO means "wait", not EOF
  SSL_set_bio(ssl_, rbio_, wbio_);
  SSL_set_mode(ssl_, SSL_MODE_RELEASE_BUFFERS);
}

TlsUpstreamLink::~TlsUpstreamLink() {
  if (ssl_ != nullptr) SSL_free(ssl_);  // and its BIOs
}

void TlsUpstreamLink::Send(std::string_view data) {
  if (closed_ || shutdown_write_ || data.empty()) return;
  TlsUpstreamLinkGuard guard(this);
  if (!established_) {
    waiting_.append(data);
    return;
  }
  WritePlaintext(data);
}

void TlsUpstreamLink::Cork() {
  if (tcp_ != nullptr) tcp_->Cork();
}

void TlsUpstreamLink::Uncork() {
  if (tcp_ != nullptr) tcp_->Uncork();
}

size_t TlsUpstreamLink::queued() const {
  return waiting_.size() + (tcp_ != nullptr ? tcp_->queued() : 0);
}

void TlsUpstreamLink::PauseRead() {
  if (tcp_ != nullptr) tcp_->PauseRead();
}

void TlsUpstreamLink::ResumeRead() {
  if (tcp_ != nullptr) tcp_->ResumeRead();
}

void TlsUpstreamLink::ShutdownWrite() {
  if (closed_ || shutdown_write_) return;
  TlsUpstreamLinkGuard guard(this);
  shutdown_write_ = true;
  if (established_) {
    SSL_shutdown(ssl_);  // close_notify
    FlushCiphertext();
  }
  if (tcp_ != nullptr) tcp_->ShutdownWrite();
}

void TlsUpstreamLink::Close() {
  if (closed_) return;
  TlsUpstreamLinkGuard guard(this);
  closed_ = true;
  owner_ = nullptr;
  if (tcp_ != nullptr) {
    tcp_->Close();  // detaches us: no event from it follows
    tcp_ = nullptr;
  }
}

void TlsUpstreamLink::CountRequest() {
  if (tcp_ != nullptr) tcp_->CountRequest();
}

void TlsUpstreamLink::OnUpstreamConnected(UpstreamLink* c, int error) {
  if (closed_) return;
  TlsUpstreamLinkGuard guard(this);
  tcp_ = c;
  if (error != 0) {
    tcp_ = nullptr;  // a link whose connect failed closes itself
    Fail(error);
    return;
  }
  ContinueHandshake();
}

void TlsUpstreamLink::OnUpstreamData(UpstreamLink*, std::string_view data) {
  if (closed_) return;
  TlsUpstreamLinkGuard guard(this);
  if (BIO_write(rbio_, data.data(), static_cast<int>(data.size())) !=
      static_cast<int>(data.size())) {
    LOG_WARN("upstream %s: TLS: cannot buffer %d received bytes", server_key_, data.size());
    Fail(-ENOMEM);
    return;
  }
  if (!established_) {
    ContinueHandshake();
  } else {
    ReadPlaintext();
  }
}

void TlsUpstreamLink::OnUpstreamClosed(UpstreamLink*, int error) {
  if (closed_) return;
  TlsUpstreamLinkGuard guard(this);
  tcp_ = nullptr;  // it closed itself
  Fail(error);
}

void TlsUpstreamLink::OnUpstreamSendDrained(UpstreamLink*) {
  if (closed_ || !established_ || !waiting_.empty() || owner_ == nullptr) return;
  TlsUpstreamLinkGuard guard(this);
  owner_->OnUpstreamSendDrained(this);
}

void TlsUpstreamLink::ContinueHandshake() {
  ERR_clear_error();
  const int r = SSL_do_handshake(ssl_);
  FlushCiphertext();
  if (closed_) return;
  if (r != 1) {
    if (SSL_get_error(ssl_, r) == SSL_ERROR_WANT_READ) return;
    const long verify = SSL_get_verify_result(ssl_);
    LOG_WARN(
        "upstream %s: TLS handshake failed: %s", server_key_,
        verify != X509_V_OK ? X509_verify_cert_error_string(verify) : tls::OpenSslErrors().c_str());
    ERR_clear_error();
    Fail(-EPROTO);
    return;
  }
  const unsigned char* alpn = nullptr;
  unsigned int alpn_len = 0;
  SSL_get0_alpn_selected(ssl_, &alpn, &alpn_len);
  if (std::string_view(reinterpret_cast<const char*>(alpn), alpn_len) != kAlpnH2) {
    LOG_WARN(
        "upstream %s: TLS: the server did not agree on ALPN \"h2\" (%s): it does not speak "
        "HTTP/2 over TLS",
        server_key_,
        alpn_len == 0
            ? "no ALPN"
            : "it chose \"" + std::string(reinterpret_cast<const char*>(alpn), alpn_len) + "\"");
    Fail(-EPROTO);
    return;
  }
  established_ = true;
  if (owner_ != nullptr) owner_->OnUpstreamConnected(this, 0);
  if (closed_) return;
  if (!waiting_.empty()) {
    std::string waiting;
    waiting.swap(waiting_);
    WritePlaintext(waiting);
    if (closed_) return;
  }
  ReadPlaintext();  // application data may have come with the handshake's last flight
}

void TlsUpstreamLink::ReadPlaintext() {
  char buffer[16 * 1024];
  while (!closed_) {
    ERR_clear_error();
    const int n = SSL_read(ssl_, buffer, sizeof(buffer));
    if (n > 0) {
      if (owner_ == nullptr) {  // nobody expects bytes: the connection is not reusable
        Fail(0);
        return;
      }
      owner_->OnUpstreamData(this, std::string_view(buffer, static_cast<size_t>(n)));
      continue;
    }
    const int error = SSL_get_error(ssl_, n);
    FlushCiphertext();  // e.g. a KeyUpdate's answer
    if (error == SSL_ERROR_WANT_READ) return;
    if (error == SSL_ERROR_ZERO_RETURN) {  // close_notify
      Fail(0);
      return;
    }
    LOG_WARN("upstream %s: TLS: %s", server_key_, tls::OpenSslErrors());
    ERR_clear_error();
    Fail(-EPROTO);
    return;
  }
}

void TlsUpstreamLink::WritePlaintext(std::string_view data) {
  while (!data.empty()) {
    ERR_clear_error();
    const int n =
        SSL_write(ssl_, data.data(), static_cast<int>(std::min<size_t>(data.size(), 1 << 30)));
    if (n <= 0) {
      LOG_WARN("upstream %s: TLS: cannot encrypt: %s", server_key_, tls::OpenSslErrors());
      ERR_clear_error();
      Fail(-EPROTO);
      return;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  FlushCiphertext();
}

void TlsUpstreamLink::FlushCiphertext() {
  char* data = nullptr;
  const long n = BIO_get_mem_data(wbio_, &data);
  if (n <= 0) return;
  if (tcp_ != nullptr) tcp_->Send(std::string_view(data, static_cast<size_t>(n)));
  (void)BIO_reset(wbio_);
}

void TlsUpstreamLink::Fail(int error) {
  if (closed_) return;
  closed_ = true;
  if (tcp_ != nullptr) {
    tcp_->Close();
    tcp_ = nullptr;
  }
  UpstreamLink::Owner* owner = owner_;
  owner_ = nullptr;
  if (owner == nullptr) return;
  if (!established_) {
    owner->OnUpstreamConnected(this, error != 0 ? error : -ECONNRESET);
  } else {
    owner->OnUpstreamClosed(this, error);
  }
}

}  // namespace edge::l7
