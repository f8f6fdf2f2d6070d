#pragma once
// Test-only token minting: generates RSA/EC keys with OpenSSL at test time and signs JWTs with
// them (and with HMAC secrets), so tests need no committed private keys.

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <memory>
#include <string>
#include <string_view>

#include "l7/filters/auth/base64url.h"
#include "l7/filters/auth/jwks.h"
#include "l7/filters/auth/jwt_algorithm.h"

namespace edge::l7::testing {

inline EvpPkeyPtr GenerateRsa(int bits = 2048) {
  return EvpPkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits)));
}
inline EvpPkeyPtr GenerateEc(const char* curve) {
  return EvpPkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve));
}

inline std::string PublicPem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  return pem;
}

inline const EVP_MD* TestDigest(JwtAlgorithm alg) {
  switch (alg) {
    case JwtAlgorithm::kHS384:
    case JwtAlgorithm::kRS384:
    case JwtAlgorithm::kES384:
      return EVP_sha384();
    case JwtAlgorithm::kHS512:
    case JwtAlgorithm::kRS512:
      return EVP_sha512();
    default:
      return EVP_sha256();
  }
}

// Signs `input` per JWS `alg` with a private key (RSA/EC) and returns the JOSE signature bytes.
inline std::string SignWithKey(JwtAlgorithm alg, EVP_PKEY* key, std::string_view input) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  EVP_DigestSignInit(ctx, &pctx, TestDigest(alg), nullptr, key);
  if (alg == JwtAlgorithm::kPS256) {
    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
  }
  size_t len = 0;
  EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                 input.size());
  std::string sig(len, '\0');
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                 reinterpret_cast<const unsigned char*>(input.data()), input.size());
  sig.resize(len);
  EVP_MD_CTX_free(ctx);
  if (alg == JwtAlgorithm::kES256 || alg == JwtAlgorithm::kES384) {
    // DER -> fixed-size r||s.
    const size_t n = alg == JwtAlgorithm::kES256 ? 32 : 48;
    const unsigned char* p = reinterpret_cast<const unsigned char*>(sig.data());
    ECDSA_SIG* ecdsa = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
    std::string raw(2 * n, '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(ecdsa), reinterpret_cast<unsigned char*>(raw.data()),
                 static_cast<int>(n));
    BN_bn2binpad(ECDSA_SIG_get0_s(ecdsa), reinterpret_cast<unsigned char*>(raw.data() + n),
                 static_cast<int>(n));
    ECDSA_SIG_free(ecdsa);
    return raw;
  }
  return sig;
}

inline std::string SignWithSecret(JwtAlgorithm alg, std::string_view secret,
                                  std::string_view input) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(TestDigest(alg), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return std::string(reinterpret_cast<char*>(mac), len);
}

// header_json and payload_json are used verbatim.
inline std::string MakeToken(std::string_view header_json, std::string_view payload_json,
                             JwtAlgorithm alg, EVP_PKEY* key, std::string_view secret = "") {
  std::string input = Base64UrlEncode(header_json) + "." + Base64UrlEncode(payload_json);
  std::string sig =
      key != nullptr ? SignWithKey(alg, key, input) : SignWithSecret(alg, secret, input);
  return input + "." + Base64UrlEncode(sig);
}

}  // namespace edge::l7::testing
