// JWT verification per algorithm (parse + signature + claims, as the auth filter does per
// request) and API key lookup. Keys are generated at start; tokens are signed once.

#include <benchmark/benchmark.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <memory>
#include <string>

#include "absl/strings/str_format.h"
#include "l7/filters/auth/api_key.h"
#include "l7/filters/auth/base64url.h"
#include "l7/filters/auth/jwks.h"
#include "l7/filters/auth/jwt.h"

namespace edge::l7 {
namespace {

constexpr int64_t kNow = 1'800'000'000;

std::string PublicPem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(len));
  BIO_free(bio);
  return pem;
}

const EVP_MD* Digest(JwtAlgorithm alg) {
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

std::string Sign(JwtAlgorithm alg, EVP_PKEY* key, const std::string& secret,
                 const std::string& input) {
  if (FamilyOf(alg) == JwtKeyFamily::kHmac) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(Digest(alg), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
    return std::string(reinterpret_cast<char*>(mac), len);
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  EVP_DigestSignInit(ctx, &pctx, Digest(alg), nullptr, key);
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
  if (FamilyOf(alg) == JwtKeyFamily::kEcP256 || FamilyOf(alg) == JwtKeyFamily::kEcP384) {
    const int n = FamilyOf(alg) == JwtKeyFamily::kEcP256 ? 32 : 48;
    const unsigned char* p = reinterpret_cast<const unsigned char*>(sig.data());
    ECDSA_SIG* ecdsa = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
    std::string raw(static_cast<size_t>(2 * n), '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(ecdsa), reinterpret_cast<unsigned char*>(raw.data()), n);
    BN_bn2binpad(ECDSA_SIG_get0_s(ecdsa), reinterpret_cast<unsigned char*>(raw.data() + n), n);
    ECDSA_SIG_free(ecdsa);
    return raw;
  }
  return sig;
}

void BM_JwtVerify(benchmark::State& state, JwtAlgorithm alg) {
  const std::string secret(64, 's');
  EvpPkeyPtr priv;
  switch (FamilyOf(alg)) {
    case JwtKeyFamily::kRsa:
      priv.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
      break;
    case JwtKeyFamily::kEcP256:
      priv.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
      break;
    case JwtKeyFamily::kEcP384:
      priv.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"));
      break;
    case JwtKeyFamily::kHmac:
      break;
  }
  auto keys = std::make_shared<JwtKeySet>();
  (void)keys->Add(priv ? JwtKey::FromPem(PublicPem(priv.get()), "k1").value()
                       : JwtKey::FromHmacSecret(secret, "k1").value());
  JwtValidation v;
  v.algorithms = {alg};
  v.issuer = "https://auth.example.com";
  v.audience = "api";
  JwtVerifier verifier(v, keys);
  const std::string header =
      absl::StrFormat(R"({"alg":"%s","kid":"k1","typ":"JWT"})", JwtAlgorithmName(alg));
  const std::string claims = absl::StrFormat(
      R"({"iss":"https://auth.example.com","aud":"api","sub":"user-1234","exp":%d,"iat":%d,"scope":"orders:read orders:write"})",
      kNow + 3600, kNow - 10);
  const std::string input = Base64UrlEncode(header) + "." + Base64UrlEncode(claims);
  const std::string token = input + "." + Base64UrlEncode(Sign(alg, priv.get(), secret, input));
  if (!verifier.Verify(token, kNow).ok()) {
    state.SkipWithError("token does not verify");
    return;
  }
  for (auto _ : state) {
    auto jwt = verifier.Verify(token, kNow);
    benchmark::DoNotOptimize(jwt);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

BENCHMARK_CAPTURE(BM_JwtVerify, HS256, JwtAlgorithm::kHS256);
BENCHMARK_CAPTURE(BM_JwtVerify, HS512, JwtAlgorithm::kHS512);
BENCHMARK_CAPTURE(BM_JwtVerify, RS256, JwtAlgorithm::kRS256);
BENCHMARK_CAPTURE(BM_JwtVerify, RS512, JwtAlgorithm::kRS512);
BENCHMARK_CAPTURE(BM_JwtVerify, PS256, JwtAlgorithm::kPS256);
BENCHMARK_CAPTURE(BM_JwtVerify, ES256, JwtAlgorithm::kES256);
BENCHMARK_CAPTURE(BM_JwtVerify, ES384, JwtAlgorithm::kES384);

// Parsing alone (no crypto): the cost every token pays before the signature check.
void BM_JwtParse(benchmark::State& state) {
  const std::string token =
      Base64UrlEncode(R"({"alg":"HS256","kid":"k1","typ":"JWT"})") + "." +
      Base64UrlEncode(
          R"({"iss":"https://auth.example.com","aud":"api","sub":"user-1234","exp":1800003600,"scope":"orders:read orders:write"})") +
      "." + Base64UrlEncode(std::string(32, 'x'));
  for (auto _ : state) {
    auto jwt = ParseJwt(token);
    benchmark::DoNotOptimize(jwt);
  }
}
BENCHMARK(BM_JwtParse);

// API key lookup among N keys: SHA-256 of the presented key, one hash probe, CRYPTO_memcmp.
void BM_ApiKeyLookup(benchmark::State& state) {
  ApiKeyStore store;
  for (int64_t i = 0; i < state.range(0); ++i) {
    (void)store.Add({absl::StrFormat("consumer-%d", i),
                     Sha256(absl::StrFormat("key-%032d", i)),
                     {"orders:read"}});
  }
  const std::string presented = absl::StrFormat("key-%032d", state.range(0) / 2);
  for (auto _ : state) {
    const ApiKeyEntry* entry = store.Lookup(presented);
    benchmark::DoNotOptimize(entry);
  }
}
BENCHMARK(BM_ApiKeyLookup)->Arg(10)->Arg(100000);

}  // namespace
}  // namespace edge::l7

BENCHMARK_MAIN();
