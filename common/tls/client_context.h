#pragma once
// ClientContext: the OpenSSL client side lb4 uses towards the backends of one pool ([pool.tls]),
// built once per config and shared by every worker (SSL_CTX is thread-safe; the session table
// has its own lock).
//
// Verification (verify = true): the backend's chain must lead to a CA of ca_file, and when a
// server name is configured the certificate must match it, as with HAProxy's
// `server ... ssl verify required ca-file F sni str(NAME)` (whose verifyhost defaults to the SNI)
// or Envoy's UpstreamTlsContext { sni, validation_context.trusted_ca }. Without a server name
// no SNI is sent and only the chain is checked.
//
// Session reuse: the newest session each backend gave us (a TLS 1.2 session or a TLS 1.3 ticket,
// whenever it arrives) is kept per backend and offered on the next connection to that backend,
// from any worker, so repeat handshakes with a backend are abbreviated ones.

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace edge::tls {

struct ClientContextOptions {
  bool verify = true;
  std::string ca_file;            // PEM CA certificates; required when verify
  std::string server_name;        // SNI sent and name verified; "" = neither
  std::vector<std::string> alpn;  // offered in this order; empty = no ALPN
  int min_version = TLS1_2_VERSION;
  bool session_reuse = true;
};

class ClientContext {
 public:
  // Loads the CA file. Errors name it: `ca_file "ca.pem": ...`.
  static absl::StatusOr<std::unique_ptr<ClientContext>> Create(const ClientContextOptions& options);
  ~ClientContext();
  ClientContext(const ClientContext&) = delete;
  ClientContext& operator=(const ClientContext&) = delete;

  // A new client SSL (connect state) for the backend named `backend` (a stable key such as
  // "127.0.0.1:8443"; the string must outlive the SSL): SNI, name check and that backend's last
  // session are set. nullptr when out of memory.
  SSL* NewSsl(const std::string& backend) const;

  // Sessions held, one at most per backend.
  size_t cached_sessions() const;

 private:
  ClientContext() = default;
  static int OnNewSession(SSL* ssl, SSL_SESSION* session);

  SSL_CTX* ctx_ = nullptr;
  std::string server_name_;
  bool session_reuse_ = true;
  mutable absl::Mutex mu_;
  std::unordered_map<std::string, SSL_SESSION*> sessions_ ABSL_GUARDED_BY(mu_);
};

}  // namespace edge::tls
