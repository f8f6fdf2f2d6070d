#include "l7/upstream/tls_upstream_link.h"

#include <openssl/err.h>
#include <openssl/x509.h>

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
  if (!link->tls_.active()) {
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
  tls_.Attach(context_->NewSsl(server_key_));
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
    tls_.Shutdown();  // close_notify
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
  if (!tls_.Feed(data.data(), data.size())) {
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
  const tls::Transport::Result result = tls_.Handshake();
  FlushCiphertext();
  if (closed_ || result == tls::Transport::Result::kWantRead) return;
  if (result != tls::Transport::Result::kOk) {
    LOG_WARN("upstream %s: TLS handshake failed: %s", server_key_, tls_.HandshakeFailure().c_str());
    Fail(-EPROTO);
    return;
  }
  const unsigned char* alpn = nullptr;
  unsigned int alpn_len = 0;
  SSL_get0_alpn_selected(tls_.ssl(), &alpn, &alpn_len);
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
    size_t n = 0;
    const tls::Transport::Result result = tls_.Read(buffer, sizeof(buffer), &n);
    if (result == tls::Transport::Result::kOk) {
      if (owner_ == nullptr) {  // nobody expects bytes: the connection is not reusable
        Fail(0);
        return;
      }
      owner_->OnUpstreamData(this, std::string_view(buffer, n));
      continue;
    }
    FlushCiphertext();  // e.g. a KeyUpdate's answer
    if (result == tls::Transport::Result::kWantRead) return;
    if (result == tls::Transport::Result::kClosed) {  // close_notify
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
  if (!tls_.Write(data.data(), data.size())) {
    LOG_WARN("upstream %s: TLS: cannot encrypt: %s", server_key_, tls::OpenSslErrors());
    ERR_clear_error();
    Fail(-EPROTO);
    return;
  }
  FlushCiphertext();
}

void TlsUpstreamLink::FlushCiphertext() {
  const std::string_view output = tls_.PeekOutput();
  if (output.empty()) return;
  if (tcp_ != nullptr) tcp_->Send(output);  // copies
  tls_.DropOutput();
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
