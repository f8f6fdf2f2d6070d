#pragma once
// AuthProvider: one configured [[auth]] provider turning a request's credential into an Identity.
// Shared (read-only, plus counters) by every route that names it.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "l7/filters/auth/auth_config.h"
#include "l7/filters/filter.h"

namespace edge::l7 {

struct AuthResult {
  enum class Outcome { kOk, kMissing, kInvalid };
  Outcome outcome = Outcome::kMissing;
  std::string reason;  // why not kOk: short, safe to show the client (error_description)
  Identity identity;   // kOk only
};

// Counters of one provider, read by the admin endpoint (same thread in gw7; atomics make reading
// from another thread, e.g. a test, safe as well).
struct AuthCounters {
  std::atomic<uint64_t> ok{0};
  std::atomic<uint64_t> missing{0};
  std::atomic<uint64_t> invalid{0};
  std::atomic<uint64_t> forbidden{0};  // authenticated, but lacking a route's scopes or claims
};

class AuthProvider {
 public:
  explicit AuthProvider(AuthProviderConfig config);

  // api_key: the key from the header or query parameter, looked up by hash.
  // jwt: "Authorization: Bearer <token>", verified against the provider's keys at `now_unix`.
  AuthResult Authenticate(const RequestView& request, int64_t now_unix) const;

  const AuthProviderConfig& config() const { return config_; }
  const std::string& name() const { return config_.name; }
  // The scheme for WWW-Authenticate: "Bearer" (jwt) or "ApiKey".
  std::string_view scheme() const { return config_.type == AuthType::kJwt ? "Bearer" : "ApiKey"; }
  // The request header that carries the credential ("" for a query parameter).
  std::string_view credential_header() const;
  AuthCounters& counters() const { return counters_; }

 private:
  AuthResult AuthenticateApiKey(const RequestView& request) const;
  AuthResult AuthenticateJwt(const RequestView& request, int64_t now_unix) const;

  AuthProviderConfig config_;
  std::unique_ptr<JwtVerifier> verifier_;  // jwt only
  mutable AuthCounters counters_;
};

// The token of an "Authorization: Bearer <token>" value (scheme case-insensitive, RFC 6750 2.1),
// or nullopt when the value is not one Bearer credential: the token must be a b64token (no space,
// comma or quote inside).
std::optional<std::string_view> BearerToken(std::string_view authorization);

}  // namespace edge::l7
