#include "l7/filters/auth/jwks.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <atomic>
#include <utility>

#include "absl/strings/str_format.h"
#include "common/config/file.h"
#include "common/status.h"
#include "l7/filters/auth/base64url.h"

namespace edge::l7 {

JwtKey::JwtKey() {
  static std::atomic<uint64_t> next_serial{1};
  serial_ = next_serial.fetch_add(1, std::memory_order_relaxed);
}

constexpr size_t kMaxJwksKeys = 256;
constexpr size_t kMaxKidBytes = 256;

// Builds JwtKeys from parts; the one friend of JwtKey, so that a key is only ever made through a
// path that validated it.
class JwkBuilder {
 public:
  static JwtKey Make(std::string kid, JwtKeyFamily family, EvpPkeyPtr pkey, std::string secret,
                     std::optional<JwtAlgorithm> alg) {
    JwtKey key;
    key.kid_ = std::move(kid);
    key.family_ = family;
    key.pkey_ = std::move(pkey);
    key.secret_ = std::move(secret);
    key.alg_ = alg;
    return key;
  }
};

namespace {

struct BnFree {
  void operator()(BIGNUM* bn) const { BN_free(bn); }
};
struct ParamBldFree {
  void operator()(OSSL_PARAM_BLD* b) const { OSSL_PARAM_BLD_free(b); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};

// OpenSSL's queued errors are per thread; drop them so a later, unrelated call does not report
// a stale one.
std::string OpenSslError() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  return buf;
}

// Classifies a public key and refuses weak or unsupported ones.
absl::StatusOr<JwtKeyFamily> FamilyOfKey(EVP_PKEY* pkey) {
  switch (EVP_PKEY_get_base_id(pkey)) {
    case EVP_PKEY_RSA: {
      int bits = EVP_PKEY_get_bits(pkey);
      if (bits < kMinRsaBits) {
        return absl::InvalidArgumentError(
            absl::StrFormat("RSA key of %d bits is too weak (at least %d)", bits, kMinRsaBits));
      }
      return JwtKeyFamily::kRsa;
    }
    case EVP_PKEY_EC: {
      char group[64] = {0};
      size_t len = 0;
      if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                         &len) != 1) {
        return absl::InvalidArgumentError("EC key without a named curve");
      }
      std::string_view name(group, len);
      if (name == "prime256v1" || name == "P-256") return JwtKeyFamily::kEcP256;
      if (name == "secp384r1" || name == "P-384") return JwtKeyFamily::kEcP384;
      return absl::InvalidArgumentError(
          absl::StrFormat("EC curve %s is not supported (P-256, P-384)", name));
    }
    default:
      return absl::InvalidArgumentError("unsupported key type (RSA or EC public keys only)");
  }
}

absl::Status CheckPublicKey(EVP_PKEY* pkey) {
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(
      EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  if (ctx == nullptr || EVP_PKEY_public_check(ctx.get()) != 1) {
    return absl::InvalidArgumentError("invalid public key: " + OpenSslError());
  }
  return absl::OkStatus();
}

absl::StatusOr<EvpPkeyPtr> FromParams(const char* type, OSSL_PARAM_BLD* bld) {
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld));
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(
      EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (params == nullptr || ctx == nullptr || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return absl::InvalidArgumentError("cannot build key: " + OpenSslError());
  }
  EvpPkeyPtr pkey(raw);
  RETURN_IF_ERROR(CheckPublicKey(pkey.get()));
  return pkey;
}

const rapidjson::Value* Member(const rapidjson::Value& object, const char* name) {
  auto it = object.FindMember(name);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

// A required base64url member, decoded.
absl::StatusOr<std::string> B64Member(const rapidjson::Value& jwk, const char* name) {
  const rapidjson::Value* v = Member(jwk, name);
  if (v == nullptr || !v->IsString()) {
    return absl::InvalidArgumentError(absl::StrFormat("missing string member \"%s\"", name));
  }
  auto bytes = Base64UrlDecode(std::string_view(v->GetString(), v->GetStringLength()));
  if (!bytes || bytes->empty()) {
    return absl::InvalidArgumentError(absl::StrFormat("\"%s\" is not base64url", name));
  }
  return *std::move(bytes);
}

absl::StatusOr<EvpPkeyPtr> RsaFromJwk(const rapidjson::Value& jwk) {
  ASSIGN_OR_RETURN(std::string n, B64Member(jwk, "n"));
  ASSIGN_OR_RETURN(std::string e, B64Member(jwk, "e"));
  std::unique_ptr<BIGNUM, BnFree> bn_n(BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()),
                                                 static_cast<int>(n.size()), nullptr));
  std::unique_ptr<BIGNUM, BnFree> bn_e(BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()),
                                                 static_cast<int>(e.size()), nullptr));
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (bn_n == nullptr || bn_e == nullptr || bld == nullptr ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
    return absl::InvalidArgumentError("cannot build RSA key: " + OpenSslError());
  }
  return FromParams("RSA", bld.get());
}

absl::StatusOr<std::pair<EvpPkeyPtr, JwtKeyFamily>> EcFromJwk(const rapidjson::Value& jwk) {
  const rapidjson::Value* crv = Member(jwk, "crv");
  if (crv == nullptr || !crv->IsString()) {
    return absl::InvalidArgumentError("missing string member \"crv\"");
  }
  std::string_view curve(crv->GetString(), crv->GetStringLength());
  const char* group = nullptr;
  size_t coordinate = 0;
  JwtKeyFamily family;
  if (curve == "P-256") {
    group = "prime256v1";
    coordinate = 32;
    family = JwtKeyFamily::kEcP256;
  } else if (curve == "P-384") {
    group = "secp384r1";
    coordinate = 48;
    family = JwtKeyFamily::kEcP384;
  } else {
    return absl::InvalidArgumentError(
        absl::StrFormat("crv \"%s\" is not supported (P-256, P-384)", curve));
  }
  ASSIGN_OR_RETURN(std::string x, B64Member(jwk, "x"));
  ASSIGN_OR_RETURN(std::string y, B64Member(jwk, "y"));
  // RFC 7518 6.2.1.2: the coordinates are the full field size, leading zeros included.
  if (x.size() != coordinate || y.size() != coordinate) {
    return absl::InvalidArgumentError(
        absl::StrFormat("x and y must be %d bytes for %s", coordinate, curve));
  }
  std::string point = "\x04" + x + y;  // uncompressed SEC1 point
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (bld == nullptr ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return absl::InvalidArgumentError("cannot build EC key: " + OpenSslError());
  }
  ASSIGN_OR_RETURN(EvpPkeyPtr pkey, FromParams("EC", bld.get()));
  return std::make_pair(std::move(pkey), family);
}

absl::StatusOr<JwtKey> KeyFromJwk(const rapidjson::Value& jwk) {
  if (!jwk.IsObject()) return absl::InvalidArgumentError("a key is not a JSON object");
  std::string kid;
  if (const rapidjson::Value* v = Member(jwk, "kid")) {
    if (!v->IsString() || v->GetStringLength() == 0 || v->GetStringLength() > kMaxKidBytes) {
      return absl::InvalidArgumentError("\"kid\" must be a non-empty string of at most 256 bytes");
    }
    kid.assign(v->GetString(), v->GetStringLength());
  }
  std::optional<JwtAlgorithm> alg;
  if (const rapidjson::Value* v = Member(jwk, "alg")) {
    if (!v->IsString()) return absl::InvalidArgumentError("\"alg\" must be a string");
    alg = JwtAlgorithmFromName(std::string_view(v->GetString(), v->GetStringLength()));
    if (!alg) {
      return absl::InvalidArgumentError(
          absl::StrFormat("alg \"%s\" is not supported (%s)", v->GetString(), kJwtAlgorithmNames));
    }
  }
  const rapidjson::Value* kty = Member(jwk, "kty");
  if (kty == nullptr || !kty->IsString()) {
    return absl::InvalidArgumentError("missing string member \"kty\"");
  }
  std::string_view type(kty->GetString(), kty->GetStringLength());
  JwtKey key = JwkBuilder::Make("", JwtKeyFamily::kHmac, nullptr, "", std::nullopt);
  if (type == "RSA") {
    ASSIGN_OR_RETURN(EvpPkeyPtr pkey, RsaFromJwk(jwk));
    ASSIGN_OR_RETURN(JwtKeyFamily family, FamilyOfKey(pkey.get()));
    key = JwkBuilder::Make(std::move(kid), family, std::move(pkey), "", alg);
  } else if (type == "EC") {
    ASSIGN_OR_RETURN(auto ec, EcFromJwk(jwk));
    key = JwkBuilder::Make(std::move(kid), ec.second, std::move(ec.first), "", alg);
  } else if (type == "oct") {
    ASSIGN_OR_RETURN(std::string k, B64Member(jwk, "k"));
    if (k.size() < kMinHmacSecretBytes) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "oct key of %d bytes is too short (at least %d)", k.size(), kMinHmacSecretBytes));
    }
    key = JwkBuilder::Make(std::move(kid), JwtKeyFamily::kHmac, nullptr, std::move(k), alg);
  } else {
    return absl::InvalidArgumentError(
        absl::StrFormat("kty \"%s\" is not supported (RSA, EC, oct)", type));
  }
  if (alg && FamilyOf(*alg) != key.family()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "alg %s does not fit a %s key", JwtAlgorithmName(*alg), FamilyName(key.family())));
  }
  return key;
}

absl::Status Prefixed(const absl::Status& status, std::string_view prefix) {
  return absl::Status(status.code(), absl::StrFormat("%s: %s", prefix, status.message()));
}

}  // namespace

absl::StatusOr<JwtKey> JwtKey::FromPem(std::string_view pem, std::string kid) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return absl::InternalError("out of memory");
  EvpPkeyPtr pkey(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (pkey == nullptr) {
    ERR_clear_error();
    BIO_reset(bio.get());
    std::unique_ptr<X509, X509Free> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (cert != nullptr) pkey.reset(X509_get_pubkey(cert.get()));
  }
  if (pkey == nullptr) {
    ERR_clear_error();
    BIO_reset(bio.get());
    // A private key by mistake: say so rather than "no public key".
    pkey.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    if (pkey != nullptr) {
      return absl::InvalidArgumentError("a private key was given; configure the public key only");
    }
  }
  if (pkey == nullptr) {
    return absl::InvalidArgumentError("no PEM public key or certificate: " + OpenSslError());
  }
  ASSIGN_OR_RETURN(JwtKeyFamily family, FamilyOfKey(pkey.get()));
  return JwkBuilder::Make(std::move(kid), family, std::move(pkey), "", std::nullopt);
}

absl::StatusOr<JwtKey> JwtKey::FromHmacSecret(std::string secret, std::string kid) {
  if (secret.size() < kMinHmacSecretBytes) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "HMAC secret of %d bytes is too short (at least %d)", secret.size(), kMinHmacSecretBytes));
  }
  return JwkBuilder::Make(std::move(kid), JwtKeyFamily::kHmac, nullptr, std::move(secret),
                          std::nullopt);
}

absl::StatusOr<JwtKey> JwtKey::FromJwkJson(std::string_view json) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag>(json.data(),
                                                                                    json.size());
  if (doc.HasParseError()) {
    return absl::InvalidArgumentError(absl::StrFormat("invalid JSON at offset %d: %s",
                                                      doc.GetErrorOffset(),
                                                      GetParseError_En(doc.GetParseError())));
  }
  return KeyFromJwk(doc);
}

absl::Status JwtKeySet::Add(JwtKey key) {
  if (!key.kid().empty() && FindByKid(key.kid()) != nullptr) {
    return absl::InvalidArgumentError(absl::StrFormat("duplicate kid \"%s\"", key.kid()));
  }
  keys_.push_back(std::move(key));
  return absl::OkStatus();
}

const JwtKey* JwtKeySet::FindByKid(std::string_view kid) const {
  for (const JwtKey& key : keys_) {
    if (!key.kid().empty() && key.kid() == kid) return &key;
  }
  return nullptr;
}

absl::StatusOr<std::vector<JwtKey>> ParseJwks(std::string_view json) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag>(json.data(),
                                                                                    json.size());
  if (doc.HasParseError()) {
    return absl::InvalidArgumentError(absl::StrFormat("invalid JSON at offset %d: %s",
                                                      doc.GetErrorOffset(),
                                                      GetParseError_En(doc.GetParseError())));
  }
  if (!doc.IsObject()) return absl::InvalidArgumentError("a JWKS must be a JSON object");
  const rapidjson::Value* keys = Member(doc, "keys");
  if (keys == nullptr || !keys->IsArray()) {
    return absl::InvalidArgumentError("a JWKS needs a \"keys\" array");
  }
  if (keys->Size() > kMaxJwksKeys) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%d keys; at most %d", keys->Size(), kMaxJwksKeys));
  }
  std::vector<JwtKey> out;
  for (rapidjson::SizeType i = 0; i < keys->Size(); ++i) {
    const rapidjson::Value& jwk = (*keys)[i];
    if (jwk.IsObject()) {
      if (const rapidjson::Value* use = Member(jwk, "use");
          use != nullptr && use->IsString() && std::string_view(use->GetString()) != "sig") {
        continue;
      }
    }
    auto key = KeyFromJwk(jwk);
    if (!key.ok()) return Prefixed(key.status(), absl::StrFormat("keys[%d]", i));
    out.push_back(*std::move(key));
  }
  return out;
}

absl::StatusOr<std::vector<JwtKey>> LoadJwksFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, config::ReadConfigFile(path));
  auto keys = ParseJwks(text);
  if (!keys.ok()) return Prefixed(keys.status(), path);
  return keys;
}

absl::StatusOr<JwtKey> LoadPemKeyFile(const std::string& path, std::string kid) {
  ASSIGN_OR_RETURN(std::string text, config::ReadConfigFile(path));
  auto key = JwtKey::FromPem(text, std::move(kid));
  if (!key.ok()) return Prefixed(key.status(), path);
  return key;
}

absl::StatusOr<JwtKey> LoadHmacSecretFile(const std::string& path, std::string kid) {
  ASSIGN_OR_RETURN(std::string text, config::ReadConfigFile(path));
  if (text.size() >= 2 && text.compare(text.size() - 2, 2, "\r\n") == 0) {
    text.resize(text.size() - 2);
  } else if (!text.empty() && text.back() == '\n') {
    text.pop_back();
  }
  auto key = JwtKey::FromHmacSecret(std::move(text), std::move(kid));
  if (!key.ok()) return Prefixed(key.status(), path);
  return key;
}

}  // namespace edge::l7
