#pragma once
// The [[auth]] tables of gateway.toml: named authentication providers that routes refer to with
// `auth = "name"` (DESIGN.md, config contract).
//
//   [[auth]]
//   name = "partners"              # required, unique
//   type = "api_key"               # api_key | jwt
//   header = "X-API-Key"           # api_key: where the key is (default X-API-Key) ...
//   query = "api_key"              #   ... or a query parameter instead
//   keys = [{ consumer = "alice", sha256 = "<64 hex>", scopes = ["orders:read"] }]
//   keys_file = "conf/keys.toml"   #   and/or a TOML file holding `keys = [...]` (same entries)
//
//   [[auth]]
//   name = "users"
//   type = "jwt"
//   algorithms = ["RS256", "ES256"]          # required: what tokens may use
//   jwks_file = "conf/jwks.json"             # keys: any of jwks_file, hmac_secret_file,
//   hmac_secret_file = "conf/jwt.secret"     #   public_keys (pem: inline PEM text or a file)
//   public_keys = [{ kid = "k1", pem = "conf/k1.pem" }]
//   issuer = "https://auth.example.com"      # optional checks
//   audience = "api"
//   leeway = "30s"                           # clock skew for exp/nbf/iat (default 0s)
//   require_exp = true                       # refuse tokens without exp (default true)
//   scopes_claim = "scope"                   # space-separated string or array (default "scope")
//   consumer_claim = "sub"                   # becomes the consumer (default "sub")
//
//   # both types:
//   forward_credential = false     # default: the Authorization field, the API-key field or the
//                                  #   API-key query parameter is removed before forwarding
//   strip_credential = true        # older spelling: strip_credential = X is forward_credential =
//                                  #   !X; both given and contradicting is an error
//   consumer_header = "X-Consumer" # identity passed upstream ("" disables)
//   scopes_header = "X-Scopes"
//   claims_to_headers = { sub = "X-User" }   # jwt: claims passed upstream
//
// Key files are read here, when the config is loaded (and so again on every reload: a SIGHUP
// picks up a rotated JWKS). Every error is reported as FILE:LINE:COL with the key, like the rest
// of the config.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/config/toml.h"
#include "l7/filters/auth/api_key.h"
#include "l7/filters/auth/jwks.h"
#include "l7/filters/auth/jwt.h"

namespace edge::l7 {

enum class AuthType { kApiKey, kJwt };

struct ApiKeyProviderConfig {
  std::string header = "X-API-Key";  // empty when `query` is used
  std::string query;
  std::shared_ptr<ApiKeyStore> keys = std::make_shared<ApiKeyStore>();
};

struct JwtProviderConfig {
  JwtValidation validation;
  std::shared_ptr<JwtKeySet> keys = std::make_shared<JwtKeySet>();
  std::string scopes_claim = "scope";
  std::string consumer_claim = "sub";
};

struct AuthProviderConfig {
  std::string name;
  AuthType type = AuthType::kApiKey;
  bool forward_credential = false;  // send the credential upstream too
  std::string consumer_header = "X-Consumer";
  std::string scopes_header = "X-Scopes";
  std::vector<std::pair<std::string, std::string>> claims_to_headers;  // claim -> header
  ApiKeyProviderConfig api_key;                                        // type api_key
  JwtProviderConfig jwt;                                               // type jwt
};

// Reads every [[auth]] table of `document` (a parsed gateway.toml; `path` names it in errors) and
// loads the key files they name. No [[auth]]: an empty list.
absl::StatusOr<std::vector<AuthProviderConfig>> ParseAuthConfigs(const toml::table& document,
                                                                 const std::string& path);

}  // namespace edge::l7
