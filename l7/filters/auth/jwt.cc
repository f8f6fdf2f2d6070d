#include "l7/filters/auth/jwt.h"

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_format.h"
#include "common/status.h"
#include "l7/filters/auth/base64url.h"
#include "l7/filters/auth/hmac.h"

// RapidJSON 1.1's member iterators declare == and != as members taking a non-const reference,
// which C++20's reversed operators make ambiguous (fixed upstream after 1.1, not in Debian 12).
#if defined(__clang__)
#pragma clang diagnostic ignored "-Wambiguous-reversed-operator"
#endif

namespace edge::l7 {
namespace {

absl::Status Bad(std::string_view message) {
  return absl::UnauthenticatedError(std::string(message));
}

constexpr unsigned kJsonFlags =
    rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag;

// Bounds nesting before RapidJSON sees the text: the parse is iterative, but destroying a deeply
// nested document recurses, and no JOSE header or claim set needs depth.
bool NestingWithin(std::string_view json, int max_depth) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : json) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) return false;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return true;
}

// A token's header and payload are small: their JSON trees and RapidJSON's parse stack fit in
// buffers on the caller's stack, so a check allocates nothing for them (a default Document takes
// a 64 KiB chunk from malloc and frees it again, for every token). Larger ones spill to the heap.
struct JsonArena {
  static constexpr size_t kStackCapacity = 512;  // the parse stack's first size; it grows
  static constexpr size_t kSpillChunk = 4096;    // what each allocator takes from malloc when full
  char values_buffer[4096];
  char stack_buffer[2048];
  rapidjson::MemoryPoolAllocator<> values{values_buffer, sizeof(values_buffer), kSpillChunk};
  rapidjson::MemoryPoolAllocator<> stack{stack_buffer, sizeof(stack_buffer), kSpillChunk};
};
using JsonDocument = rapidjson::GenericDocument<rapidjson::UTF8<>, rapidjson::MemoryPoolAllocator<>,
                                                rapidjson::MemoryPoolAllocator<>>;

absl::Status ParseObject(std::string_view json, std::string_view what, JsonDocument* doc) {
  if (!NestingWithin(json, kMaxJwtJsonDepth)) {
    return Bad(absl::StrFormat("malformed token: %s nested too deeply", what));
  }
  doc->Parse<kJsonFlags>(json.data(), json.size());
  if (doc->HasParseError()) return Bad(absl::StrFormat("malformed token: %s is not JSON", what));
  if (!doc->IsObject())
    return Bad(absl::StrFormat("malformed token: %s is not a JSON object", what));
  // Duplicate names are ambiguous (which "alg", which "exp"?): RFC 7515 4 lets us refuse them.
  std::vector<std::string_view> names;
  names.reserve(doc->MemberCount());
  for (auto it = doc->MemberBegin(); it != doc->MemberEnd(); ++it) {
    names.emplace_back(it->name.GetString(), it->name.GetStringLength());
  }
  std::sort(names.begin(), names.end());
  if (std::adjacent_find(names.begin(), names.end()) != names.end()) {
    return Bad(absl::StrFormat("malformed token: duplicate member in %s", what));
  }
  return absl::OkStatus();
}

std::string_view View(const rapidjson::Value& v) {
  return std::string_view(v.GetString(), v.GetStringLength());
}

// A scalar JSON value in claim string form; nullopt for objects, arrays and null.
std::optional<std::string> ScalarText(const rapidjson::Value& v) {
  if (v.IsString()) return std::string(View(v));
  if (v.IsBool()) return std::string(v.GetBool() ? "true" : "false");
  if (v.IsInt64()) return absl::StrFormat("%d", v.GetInt64());
  if (v.IsUint64()) return absl::StrFormat("%d", v.GetUint64());
  if (v.IsDouble()) {
    double d = v.GetDouble();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15) {
      return absl::StrFormat("%.0f", d);
    }
    return absl::StrFormat("%.17g", d);
  }
  return std::nullopt;
}

std::optional<std::string> ClaimText(const rapidjson::Value& v) {
  if (!v.IsArray()) return ScalarText(v);
  std::string joined;
  for (const auto& element : v.GetArray()) {
    auto text = ScalarText(element);
    if (!text) return std::nullopt;
    if (!joined.empty()) joined.push_back(' ');
    joined += *text;
  }
  return joined;
}

// A claim's values for comparing: one for a scalar, one per element for an array; false (and
// nothing added) when the claim or an element is not a scalar, like ClaimText.
bool AppendClaimValues(std::string_view name, const rapidjson::Value& v,
                       std::vector<std::pair<std::string, std::string>>* out) {
  const size_t before = out->size();
  if (!v.IsArray()) {
    auto text = ScalarText(v);
    if (!text) return false;
    out->emplace_back(std::string(name), *std::move(text));
    return true;
  }
  for (const auto& element : v.GetArray()) {
    auto text = ScalarText(element);
    if (!text) {
      out->resize(before);
      return false;
    }
    out->emplace_back(std::string(name), *std::move(text));
  }
  return true;
}

// See kMaxNumericDate in jwt.h. Integers are taken as they are; any other number (a fraction,
// exponent form, or an integer beyond int64) goes through the double, checked for range before
// it is converted (the conversion of an out-of-range double is undefined).
absl::StatusOr<int64_t> NumericDate(const rapidjson::Value& v, std::string_view name) {
  if (v.IsInt64()) {
    const int64_t i = v.GetInt64();
    if (i >= 0 && i <= kMaxNumericDate) return i;
  } else if (v.IsNumber()) {
    const double d = v.GetDouble();
    if (d >= 0 && d <= static_cast<double>(kMaxNumericDate)) {
      return static_cast<int64_t>(std::ceil(d));
    }
  }
  return Bad(absl::StrFormat("malformed token: \"%s\" is not a NumericDate", name));
}

absl::Status ParseHeader(std::string_view json, JwtHeader* header) {
  JsonArena arena;
  JsonDocument doc(&arena.values, JsonArena::kStackCapacity, &arena.stack);
  RETURN_IF_ERROR(ParseObject(json, "header", &doc));
  auto alg = doc.FindMember("alg");
  if (alg == doc.MemberEnd() || !alg->value.IsString()) {
    return Bad("malformed token: header has no \"alg\"");
  }
  std::string_view alg_name = View(alg->value);
  auto parsed = JwtAlgorithmFromName(alg_name);
  if (!parsed) {
    if (alg_name == "none" || alg_name == "None" || alg_name == "NONE") {
      return Bad("unsigned tokens (alg none) are not accepted");
    }
    return Bad("unsupported algorithm");
  }
  header->alg = *parsed;
  if (doc.HasMember("crit")) return Bad("unsupported critical header parameters");
  if (auto kid = doc.FindMember("kid"); kid != doc.MemberEnd()) {
    if (!kid->value.IsString() || kid->value.GetStringLength() > 256) {
      return Bad("malformed token: \"kid\" is not a short string");
    }
    header->kid = std::string(View(kid->value));
  }
  if (auto typ = doc.FindMember("typ"); typ != doc.MemberEnd()) {
    if (!typ->value.IsString()) return Bad("malformed token: \"typ\" is not a string");
    header->typ = std::string(View(typ->value));
    std::string lower = header->typ;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower != "jwt" && lower != "application/jwt" && lower != "at+jwt" &&
        lower != "application/at+jwt") {
      return Bad("not a JWT (typ)");
    }
  }
  return absl::OkStatus();
}

absl::Status ParseClaims(std::string_view json, JwtClaims* claims) {
  JsonArena arena;
  JsonDocument doc(&arena.values, JsonArena::kStackCapacity, &arena.stack);
  RETURN_IF_ERROR(ParseObject(json, "payload", &doc));
  for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
    std::string_view name = View(it->name);
    const rapidjson::Value& v = it->value;
    if (name == "iss" || name == "sub") {
      if (!v.IsString())
        return Bad(absl::StrFormat("malformed token: \"%s\" is not a string", name));
      (name == "iss" ? claims->iss : claims->sub) = std::string(View(v));
    } else if (name == "aud") {
      if (v.IsString()) {
        claims->aud.emplace_back(View(v));
      } else if (v.IsArray()) {
        for (const auto& element : v.GetArray()) {
          if (!element.IsString()) return Bad("malformed token: \"aud\" holds a non-string");
          claims->aud.emplace_back(View(element));
        }
      } else {
        return Bad("malformed token: \"aud\" is neither a string nor an array");
      }
    } else if (name == "exp" || name == "nbf" || name == "iat") {
      ASSIGN_OR_RETURN(int64_t date, NumericDate(v, name));
      (name == "exp" ? claims->exp : name == "nbf" ? claims->nbf : claims->iat) = date;
    }
    if (auto text = ClaimText(v)) claims->all.emplace_back(std::string(name), *std::move(text));
    if (AppendClaimValues(name, v, &claims->values) && v.IsArray()) {
      claims->array_names.emplace_back(name);
    }
  }
  return absl::OkStatus();
}

const EVP_MD* DigestOf(JwtAlgorithm alg) {
  switch (alg) {
    case JwtAlgorithm::kHS256:
    case JwtAlgorithm::kRS256:
    case JwtAlgorithm::kPS256:
    case JwtAlgorithm::kES256:
      return EVP_sha256();
    case JwtAlgorithm::kHS384:
    case JwtAlgorithm::kRS384:
    case JwtAlgorithm::kES384:
      return EVP_sha384();
    case JwtAlgorithm::kHS512:
    case JwtAlgorithm::kRS512:
      return EVP_sha512();
  }
  return EVP_sha256();
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct EcdsaSigFree {
  void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); }
};

absl::Status VerifyHmac(const ParsedJwt& jwt, const JwtKey& key) {
  const EVP_MD* md = DigestOf(jwt.header.alg);
  const size_t digest_size = static_cast<size_t>(EVP_MD_get_size(md));
  if (key.secret().size() < digest_size) return Bad("key too short for the algorithm");
  unsigned char mac[EVP_MAX_MD_SIZE];
  const size_t mac_len = ComputeHmac(key, md, jwt.signing_input, mac);
  if (mac_len == 0) return Bad("signature check failed");
  // Constant time: the comparison must not tell an attacker how many leading bytes were right.
  if (jwt.signature.size() != mac_len || CRYPTO_memcmp(mac, jwt.signature.data(), mac_len) != 0) {
    return Bad("signature mismatch");
  }
  return absl::OkStatus();
}

absl::Status VerifyEvp(const ParsedJwt& jwt, const JwtKey& key, std::string_view signature) {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (ctx == nullptr ||
      EVP_DigestVerifyInit(ctx.get(), &pctx, DigestOf(jwt.header.alg), nullptr, key.pkey()) != 1) {
    ERR_clear_error();
    return Bad("signature check failed");
  }
  if (jwt.header.alg == JwtAlgorithm::kPS256) {
    // RFC 7518 3.5: MGF1 with the same hash, salt as long as the hash.
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1) {
      ERR_clear_error();
      return Bad("signature check failed");
    }
  }
  int ok = EVP_DigestVerify(
      ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
      reinterpret_cast<const unsigned char*>(jwt.signing_input.data()), jwt.signing_input.size());
  ERR_clear_error();
  if (ok != 1) return Bad("signature mismatch");
  return absl::OkStatus();
}

// JOSE carries ECDSA signatures as fixed-size r||s (RFC 7518 3.4); EVP wants DER.
absl::StatusOr<std::string> EcdsaToDer(std::string_view raw, size_t coordinate) {
  if (raw.size() != 2 * coordinate) return Bad("signature has the wrong length");
  std::unique_ptr<ECDSA_SIG, EcdsaSigFree> sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()),
                        static_cast<int>(coordinate), nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data() + coordinate),
                        static_cast<int>(coordinate), nullptr);
  if (sig == nullptr || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ERR_clear_error();
    return Bad("signature check failed");
  }
  unsigned char* der = nullptr;
  int len = i2d_ECDSA_SIG(sig.get(), &der);
  if (len <= 0) {
    ERR_clear_error();
    return Bad("signature check failed");
  }
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

}  // namespace

std::optional<std::string_view> JwtClaims::Get(std::string_view name) const {
  for (const auto& [key, value] : all) {
    if (key == name) return std::string_view(value);
  }
  return std::nullopt;
}

std::vector<std::string> JwtClaims::Scopes(std::string_view name) const {
  std::vector<std::string> scopes;
  if (std::find(array_names.begin(), array_names.end(), name) != array_names.end()) {
    for (const auto& [key, value] : values) {
      if (key == name) scopes.push_back(value);
    }
    return scopes;
  }
  auto text = Get(name);
  if (!text) return scopes;
  for (std::string_view rest = *text; !rest.empty();) {
    const size_t end = std::min(rest.find(' '), rest.size());
    if (end > 0) scopes.emplace_back(rest.substr(0, end));
    rest.remove_prefix(std::min(end + 1, rest.size()));
  }
  return scopes;
}

absl::StatusOr<ParsedJwt> ParseJwt(std::string_view token) {
  if (token.empty()) return Bad("missing token");
  if (token.size() > kMaxJwtBytes) return Bad("malformed token: too long");
  size_t dot1 = token.find('.');
  size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return Bad("malformed token: not three dot-separated parts (JWE is not supported)");
  }
  std::string_view header_b64 = token.substr(0, dot1);
  std::string_view payload_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
  std::string_view signature_b64 = token.substr(dot2 + 1);
  if (header_b64.empty() || payload_b64.empty()) return Bad("malformed token: empty part");
  if (signature_b64.empty()) return Bad("unsigned tokens are not accepted");
  if (header_b64.size() > kMaxJwtHeaderBytes / 3 * 4 + 4)
    return Bad("malformed token: header too long");

  ParsedJwt jwt;
  auto header = Base64UrlDecode(header_b64);
  if (!header) return Bad("malformed token: header is not base64url");
  RETURN_IF_ERROR(ParseHeader(*header, &jwt.header));
  auto payload = Base64UrlDecode(payload_b64);
  if (!payload) return Bad("malformed token: payload is not base64url");
  RETURN_IF_ERROR(ParseClaims(*payload, &jwt.claims));
  auto signature = Base64UrlDecode(signature_b64);
  if (!signature || signature->empty()) return Bad("malformed token: signature is not base64url");
  jwt.signature = *std::move(signature);
  jwt.signing_input = token.substr(0, dot2);
  return jwt;
}

absl::Status VerifyJwtSignature(const ParsedJwt& jwt, const JwtKey& key) {
  const JwtAlgorithm alg = jwt.header.alg;
  if (FamilyOf(alg) != key.family()) return Bad("algorithm does not match the key type");
  if (key.alg() && *key.alg() != alg) return Bad("algorithm does not match the key");
  switch (key.family()) {
    case JwtKeyFamily::kHmac:
      return VerifyHmac(jwt, key);
    case JwtKeyFamily::kRsa:
      if (jwt.signature.size() != static_cast<size_t>(EVP_PKEY_get_size(key.pkey()))) {
        return Bad("signature has the wrong length");
      }
      return VerifyEvp(jwt, key, jwt.signature);
    case JwtKeyFamily::kEcP256:
    case JwtKeyFamily::kEcP384: {
      ASSIGN_OR_RETURN(std::string der,
                       EcdsaToDer(jwt.signature, key.family() == JwtKeyFamily::kEcP256 ? 32 : 48));
      return VerifyEvp(jwt, key, der);
    }
  }
  return Bad("signature check failed");
}

JwtVerifier::JwtVerifier(JwtValidation validation, std::shared_ptr<const JwtKeySet> keys)
    : validation_(std::move(validation)), keys_(std::move(keys)) {}

absl::StatusOr<ParsedJwt> JwtVerifier::Verify(std::string_view token, int64_t now_unix) const {
  ASSIGN_OR_RETURN(ParsedJwt jwt, ParseJwt(token));
  const auto& allowed = validation_.algorithms;
  if (std::find(allowed.begin(), allowed.end(), jwt.header.alg) == allowed.end()) {
    return Bad(absl::StrFormat("algorithm %s is not allowed", JwtAlgorithmName(jwt.header.alg)));
  }
  if (!jwt.header.kid.empty()) {
    const JwtKey* key = keys_ != nullptr ? keys_->FindByKid(jwt.header.kid) : nullptr;
    if (key == nullptr) return Bad("unknown key id");
    RETURN_IF_ERROR(VerifyJwtSignature(jwt, *key));
  } else {
    // No kid: any key of the token's family may have signed it (keys restricted to another alg
    // are skipped by VerifyJwtSignature).
    bool tried = false;
    bool verified = false;
    if (keys_ != nullptr) {
      for (const JwtKey& key : keys_->keys()) {
        if (key.family() != FamilyOf(jwt.header.alg)) continue;
        tried = true;
        if (VerifyJwtSignature(jwt, key).ok()) {
          verified = true;
          break;
        }
      }
    }
    if (!tried) return Bad("no key for the algorithm");
    if (!verified) return Bad("signature mismatch");
  }
  RETURN_IF_ERROR(CheckClaims(jwt.claims, now_unix));
  return jwt;
}

absl::Status JwtVerifier::CheckClaims(const JwtClaims& claims, int64_t now_unix) const {
  // Dates are in [0, kMaxNumericDate] and leeway >= 0, so exp + leeway is the only sum that can
  // overflow (checked first); date - leeway cannot.
  const int64_t leeway = std::max<int64_t>(validation_.leeway_seconds, 0);
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  if (claims.exp) {
    // RFC 7519 4.1.4: the token must not be accepted on or after exp.
    if (leeway <= kMax - *claims.exp && now_unix >= *claims.exp + leeway) {
      return Bad("token expired");
    }
  } else if (validation_.require_exp) {
    return Bad("token has no expiry (exp)");
  }
  if (claims.nbf && now_unix < *claims.nbf - leeway) return Bad("token not yet valid (nbf)");
  if (claims.iat && *claims.iat - leeway > now_unix) return Bad("token issued in the future (iat)");
  if (!validation_.issuer.empty() && claims.iss != validation_.issuer) return Bad("wrong issuer");
  if (!validation_.audience.empty() &&
      std::find(claims.aud.begin(), claims.aud.end(), validation_.audience) == claims.aud.end()) {
    return Bad("wrong audience");
  }
  return absl::OkStatus();
}

}  // namespace edge::l7
