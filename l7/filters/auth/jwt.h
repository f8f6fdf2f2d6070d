#pragma once
// JSON Web Tokens (RFC 7519) in JWS compact serialization (RFC 7515 section 7.1): parsing of
// untrusted tokens, signature verification through OpenSSL EVP, and claim validation.
//
// The parser is strict: exactly three non-empty-header base64url parts (canonical, unpadded),
// bounded sizes, a JSON object header with a supported "alg" (never "none"), no "crit" (we
// understand no extension, RFC 7515 4.1.11), a JSON object payload without duplicate claim
// names, registered claims of the right types. Anything else is an error; nothing is guessed.
//
// Every error is Unauthenticated with a short message meant for the client (the
// error_description of WWW-Authenticate): it names what was wrong, never a key or a secret.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "l7/filters/auth/jwks.h"
#include "l7/filters/auth/jwt_algorithm.h"

namespace edge::l7 {

inline constexpr size_t kMaxJwtBytes = 16384;
inline constexpr size_t kMaxJwtHeaderBytes = 2048;  // decoded
inline constexpr int kMaxJwtJsonDepth = 16;

struct JwtHeader {
  JwtAlgorithm alg = JwtAlgorithm::kHS256;
  std::string kid;  // empty when absent
  std::string typ;  // empty when absent
};

// NumericDate (RFC 7519 2) claims "exp", "nbf" and "iat": a JSON number, integer or not, in any
// notation (1700000000, 1.7e9, 1700000000.5), from 0 to kMaxNumericDate inclusive. Anything else
// (a string, a negative number, a larger one such as 1e300 or 2^64) is refused as "not a
// NumericDate". A fraction is rounded up to the next second, which makes every check below exact
// against a clock in whole seconds (`now` is integer; now >= 10.5 iff now >= 11).
// With `now` the clock and `leeway` the allowed skew (negative counts as 0, any size up to
// INT64_MAX is safe; no sum can overflow), a token is refused when
//   now >= exp + leeway  ("token expired"; RFC 7519 4.1.4: not on or after exp),
//   now + leeway < nbf   ("token not yet valid (nbf)"),
//   iat > now + leeway   ("token issued in the future (iat)"),
// each computed as if on unbounded integers.
inline constexpr int64_t kMaxNumericDate = 253402300799;  // 9999-12-31T23:59:59Z

struct JwtClaims {
  std::string iss;  // empty when absent
  std::string sub;
  std::vector<std::string> aud;          // a string audience becomes one element
  std::optional<int64_t> exp, nbf, iat;  // NumericDate, whole seconds (see above)
  // Every top-level claim in string form, in token order: strings as they are, numbers in
  // decimal, booleans as true/false, arrays of those joined by single spaces (the form passed
  // upstream in a header). Objects, null and nested arrays are left out.
  std::vector<std::pair<std::string, std::string>> all;
  // The same claims for comparing (require_claims): a scalar as one entry, an array as one entry
  // per element with the claim's name repeated, never joined or split, so ["a b"] is the one value
  // "a b" and ["a","b"] two.
  std::vector<std::pair<std::string, std::string>> values;
  std::vector<std::string> array_names;  // claims whose value is an array

  // The value of claim `name` in string form (see `all`), if present.
  std::optional<std::string_view> Get(std::string_view name) const;
  // The scopes granted by claim `name`: a string is a space-separated list (RFC 8693 4.2), an
  // array's elements are each one scope, whole (["a b"] is the scope "a b").
  std::vector<std::string> Scopes(std::string_view name) const;
};

struct ParsedJwt {
  JwtHeader header;
  JwtClaims claims;
  std::string_view signing_input;  // "header.payload", a view into the token given to ParseJwt
  std::string signature;           // decoded
};

// Parses without verifying anything cryptographic. The result refers to `token`.
absl::StatusOr<ParsedJwt> ParseJwt(std::string_view token);

// Checks the signature of `jwt` with `key`. Refuses a key whose family does not fit the token's
// algorithm (algorithm confusion), a JWK restricted to another algorithm, an HMAC secret shorter
// than the hash (RFC 7518 3.2), and an ECDSA signature that is not exactly r||s of the curve's
// size.
absl::Status VerifyJwtSignature(const ParsedJwt& jwt, const JwtKey& key);

// What a provider accepts.
struct JwtValidation {
  std::vector<JwtAlgorithm> algorithms;  // allowed; a token with another alg is refused
  std::string issuer;                    // required "iss" when non-empty
  std::string audience;                  // required among "aud" when non-empty
  int64_t leeway_seconds = 0;            // clock skew for exp, nbf and iat (rules above)
  bool require_exp = true;               // a token without "exp" is refused
};

class JwtVerifier {
 public:
  JwtVerifier(JwtValidation validation, std::shared_ptr<const JwtKeySet> keys);

  // Parses, checks the algorithm against the allowed list, picks the key (by kid when the token
  // has one: an unknown kid is refused; otherwise every key of the right family is tried), checks
  // the signature, then exp/nbf/iat against `now_unix` with leeway, iss and aud.
  absl::StatusOr<ParsedJwt> Verify(std::string_view token, int64_t now_unix) const;

  const JwtValidation& validation() const { return validation_; }

 private:
  absl::Status CheckClaims(const JwtClaims& claims, int64_t now_unix) const;

  JwtValidation validation_;
  std::shared_ptr<const JwtKeySet> keys_;
};

}  // namespace edge::l7
