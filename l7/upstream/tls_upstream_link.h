#pragma once
// TlsUpstreamLink: TLS over another UpstreamLink (the TCP connection), for [[upstream]] protocol =
// "h2": the H2UpstreamConnection above it sees plaintext and does not know TLS is there.
//
// The session is a tls::Transport (OpenSSL on memory BIOs, the same as lb4's relay uses; no kTLS
// on these machines): ciphertext from the TCP link is fed in, and whatever OpenSSL produces is
// sent on the TCP link. The link reports itself connected only once the handshake is complete, the
// server's certificate verified (tls::ClientContext: CA file, server name) and ALPN agreed on
// "h2": a server that does not speak HTTP/2 over TLS is a failed connect, like a refused one, so
// the request's connect timeout covers the handshake too and a retry may go elsewhere. Plaintext
// sent before that waits here.
//
// Lifetime: like UpstreamConnection, the link closes itself after telling its owner that the
// connect failed or the connection closed, and goes away on Close(); deletion waits until no
// callback of this link is on the stack (an owner may Close() from inside one).

#include <memory>
#include <string>
#include <string_view>

#include "common/tls/client_context.h"
#include "common/tls/transport.h"
#include "l7/upstream/upstream_link.h"

namespace edge::l7 {

class TlsUpstreamLink final : public UpstreamLink, private UpstreamLink::Owner {
 public:
  // Opens a TCP link to `server` through `connector` and starts TLS over it once connected.
  // `context` (ALPN "h2" offered) must outlive the link; the config generation holds it.
  static absl::StatusOr<UpstreamLink*> Connect(std::shared_ptr<const tls::ClientContext> context,
                                               UpstreamConnector& connector,
                                               const net::SocketAddress& server,
                                               UpstreamLink::Owner* owner);

  // UpstreamLink
  void set_owner(UpstreamLink::Owner* owner) override { owner_ = owner; }
  void Send(std::string_view data) override;
  void Cork() override;
  void Uncork() override;
  size_t queued() const override;
  void PauseRead() override;
  void ResumeRead() override;
  void ShutdownWrite() override;
  void Close() override;
  void CloseIdle() override { Close(); }
  bool connected() const override { return established_ && !closed_; }
  bool closed() const override { return closed_; }
  void CountRequest() override;
  const net::SocketAddress& server() const override { return server_; }

 private:
  friend class TlsUpstreamLinkGuard;
  TlsUpstreamLink(std::shared_ptr<const tls::ClientContext> context,
                  const net::SocketAddress& server, UpstreamLink::Owner* owner);
  ~TlsUpstreamLink() override = default;

  // UpstreamLink::Owner, for the TCP link below.
  void OnUpstreamConnected(UpstreamLink* c, int error) override;
  void OnUpstreamData(UpstreamLink* c, std::string_view data) override;
  void OnUpstreamClosed(UpstreamLink* c, int error) override;
  void OnUpstreamSendDrained(UpstreamLink* c) override;

  // Drives the handshake; once complete (and ALPN is h2), reports connected and sends what waits.
  void ContinueHandshake();
  // Decrypts what the read BIO holds and hands it to the owner.
  void ReadPlaintext();
  // Encrypts `data` and sends the records.
  void WritePlaintext(std::string_view data);
  // Moves what OpenSSL wrote (records, alerts) onto the TCP link.
  void FlushCiphertext();
  // The connect failed (`error`, negative errno) or the connection ended: tells the owner (the
  // right event for the state) and closes.
  void Fail(int error);
  // Deletes the link once it is closed and no callback of it is running.
  void MaybeDelete();

  std::shared_ptr<const tls::ClientContext> context_;
  net::SocketAddress server_;
  std::string server_key_;  // the session cache's key; outlives tls_
  UpstreamLink::Owner* owner_;
  UpstreamLink* tcp_ = nullptr;
  tls::Transport tls_;
  std::string waiting_;  // plaintext sent before the handshake completed
  bool established_ = false;
  bool shutdown_write_ = false;
  bool closed_ = false;
  int depth_ = 0;  // callbacks of this link on the stack
};

}  // namespace edge::l7
