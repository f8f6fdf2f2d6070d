#pragma once
// ServerContext: the OpenSSL server side of one TLS-terminating listener, built once per config and
// shared (read-only, OpenSSL's SSL_CTX is thread-safe) by every worker.
//
// Several certificates: one SSL_CTX each, the first is the default. A ClientHello's SNI picks the
// certificate whose DNS SANs (or CN, when it has no SAN) match: exact names first, then "*.suffix"
// wildcards covering exactly the first label; no match (or no SNI) gets the default. ALPN is
// chosen in the server's (config) order; a client offering none of them gets no ALPN (RFC 7301
// allows refusing, but gateways speak HTTP/1.1 anyway). Session resumption uses stateless tickets
// whose keys (TicketKeys) all workers share and rotate.

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "common/tls/ticket_keys.h"

namespace edge::tls {

enum class ClientAuth : uint8_t { kNone, kOptional, kRequired };

struct ServerContextOptions {
  struct Certificate {
    std::string cert_file;  // PEM chain, leaf first
    std::string key_file;   // PEM private key
  };
  std::vector<Certificate> certificates;  // at least one; [0] is the default
  std::vector<std::string> alpn;          // preference order, e.g. {"h2", "http/1.1"}
  int min_version = TLS1_2_VERSION;       // TLS1_2_VERSION or TLS1_3_VERSION
  std::string ciphers;                    // TLS 1.2 cipher list (OpenSSL syntax); "" = default
  std::string ciphersuites;               // TLS 1.3 suites; "" = default
  std::string client_ca_file;             // with client_auth != kNone
  ClientAuth client_auth = ClientAuth::kNone;
  bool session_tickets = true;
  int64_t ticket_rotation_ns = int64_t{3600} * 1000000000;
  // Keys to go on with instead of new ones (a reload keeps the running listener's keys, so
  // tickets issued before it still resume and rotation keeps its schedule); null = new keys.
  std::shared_ptr<TicketKeys> ticket_keys;
};

// The last OpenSSL errors of this thread as one line (and the queue cleared).
std::string OpenSslErrors();

class ServerContext {
 public:
  // Loads every certificate and key (checking that they match) and the client CA.
  // Errors name the file: `certificate "a.crt": ...`.
  static absl::StatusOr<std::unique_ptr<ServerContext>> Create(const ServerContextOptions& options);
  ~ServerContext();
  ServerContext(const ServerContext&) = delete;
  ServerContext& operator=(const ServerContext&) = delete;

  // A new server-side SSL (accept state) on the default context; nullptr when out of memory.
  SSL* NewSsl() const;

  // The index of the certificate chosen for `sni` (lowercase or not).
  size_t CertificateFor(std::string_view sni) const;
  // The DNS names (lowercase) each certificate answers for.
  const std::vector<std::vector<std::string>>& names() const { return names_; }
  const TicketKeys& ticket_keys() const { return *tickets_; }
  // The same keys, for a reload's new context to share.
  std::shared_ptr<TicketKeys> shared_ticket_keys() const { return tickets_; }

 private:
  ServerContext() = default;
  static int OnServerName(SSL* ssl, int* alert, void* arg);
  static int OnAlpn(SSL* ssl, const unsigned char** out, unsigned char* outlen,
                    const unsigned char* in, unsigned int inlen, void* arg);

  std::vector<SSL_CTX*> ctxs_;
  std::vector<std::vector<std::string>> names_;
  std::unordered_map<std::string, size_t> exact_;
  std::unordered_map<std::string, size_t> wildcard_;  // by suffix: "*.a.com" as "a.com"
  std::string alpn_wire_;                             // length-prefixed, config order
  std::shared_ptr<TicketKeys> tickets_;
};

}  // namespace edge::tls
