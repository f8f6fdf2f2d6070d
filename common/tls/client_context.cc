#include "common/tls/client_context.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "absl/strings/str_format.h"
#include "common/tls/server_context.h"

namespace edge::tls {
namespace {

int CtxIndex() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

int SslIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ClientContext>> ClientContext::Create(
    const ClientContextOptions& options) {
  std::unique_ptr<ClientContext> cc(new ClientContext());
  cc->server_name_ = options.server_name;
  cc->session_reuse_ = options.session_reuse;
  ERR_clear_error();
  cc->ctx_ = SSL_CTX_new(TLS_client_method());
  if (cc->ctx_ == nullptr) return absl::ResourceExhaustedError(OpenSslErrors());
  SSL_CTX* ctx = cc->ctx_;
  if (SSL_CTX_set_min_proto_version(ctx, options.min_version) != 1) {
    return absl::InvalidArgumentError("bad min_version");
  }
  if (options.verify) {
    if (SSL_CTX_load_verify_locations(ctx, options.ca_file.c_str(), nullptr) != 1) {
      return absl::InvalidArgumentError(
          absl::StrFormat("ca_file \"%s\": %s", options.ca_file, OpenSslErrors()));
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  if (!options.alpn.empty()) {
    std::string wire;
    for (const std::string& p : options.alpn) {
      if (p.empty() || p.size() > 255) return absl::InvalidArgumentError("bad ALPN protocol name");
      wire.push_back(static_cast<char>(p.size()));
      wire += p;
    }
    // Unusually, 0 is success here.
    if (SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>(wire.data()),
                                static_cast<unsigned>(wire.size())) != 0) {
      return absl::ResourceExhaustedError(OpenSslErrors());
    }
  }
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                            SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  if (options.session_reuse) {
    // OpenSSL's own client cache is keyed by nothing useful here; the table below is per backend.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_set_ex_data(ctx, CtxIndex(), cc.get());
    SSL_CTX_sess_set_new_cb(ctx, &OnNewSession);
  } else {
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  }
  return cc;
}

ClientContext::~ClientContext() {
  SSL_CTX_free(ctx_);
  absl::MutexLock lock(&mu_);
  for (auto& [backend, session] : sessions_) SSL_SESSION_free(session);
}

SSL* ClientContext::NewSsl(const std::string& backend) const {
  SSL* ssl = SSL_new(ctx_);
  if (ssl == nullptr) return nullptr;
  SSL_set_connect_state(ssl);
  if (!server_name_.empty() && (SSL_set_tlsext_host_name(ssl, server_name_.c_str()) != 1 ||
                                SSL_set1_host(ssl, server_name_.c_str()) != 1)) {
    SSL_free(ssl);
    return nullptr;
  }
  if (session_reuse_) {
    SSL_set_ex_data(ssl, SslIndex(), const_cast<std::string*>(&backend));
    absl::MutexLock lock(&mu_);
    auto it = sessions_.find(backend);
    if (it != sessions_.end()) SSL_set_session(ssl, it->second);  // takes its own reference
  }
  return ssl;
}

size_t ClientContext::cached_sessions() const {
  absl::MutexLock lock(&mu_);
  return sessions_.size();
}

// OpenSSL hands over a reference to each new resumable session (TLS 1.3 tickets arrive after the
// handshake, with the first reads); returning 1 keeps it.
int ClientContext::OnNewSession(SSL* ssl, SSL_SESSION* session) {
  auto* self = static_cast<ClientContext*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), CtxIndex()));
  auto* backend = static_cast<const std::string*>(SSL_get_ex_data(ssl, SslIndex()));
  if (self == nullptr || backend == nullptr) return 0;
  absl::MutexLock lock(&self->mu_);
  SSL_SESSION*& slot = self->sessions_[*backend];
  if (slot != nullptr) SSL_SESSION_free(slot);
  slot = session;
  return 1;
}

}  // namespace edge::tls
