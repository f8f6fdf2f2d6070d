#pragma once
// The JWS algorithms gw7 verifies (RFC 7518 section 3) and the kind of key each one needs. "none"
// is deliberately not among them: an unsigned token is never accepted.

#include <optional>
#include <string_view>

namespace edge::l7 {

enum class JwtAlgorithm { kHS256, kHS384, kHS512, kRS256, kRS384, kRS512, kPS256, kES256, kES384 };

// The key a signature of an algorithm is checked with. A token is only ever checked with a key of
// its algorithm's family: an HMAC token against an RSA public key (whose PEM text an attacker
// knows) is the classic "algorithm confusion" forgery, refused here by construction.
enum class JwtKeyFamily { kHmac, kRsa, kEcP256, kEcP384 };

// "HS256" -> kHS256 (exact, case-sensitive as RFC 7515 requires); nullopt for anything else,
// "none" included.
std::optional<JwtAlgorithm> JwtAlgorithmFromName(std::string_view name);
std::string_view JwtAlgorithmName(JwtAlgorithm alg);
JwtKeyFamily FamilyOf(JwtAlgorithm alg);
std::string_view FamilyName(JwtKeyFamily family);

// The names accepted by JwtAlgorithmFromName, for config error messages.
inline constexpr std::string_view kJwtAlgorithmNames =
    "HS256|HS384|HS512|RS256|RS384|RS512|PS256|ES256|ES384";

}  // namespace edge::l7
