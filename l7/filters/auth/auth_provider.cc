#include "l7/filters/auth/auth_provider.h"

#include <strings.h>

namespace edge::l7 {
namespace {

AuthResult Fail(AuthResult::Outcome outcome, std::string reason) {
  AuthResult result;
  result.outcome = outcome;
  result.reason = std::move(reason);
  return result;
}

bool IsB64TokenChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

}  // namespace

std::optional<std::string_view> BearerToken(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size() ||
      strncasecmp(authorization.data(), kScheme.data(), kScheme.size()) != 0 ||
      authorization[kScheme.size()] != ' ') {
    return std::nullopt;
  }
  std::string_view token = authorization.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
  if (token.empty()) return std::nullopt;
  // b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=": anything else (a
  // space, a comma starting a second credential, a quote) is not one bearer token.
  size_t i = 0;
  while (i < token.size() && IsB64TokenChar(token[i])) ++i;
  if (i == 0) return std::nullopt;
  while (i < token.size() && token[i] == '=') ++i;
  if (i != token.size()) return std::nullopt;
  return token;
}

AuthProvider::AuthProvider(AuthProviderConfig config) : config_(std::move(config)) {
  if (config_.type == AuthType::kJwt) {
    verifier_ = std::make_unique<JwtVerifier>(config_.jwt.validation, config_.jwt.keys);
  }
}

std::string_view AuthProvider::credential_header() const {
  if (config_.type == AuthType::kJwt) return "Authorization";
  return config_.api_key.header;
}

AuthResult AuthProvider::Authenticate(const RequestView& request, int64_t now_unix) const {
  AuthResult result = config_.type == AuthType::kJwt ? AuthenticateJwt(request, now_unix)
                                                     : AuthenticateApiKey(request);
  switch (result.outcome) {
    case AuthResult::Outcome::kOk:
      counters_.ok.fetch_add(1, std::memory_order_relaxed);
      break;
    case AuthResult::Outcome::kMissing:
      counters_.missing.fetch_add(1, std::memory_order_relaxed);
      break;
    case AuthResult::Outcome::kInvalid:
      counters_.invalid.fetch_add(1, std::memory_order_relaxed);
      break;
  }
  return result;
}

AuthResult AuthProvider::AuthenticateApiKey(const RequestView& request) const {
  const ApiKeyProviderConfig& cfg = config_.api_key;
  std::string from_query;
  std::string_view presented;
  if (!cfg.query.empty()) {
    auto value = QueryParameter(request.query(), cfg.query);
    if (!value) return Fail(AuthResult::Outcome::kMissing, "missing API key");
    from_query = *std::move(value);
    presented = from_query;
  } else {
    auto value = request.header(cfg.header);
    if (!value) return Fail(AuthResult::Outcome::kMissing, "missing API key");
    presented = *value;
  }
  if (presented.empty()) return Fail(AuthResult::Outcome::kMissing, "missing API key");
  const ApiKeyEntry* entry = cfg.keys->Lookup(presented);
  if (entry == nullptr) return Fail(AuthResult::Outcome::kInvalid, "invalid API key");
  AuthResult result;
  result.outcome = AuthResult::Outcome::kOk;
  result.identity.authenticated = true;
  result.identity.consumer = entry->consumer;
  result.identity.scopes = entry->scopes;
  return result;
}

AuthResult AuthProvider::AuthenticateJwt(const RequestView& request, int64_t now_unix) const {
  auto header = request.header("Authorization");
  if (!header) return Fail(AuthResult::Outcome::kMissing, "missing bearer token");
  auto token = BearerToken(*header);
  if (!token) return Fail(AuthResult::Outcome::kMissing, "missing bearer token");
  auto jwt = verifier_->Verify(*token, now_unix);
  if (!jwt.ok()) return Fail(AuthResult::Outcome::kInvalid, std::string(jwt.status().message()));
  AuthResult result;
  result.outcome = AuthResult::Outcome::kOk;
  Identity& id = result.identity;
  id.authenticated = true;
  if (auto consumer = jwt->claims.Get(config_.jwt.consumer_claim))
    id.consumer = std::string(*consumer);
  id.scopes = jwt->claims.Scopes(config_.jwt.scopes_claim);
  id.claims = std::move(jwt->claims.all);
  id.claim_values = std::move(jwt->claims.values);
  return result;
}

}  // namespace edge::l7
