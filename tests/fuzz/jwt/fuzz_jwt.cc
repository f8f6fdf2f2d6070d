// Fuzz target: the JWT compact-serialization parser (base64url, JOSE header, claims JSON) and the
// JWKS parser. Any input must give a token/key set or an error: no crash, no hang, no leak. A
// parsed token must keep ParseJwt's promises, checked here; verification against fixed keys
// (RFC 7515 A.3's, so the corpus' A.3 token verifies) runs on every parsed token.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "l7/filters/auth/jwks.h"
#include "l7/filters/auth/jwt.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

const edge::l7::JwtVerifier& Verifier() {
  static const edge::l7::JwtVerifier* verifier = [] {
    auto keys = std::make_shared<edge::l7::JwtKeySet>();
    auto hmac = edge::l7::JwtKey::FromHmacSecret(std::string(64, 'k'), "");
    Check(hmac.ok());
    Check(keys->Add(*std::move(hmac)).ok());
    // RFC 7515 A.3's P-256 key.
    auto ec = edge::l7::JwtKey::FromJwkJson(
        R"({"kty":"EC","kid":"ec","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"})");
    Check(ec.ok());
    Check(keys->Add(*std::move(ec)).ok());
    edge::l7::JwtValidation v;
    v.algorithms = {edge::l7::JwtAlgorithm::kHS256, edge::l7::JwtAlgorithm::kES256,
                    edge::l7::JwtAlgorithm::kRS256};
    v.require_exp = false;
    return new edge::l7::JwtVerifier(v, keys);
  }();
  return *verifier;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  auto jwt = edge::l7::ParseJwt(text);
  if (!jwt.ok()) Check(!Verifier().Verify(text, 0).ok());
  if (jwt.ok()) {
    Check(size <= edge::l7::kMaxJwtBytes);
    Check(!jwt->signature.empty());
    Check(text.substr(0, jwt->signing_input.size()) == jwt->signing_input);
    Check(text[jwt->signing_input.size()] == '.');
    auto verified = Verifier().Verify(text, 0);
    if (verified.ok()) Check(verified->header.alg == jwt->header.alg);
  } else {
    Check(jwt.status().code() == absl::StatusCode::kUnauthenticated);
    Check(!jwt.status().message().empty());
  }

  auto keys = edge::l7::ParseJwks(text);
  if (!keys.ok()) Check(keys.status().code() == absl::StatusCode::kInvalidArgument);
  return 0;
}
