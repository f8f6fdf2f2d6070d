#include "common/tls/server_context.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "absl/strings/str_format.h"

namespace edge::tls {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  return out;
}

// DNS SANs of the leaf, or its CN when there is no SAN (RFC 6125 fallback).
std::vector<std::string> NamesOf(X509* cert) {
  std::vector<std::string> names;
  auto* sans =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (sans != nullptr) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
      const GENERAL_NAME* n = sk_GENERAL_NAME_value(sans, i);
      if (n->type != GEN_DNS) continue;
      const ASN1_IA5STRING* s = n->d.dNSName;
      names.push_back(Lower(std::string_view(reinterpret_cast<const char*>(s->data),
                                             static_cast<size_t>(s->length))));
    }
    GENERAL_NAMES_free(sans);
  }
  if (names.empty()) {
    char cn[256];
    int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof(cn));
    if (n > 0) names.push_back(Lower(std::string_view(cn, static_cast<size_t>(n))));
  }
  return names;
}

}  // namespace

std::string OpenSslErrors() {
  std::string out;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

absl::StatusOr<std::unique_ptr<ServerContext>> ServerContext::Create(
    const ServerContextOptions& options) {
  if (options.certificates.empty()) return absl::InvalidArgumentError("no certificate");
  std::unique_ptr<ServerContext> sc(new ServerContext());
  for (const std::string& p : options.alpn) {
    if (p.empty() || p.size() > 255) return absl::InvalidArgumentError("bad ALPN protocol name");
    sc->alpn_wire_.push_back(static_cast<char>(p.size()));
    sc->alpn_wire_ += p;
  }
  sc->tickets_ = options.ticket_keys != nullptr
                     ? options.ticket_keys
                     : std::make_shared<TicketKeys>(options.ticket_rotation_ns);
  ERR_clear_error();
  for (size_t i = 0; i < options.certificates.size(); ++i) {
    const auto& c = options.certificates[i];
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == nullptr) return absl::ResourceExhaustedError(OpenSslErrors());
    sc->ctxs_.push_back(ctx);
    auto fail = [&](std::string_view what, const std::string& file) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s \"%s\": %s", what, file, OpenSslErrors()));
    };
    if (SSL_CTX_use_certificate_chain_file(ctx, c.cert_file.c_str()) != 1) {
      return fail("certificate", c.cert_file);
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, c.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      return fail("key", c.key_file);
    }
    if (SSL_CTX_check_private_key(ctx) != 1)
      return fail("key does not match certificate", c.key_file);
    if (SSL_CTX_set_min_proto_version(ctx, options.min_version) != 1) {
      return absl::InvalidArgumentError("bad min_version");
    }
    if (!options.ciphers.empty() && SSL_CTX_set_cipher_list(ctx, options.ciphers.c_str()) != 1) {
      return absl::InvalidArgumentError(
          absl::StrFormat("ciphers \"%s\": %s", options.ciphers, OpenSslErrors()));
    }
    if (!options.ciphersuites.empty() &&
        SSL_CTX_set_ciphersuites(ctx, options.ciphersuites.c_str()) != 1) {
      return absl::InvalidArgumentError(
          absl::StrFormat("ciphersuites \"%s\": %s", options.ciphersuites, OpenSslErrors()));
    }
    // Memory: idle connections give their 16KiB+ read/write buffers back to OpenSSL's allocator.
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                              SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_options(
        ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    static const unsigned char kSessionContext[] = "lb4";
    SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof(kSessionContext) - 1);
    // Stateless tickets only: no per-process session cache to share or bound.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    if (options.session_tickets) {
      // One TLS 1.3 ticket per handshake, not OpenSSL's two: a resumption always gets a new
      // one (TicketKeys renews), so a client never runs out, and each ticket costs ~250 bytes
      // after the handshake and its encryption and MAC. A second ticket only serves clients
      // that open parallel connections from one full handshake; they get full handshakes.
      SSL_CTX_set_num_tickets(ctx, 1);
      sc->tickets_->Install(ctx);
    } else {
      SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
      SSL_CTX_set_num_tickets(ctx, 0);
    }
    if (!sc->alpn_wire_.empty()) SSL_CTX_set_alpn_select_cb(ctx, &OnAlpn, sc.get());
    if (options.client_auth != ClientAuth::kNone) {
      if (SSL_CTX_load_verify_locations(ctx, options.client_ca_file.c_str(), nullptr) != 1) {
        return fail("client_ca", options.client_ca_file);
      }
      STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(options.client_ca_file.c_str());
      if (names == nullptr) return fail("client_ca", options.client_ca_file);
      SSL_CTX_set_client_CA_list(ctx, names);
      SSL_CTX_set_verify(
          ctx,
          SSL_VERIFY_PEER |
              (options.client_auth == ClientAuth::kRequired ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
          nullptr);
    }
    X509* leaf = SSL_CTX_get0_certificate(ctx);
    sc->names_.push_back(NamesOf(leaf));
    for (const std::string& name : sc->names_.back()) {
      if (name.starts_with("*.")) {
        sc->wildcard_.emplace(name.substr(2), i);  // the first certificate naming it wins
      } else {
        sc->exact_.emplace(name, i);
      }
    }
  }
  SSL_CTX_set_tlsext_servername_callback(sc->ctxs_[0], &OnServerName);
  SSL_CTX_set_tlsext_servername_arg(sc->ctxs_[0], sc.get());
  return sc;
}

ServerContext::~ServerContext() {
  for (SSL_CTX* ctx : ctxs_) SSL_CTX_free(ctx);
}

SSL* ServerContext::NewSsl() const {
  SSL* ssl = SSL_new(ctxs_[0]);
  if (ssl != nullptr) SSL_set_accept_state(ssl);
  return ssl;
}

size_t ServerContext::CertificateFor(std::string_view sni) const {
  if (sni.empty() || sni.size() > 255) return 0;
  std::string name = Lower(sni);
  if (auto it = exact_.find(name); it != exact_.end()) return it->second;
  size_t dot = name.find('.');
  if (dot == std::string::npos) return 0;
  if (auto it = wildcard_.find(name.substr(dot + 1)); it != wildcard_.end()) return it->second;
  return 0;
}

int ServerContext::OnServerName(SSL* ssl, int* /*alert*/, void* arg) {
  const auto* self = static_cast<const ServerContext*>(arg);
  const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (sni == nullptr) return SSL_TLSEXT_ERR_NOACK;
  size_t index = self->CertificateFor(sni);
  if (index != 0) SSL_set_SSL_CTX(ssl, self->ctxs_[index]);
  return SSL_TLSEXT_ERR_OK;
}

int ServerContext::OnAlpn(SSL* /*ssl*/, const unsigned char** out, unsigned char* outlen,
                          const unsigned char* in, unsigned int inlen, void* arg) {
  const auto* self = static_cast<const ServerContext*>(arg);
  unsigned char* selected = nullptr;
  // Server preference: SSL_select_next_proto walks its first list in order.
  if (SSL_select_next_proto(
          &selected, outlen, reinterpret_cast<const unsigned char*>(self->alpn_wire_.data()),
          static_cast<unsigned>(self->alpn_wire_.size()), in, inlen) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace edge::tls
