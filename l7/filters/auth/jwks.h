#pragma once
// Keys that JWT signatures are verified with: RSA and EC public keys (from PEM files or a JWKS
// document, RFC 7517) and HMAC secrets (from a file or a JWKS "oct" key).
//
// Every key knows its family (jwt_algorithm.h); the verifier only pairs a token with keys of the
// family its algorithm needs. Weak keys are refused when loaded rather than when used: RSA below
// 2048 bits, HMAC secrets below 32 bytes, EC points not on their curve.

#include <openssl/evp.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "l7/filters/auth/jwt_algorithm.h"

namespace edge::l7 {

struct EvpPkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;

inline constexpr size_t kMinHmacSecretBytes = 32;
inline constexpr int kMinRsaBits = 2048;

class JwtKey {
 public:
  // A public key in PEM ("BEGIN PUBLIC KEY", or a "BEGIN CERTIFICATE" whose key is used): RSA of
  // at least 2048 bits, or EC on P-256 or P-384. A private key is refused.
  static absl::StatusOr<JwtKey> FromPem(std::string_view pem, std::string kid);
  static absl::StatusOr<JwtKey> FromHmacSecret(std::string secret, std::string kid);
  // One JWK object as JSON text (kty RSA with n/e, EC with crv/x/y, oct with k).
  static absl::StatusOr<JwtKey> FromJwkJson(std::string_view json);

  JwtKey(JwtKey&&) = default;
  JwtKey& operator=(JwtKey&&) = default;

  const std::string& kid() const { return kid_; }
  JwtKeyFamily family() const { return family_; }
  // The JWK's "alg", when it names one: the key then verifies only that algorithm.
  std::optional<JwtAlgorithm> alg() const { return alg_; }
  EVP_PKEY* pkey() const { return pkey_.get(); }       // RSA and EC keys
  std::string_view secret() const { return secret_; }  // HMAC keys
  // A number no other key made by this process has: what caches of derived state key on (an
  // address could be reused by a later key).
  uint64_t serial() const { return serial_; }

 private:
  friend class JwkBuilder;
  JwtKey();
  uint64_t serial_;
  std::string kid_;
  JwtKeyFamily family_ = JwtKeyFamily::kHmac;
  std::optional<JwtAlgorithm> alg_;
  EvpPkeyPtr pkey_;
  std::string secret_;
};

// A provider's keys. Kids are unique within a set (an empty kid may repeat: such keys are only
// tried for tokens without a kid).
class JwtKeySet {
 public:
  absl::Status Add(JwtKey key);
  // The key with that kid, or null.
  const JwtKey* FindByKid(std::string_view kid) const;
  const std::vector<JwtKey>& keys() const { return keys_; }
  bool empty() const { return keys_.empty(); }

 private:
  std::vector<JwtKey> keys_;
};

// A JWKS document {"keys": [...]}. Keys whose "use" is not "sig" are skipped (they are for
// encryption); keys of an unsupported kty or curve are errors, so a typo does not silently drop
// the key a deployment relies on. At most 256 keys.
absl::StatusOr<std::vector<JwtKey>> ParseJwks(std::string_view json);

// Files: read whole (bounded), errors name the path.
absl::StatusOr<std::vector<JwtKey>> LoadJwksFile(const std::string& path);
absl::StatusOr<JwtKey> LoadPemKeyFile(const std::string& path, std::string kid);
// The secret is the file's bytes without one trailing newline ("\n" or "\r\n").
absl::StatusOr<JwtKey> LoadHmacSecretFile(const std::string& path, std::string kid);

}  // namespace edge::l7
