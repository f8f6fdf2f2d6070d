// JWT: RFC 7515 Appendix A vectors, RFC 7519's example, tokens signed at test time with freshly
// generated keys for every algorithm, and the hostile cases (tampering, alg none, key confusion,
// unknown kid, time and audience claims, malformed input).

#include "l7/filters/auth/jwt.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "l7/filters/auth/base64url.h"
#include "l7/filters/auth/jwks.h"
#include "tests/unit/l7/filters/auth/jwt_signer.h"

namespace edge::l7 {
namespace {

using testing::GenerateEc;
using testing::GenerateRsa;
using ::testing::HasSubstr;
using testing::MakeToken;
using testing::PublicPem;

// RFC 7515 A.1 (also RFC 7519 section 3.1's example JWT).
constexpr char kA1Token[] =
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    "."
    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
constexpr char kA1Jwk[] =
    R"({"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"})";
// RFC 7515 A.2.
constexpr char kA2Token[] =
    "eyJhbGciOiJSUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    "."
    "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_"
    "O8W2Fp5jujGb"
    "ds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_"
    "nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0G"
    "arZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-"
    "eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6Lbg"
    "GY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";
constexpr char kA2Jwk[] =
    R"({"kty":"RSA","e":"AQAB","n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"})";
// RFC 7515 A.3.
constexpr char kA3Token[] =
    "eyJhbGciOiJFUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    "."
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
constexpr char kA3Jwk[] =
    R"({"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"})";

constexpr int64_t kRfcNow = 1300819000;  // before the RFC examples' exp (1300819380)
constexpr int64_t kNow = 1'800'000'000;

std::shared_ptr<JwtKeySet> SetOf(JwtKey key) {
  auto set = std::make_shared<JwtKeySet>();
  EXPECT_TRUE(set->Add(std::move(key)).ok());
  return set;
}

JwtKey FromJwk(const char* json) {
  auto key = JwtKey::FromJwkJson(json);
  EXPECT_TRUE(key.ok()) << key.status();
  return *std::move(key);
}

JwtValidation Allow(std::initializer_list<JwtAlgorithm> algs) {
  JwtValidation v;
  v.algorithms = algs;
  return v;
}

TEST(Base64UrlTest, RoundTripsAndRefusesNonCanonical) {
  for (const std::string& s : std::vector<std::string>{"", "f", "fo", "foo", "foob", "fooba",
                                                       "foobar", std::string("\0\xff\xfe", 3)}) {
    auto back = Base64UrlDecode(Base64UrlEncode(s));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, s);
  }
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_FALSE(Base64UrlDecode("Zm9v=").has_value());  // padding
  EXPECT_FALSE(Base64UrlDecode("Zm9vYg==").has_value());
  EXPECT_FALSE(Base64UrlDecode("Zm+v").has_value());  // standard alphabet
  EXPECT_FALSE(Base64UrlDecode("Zm9 v").has_value());
  EXPECT_FALSE(Base64UrlDecode("Z").has_value());   // 1 mod 4
  EXPECT_FALSE(Base64UrlDecode("Zh").has_value());  // non-zero leftover bits ("Zg" is canonical)
  EXPECT_TRUE(Base64UrlDecode("Zg").has_value());
}

TEST(Base64UrlTest, EveryLengthAndBadCharacterPosition) {
  std::string bytes;
  for (int i = 0; i < 300; ++i) bytes.push_back(static_cast<char>((i * 151 + 7) & 0xff));
  for (size_t n = 0; n <= bytes.size(); ++n) {
    const std::string input = bytes.substr(0, n);
    const std::string text = Base64UrlEncode(input);
    auto back = Base64UrlDecode(text);
    ASSERT_TRUE(back.has_value()) << n;
    ASSERT_EQ(*back, input) << n;
    for (size_t at = 0; at < text.size() && n < 12; ++at) {
      for (char bad : {'=', '+', '/', '.', ' ', '\0', '\x80'}) {
        std::string broken = text;
        broken[at] = bad;
        EXPECT_FALSE(Base64UrlDecode(broken).has_value()) << n << " at " << at;
      }
    }
  }
  EXPECT_FALSE(Base64UrlDecode("Zm9vYh").has_value());   // 2-char tail, leftover bits set
  EXPECT_FALSE(Base64UrlDecode("Zm9vYmF").has_value());  // 3-char tail, leftover bits set
  EXPECT_EQ(Base64UrlDecode("Zm9vYmE").value(), "fooba");
}

TEST(JwtRfcVectorsTest, A1Hs256) {
  JwtValidation v = Allow({JwtAlgorithm::kHS256});
  JwtVerifier verifier(v, SetOf(FromJwk(kA1Jwk)));
  auto jwt = verifier.Verify(kA1Token, kRfcNow);
  ASSERT_TRUE(jwt.ok()) << jwt.status();
  EXPECT_EQ(jwt->header.typ, "JWT");
  EXPECT_EQ(jwt->claims.iss, "joe");
  EXPECT_EQ(jwt->claims.exp, 1300819380);
  EXPECT_EQ(jwt->claims.Get("http://example.com/is_root"), "true");
  // RFC 7519's example is the same token: after its exp it is refused.
  auto late = verifier.Verify(kA1Token, 1300819380);
  EXPECT_THAT(late.status().message(), HasSubstr("expired"));
}

TEST(JwtRfcVectorsTest, A2Rs256) {
  JwtVerifier verifier(Allow({JwtAlgorithm::kRS256}), SetOf(FromJwk(kA2Jwk)));
  auto jwt = verifier.Verify(kA2Token, kRfcNow);
  ASSERT_TRUE(jwt.ok()) << jwt.status();
  EXPECT_EQ(jwt->header.alg, JwtAlgorithm::kRS256);
  EXPECT_EQ(jwt->claims.iss, "joe");
}

TEST(JwtRfcVectorsTest, A3Es256) {
  JwtVerifier verifier(Allow({JwtAlgorithm::kES256}), SetOf(FromJwk(kA3Jwk)));
  auto jwt = verifier.Verify(kA3Token, kRfcNow);
  ASSERT_TRUE(jwt.ok()) << jwt.status();
  EXPECT_EQ(jwt->header.alg, JwtAlgorithm::kES256);
}

TEST(JwtRfcVectorsTest, TamperedVectorsFail) {
  JwtVerifier rsa(Allow({JwtAlgorithm::kRS256}), SetOf(FromJwk(kA2Jwk)));
  std::string token = kA2Token;
  // Flip one payload character ("joe" -> "jof" territory) keeping canonical base64url.
  size_t dot = token.find('.');
  token[dot + 5] = token[dot + 5] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(rsa.Verify(token, kRfcNow).ok());
  std::string sig_flip = kA2Token;
  sig_flip[sig_flip.size() - 3] = sig_flip[sig_flip.size() - 3] == 'A' ? 'B' : 'A';
  EXPECT_THAT(rsa.Verify(sig_flip, kRfcNow).status().message(), HasSubstr("signature"));

  JwtVerifier ec(Allow({JwtAlgorithm::kES256}), SetOf(FromJwk(kA3Jwk)));
  std::string ec_flip = kA3Token;
  ec_flip[ec_flip.size() - 5] = ec_flip[ec_flip.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(ec.Verify(ec_flip, kRfcNow).ok());

  JwtVerifier hs(Allow({JwtAlgorithm::kHS256}), SetOf(FromJwk(kA1Jwk)));
  std::string hs_flip = kA1Token;
  hs_flip[hs_flip.size() - 2] = hs_flip[hs_flip.size() - 2] == 'A' ? 'B' : 'A';
  EXPECT_THAT(hs.Verify(hs_flip, kRfcNow).status().message(), HasSubstr("signature mismatch"));
}

struct AlgCase {
  JwtAlgorithm alg;
  const char* name;
};

class JwtAlgorithmTest : public ::testing::TestWithParam<AlgCase> {};

TEST_P(JwtAlgorithmTest, SignedAtTestTimeVerifiesAndTamperingFails) {
  const JwtAlgorithm alg = GetParam().alg;
  EvpPkeyPtr priv;
  std::string secret(64, 's');
  JwtKey key = JwtKey::FromHmacSecret(secret, "k1").value();
  switch (FamilyOf(alg)) {
    case JwtKeyFamily::kRsa:
      priv = GenerateRsa();
      break;
    case JwtKeyFamily::kEcP256:
      priv = GenerateEc("P-256");
      break;
    case JwtKeyFamily::kEcP384:
      priv = GenerateEc("P-384");
      break;
    case JwtKeyFamily::kHmac:
      break;
  }
  if (priv != nullptr) {
    auto pem_key = JwtKey::FromPem(PublicPem(priv.get()), "k1");
    ASSERT_TRUE(pem_key.ok()) << pem_key.status();
    key = *std::move(pem_key);
  }
  JwtVerifier verifier(Allow({alg}), SetOf(std::move(key)));
  const std::string header =
      absl::StrFormat(R"({"alg":"%s","kid":"k1","typ":"JWT"})", GetParam().name);
  const std::string payload =
      absl::StrFormat(R"({"sub":"alice","exp":%d,"scope":"a b"})", kNow + 60);
  std::string token = MakeToken(header, payload, alg, priv.get(), secret);
  auto jwt = verifier.Verify(token, kNow);
  ASSERT_TRUE(jwt.ok()) << jwt.status();
  EXPECT_EQ(jwt->claims.sub, "alice");
  EXPECT_EQ(jwt->claims.Get("scope"), "a b");

  // Another payload under the same signature.
  std::string forged_payload = absl::StrFormat(R"({"sub":"mallory","exp":%d})", kNow + 60);
  std::string forged = Base64UrlEncode(header) + "." + Base64UrlEncode(forged_payload) +
                       token.substr(token.rfind('.'));
  EXPECT_FALSE(verifier.Verify(forged, kNow).ok());
  // A truncated signature.
  EXPECT_FALSE(verifier.Verify(token.substr(0, token.size() - 4), kNow).ok());
}

INSTANTIATE_TEST_SUITE_P(AllAlgorithms, JwtAlgorithmTest,
                         ::testing::Values(AlgCase{JwtAlgorithm::kHS256, "HS256"},
                                           AlgCase{JwtAlgorithm::kHS384, "HS384"},
                                           AlgCase{JwtAlgorithm::kHS512, "HS512"},
                                           AlgCase{JwtAlgorithm::kRS256, "RS256"},
                                           AlgCase{JwtAlgorithm::kRS384, "RS384"},
                                           AlgCase{JwtAlgorithm::kRS512, "RS512"},
                                           AlgCase{JwtAlgorithm::kPS256, "PS256"},
                                           AlgCase{JwtAlgorithm::kES256, "ES256"},
                                           AlgCase{JwtAlgorithm::kES384, "ES384"}),
                         [](const ::testing::TestParamInfo<AlgCase>& info) {
                           return std::string(info.param.name);
                         });

class JwtClaimsTest : public ::testing::Test {
 protected:
  JwtClaimsTest() {
    JwtValidation v = Allow({JwtAlgorithm::kHS256});
    v.issuer = "https://auth.example.com";
    v.audience = "api";
    v.leeway_seconds = 30;
    verifier_ =
        std::make_unique<JwtVerifier>(v, SetOf(JwtKey::FromHmacSecret(secret_, "").value()));
  }
  absl::Status Check(const std::string& payload, int64_t now = kNow) {
    return verifier_
        ->Verify(MakeToken(R"({"alg":"HS256"})", payload, JwtAlgorithm::kHS256, nullptr, secret_),
                 now)
        .status();
  }
  std::string secret_ = std::string(32, 'x');
  std::unique_ptr<JwtVerifier> verifier_;
};

TEST_F(JwtClaimsTest, ValidWithStringOrArrayAudience) {
  EXPECT_TRUE(Check(absl::StrFormat(R"({"iss":"https://auth.example.com","aud":"api","exp":%d})",
                                    kNow + 10))
                  .ok());
  EXPECT_TRUE(
      Check(absl::StrFormat(R"({"iss":"https://auth.example.com","aud":["x","api"],"exp":%d})",
                            kNow + 10))
          .ok());
}

TEST_F(JwtClaimsTest, ExpiryWithLeeway) {
  static constexpr char fmt[] = R"({"iss":"https://auth.example.com","aud":"api","exp":%d})";
  EXPECT_TRUE(Check(absl::StrFormat(fmt, kNow - 29)).ok());  // inside the leeway
  EXPECT_THAT(Check(absl::StrFormat(fmt, kNow - 30)).message(), HasSubstr("expired"));
  EXPECT_THAT(Check(absl::StrFormat(fmt, kNow - 3600)).message(), HasSubstr("expired"));
  EXPECT_THAT(Check(R"({"iss":"https://auth.example.com","aud":"api"})").message(),
              HasSubstr("no expiry"));
}

TEST_F(JwtClaimsTest, NotBeforeAndIssuedAt) {
  static constexpr char nbf[] =
      R"({"iss":"https://auth.example.com","aud":"api","exp":%d,"nbf":%d})";
  EXPECT_TRUE(Check(absl::StrFormat(nbf, kNow + 600, kNow + 30)).ok());
  EXPECT_THAT(Check(absl::StrFormat(nbf, kNow + 600, kNow + 31)).message(),
              HasSubstr("not yet valid"));
  static constexpr char iat[] =
      R"({"iss":"https://auth.example.com","aud":"api","exp":%d,"iat":%d})";
  EXPECT_TRUE(Check(absl::StrFormat(iat, kNow + 600, kNow - 5)).ok());
  EXPECT_THAT(Check(absl::StrFormat(iat, kNow + 600, kNow + 300)).message(), HasSubstr("future"));
}

TEST_F(JwtClaimsTest, WrongIssuerOrAudience) {
  EXPECT_THAT(Check(absl::StrFormat(R"({"iss":"https://evil.example.com","aud":"api","exp":%d})",
                                    kNow + 10))
                  .message(),
              HasSubstr("wrong issuer"));
  EXPECT_THAT(Check(absl::StrFormat(R"({"aud":"api","exp":%d})", kNow + 10)).message(),
              HasSubstr("wrong issuer"));
  EXPECT_THAT(Check(absl::StrFormat(R"({"iss":"https://auth.example.com","aud":"web","exp":%d})",
                                    kNow + 10))
                  .message(),
              HasSubstr("wrong audience"));
  EXPECT_THAT(Check(absl::StrFormat(R"({"iss":"https://auth.example.com","aud":["web"],"exp":%d})",
                                    kNow + 10))
                  .message(),
              HasSubstr("wrong audience"));
}

TEST_F(JwtClaimsTest, MistypedRegisteredClaims) {
  EXPECT_THAT(Check(R"({"exp":"tomorrow"})").message(), HasSubstr("NumericDate"));
  EXPECT_THAT(Check(R"({"exp":1e300})").message(), HasSubstr("NumericDate"));
  EXPECT_THAT(Check(R"({"iss":42})").message(), HasSubstr("not a string"));
  EXPECT_THAT(Check(R"({"aud":[1]})").message(), HasSubstr("aud"));
  EXPECT_THAT(Check(R"({"exp":1,"exp":2})").message(), HasSubstr("duplicate"));
}

// Time claims: the rule in jwt.h, value by value (ParseJwt only, so nothing else interferes).
TEST(JwtNumericDateTest, AcceptsNumbersInRangeAndRefusesTheRest) {
  struct Case {
    const char* json;                // the value of "exp" as written in the payload
    std::optional<int64_t> seconds;  // nullopt: refused as not a NumericDate
  };
  const Case cases[] = {
      {"1700000000", 1700000000},
      {"1.7e9", 1700000000},
      {"1.7E+9", 1700000000},
      {"17e8", 1700000000},
      {"1700000000.0", 1700000000},
      {"1700000000.5", 1700000001},  // fractions round up
      {"1700000000.000001", 1700000001},
      {"0", 0},
      {"0.0", 0},
      {"-0", 0},
      {"-0.0", 0},
      {"0.25", 1},
      {"1e-400", 0},  // underflows to 0
      {"253402300799", kMaxNumericDate},
      {"2.53402300799e11", kMaxNumericDate},
      {"253402300799.5", std::nullopt},  // past the largest date once rounded
      {"253402300800", std::nullopt},
      {"-1", std::nullopt},
      {"-0.5", std::nullopt},
      {"-9223372036854775808", std::nullopt},
      {"9223372036854775807", std::nullopt},
      {"9223372036854775808", std::nullopt},   // uint64
      {"18446744073709551615", std::nullopt},  // uint64 max
      {"18446744073709551616", std::nullopt},  // beyond uint64: a double
      {"1e19", std::nullopt},
      {"1e300", std::nullopt},
      {"-1e300", std::nullopt},
      {"\"1700000000\"", std::nullopt},
      {"true", std::nullopt},
      {"null", std::nullopt},
      {"[1700000000]", std::nullopt},
      {"{}", std::nullopt},
  };
  for (const Case& c : cases) {
    for (const char* claim : {"exp", "nbf", "iat"}) {
      const std::string payload = absl::StrFormat(R"({"%s":%s})", claim, c.json);
      auto jwt = ParseJwt(
          MakeToken(R"({"alg":"HS256"})", payload, JwtAlgorithm::kHS256, nullptr, "secret"));
      if (!c.seconds) {
        EXPECT_THAT(jwt.status().message(), HasSubstr("NumericDate")) << payload;
        continue;
      }
      ASSERT_TRUE(jwt.ok()) << payload << ": " << jwt.status();
      const auto& claims = jwt->claims;
      const std::optional<int64_t>& got = std::string_view(claim) == "exp"   ? claims.exp
                                          : std::string_view(claim) == "nbf" ? claims.nbf
                                                                             : claims.iat;
      EXPECT_EQ(got, c.seconds) << payload;
    }
  }
}

TEST(JwtTimeTest, ExpNbfIatWithLeewayNeverOverflow) {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  struct Case {
    const char* claims;  // payload members besides nothing else
    int64_t now;
    int64_t leeway;
    const char* refusal;  // "" when accepted
  };
  const Case cases[] = {
      // exp: refused on or after exp + leeway.
      {R"("exp":1000)", 999, 0, ""},
      {R"("exp":1000)", 1000, 0, "expired"},
      {R"("exp":1000)", 1029, 30, ""},
      {R"("exp":1000)", 1030, 30, "expired"},
      {R"("exp":1000.5)", 1000, 0, ""},  // 1000 < 1000.5
      {R"("exp":1000.5)", 1001, 0, "expired"},
      {R"("exp":0)", kMin, 0, ""},
      {R"("exp":0)", kMax, 0, "expired"},
      {R"("exp":0)", kMax - 1, kMax, ""},  // 0 + kMax: exactly representable
      {R"("exp":0)", kMax, kMax, "expired"},
      {R"("exp":1)", kMax, kMax, ""},  // 1 + kMax is past every clock
      {R"("exp":253402300799)", kMax, kMax, ""},
      {R"("exp":253402300799)", kMax, kMax - 253402300799, "expired"},
      {R"("exp":1000)", 1000, -5, "expired"},  // a negative leeway counts as 0
      {R"("exp":1e300)", 0, 0, "NumericDate"},
      {R"("exp":-1)", kMin, kMax, "NumericDate"},
      // nbf: refused while now + leeway < nbf.
      {R"("nbf":1000)", 1000, 0, ""},
      {R"("nbf":1000)", 999, 0, "not yet valid"},
      {R"("nbf":1000)", 970, 30, ""},
      {R"("nbf":1000)", 969, 30, "not yet valid"},
      {R"("nbf":1000.5)", 1000, 0, "not yet valid"},  // 1000 < 1000.5
      {R"("nbf":1000.5)", 1001, 0, ""},
      {R"("nbf":253402300799)", kMin, kMax, "not yet valid"},  // kMin + kMax = -1
      {R"("nbf":0)", kMin, kMax, "not yet valid"},
      {R"("nbf":0)", kMin + 1, kMax, ""},
      {R"("nbf":253402300799)", kMax, 0, ""},
      {R"("nbf":1000)", 999, -5, "not yet valid"},
      // iat: refused when iat > now + leeway.
      {R"("iat":1000)", 1000, 0, ""},
      {R"("iat":1000)", 999, 0, "future"},
      {R"("iat":1000)", 970, 30, ""},
      {R"("iat":1000)", 969, 30, "future"},
      {R"("iat":1000.5)", 1000, 0, "future"},
      {R"("iat":1e3)", 1000, 0, ""},
      {R"("iat":253402300799)", kMin, kMax, "future"},
      {R"("iat":0)", kMin + 1, kMax, ""},
      {R"("iat":0)", kMin, kMax, "future"},
      // All three.
      {R"("exp":2000,"nbf":1000,"iat":1000)", 1500, kMax, ""},
      {R"("exp":2000,"nbf":1000,"iat":1000)", 2000, 0, "expired"},
  };
  const std::string secret(32, 's');
  for (const Case& c : cases) {
    JwtValidation v = Allow({JwtAlgorithm::kHS256});
    v.require_exp = false;
    v.leeway_seconds = c.leeway;
    JwtVerifier verifier(v, SetOf(JwtKey::FromHmacSecret(secret, "").value()));
    const std::string payload = absl::StrCat("{", c.claims, "}");
    auto verified = verifier.Verify(
        MakeToken(R"({"alg":"HS256"})", payload, JwtAlgorithm::kHS256, nullptr, secret), c.now);
    const std::string where = absl::StrFormat("%s now=%d leeway=%d", payload, c.now, c.leeway);
    if (*c.refusal == '\0') {
      EXPECT_TRUE(verified.ok()) << where << ": " << verified.status();
    } else {
      EXPECT_THAT(verified.status().message(), HasSubstr(c.refusal)) << where;
    }
  }
}

TEST(JwtScopesTest, ArrayElementsAreNeverSplit) {
  struct Case {
    const char* scope;  // the "scope" claim's JSON value, or nullptr for none
    std::vector<std::string> scopes;
  };
  const Case cases[] = {
      {R"("a b")", {"a", "b"}},  // a string is a space-separated list (RFC 8693 4.2)
      {R"("  a   b ")", {"a", "b"}},
      {R"("a")", {"a"}},
      {R"("")", {}},
      {R"(["a b"])", {"a b"}},  // one scope, with a space in it
      {R"(["a","b"])", {"a", "b"}},
      {R"(["a b","c"])", {"a b", "c"}},
      {R"([" a "])", {" a "}},
      {R"([""])", {""}},
      {R"([])", {}},
      {R"([1,true])", {"1", "true"}},
      {R"([{"x":1}])", {}},  // not scalars: no scopes
      {R"({"a":"b"})", {}},
      {nullptr, {}},
  };
  for (const Case& c : cases) {
    const std::string payload = c.scope != nullptr
                                    ? absl::StrCat(R"({"sub":"x","scope":)", c.scope, "}")
                                    : std::string(R"({"sub":"x"})");
    auto jwt =
        ParseJwt(MakeToken(R"({"alg":"HS256"})", payload, JwtAlgorithm::kHS256, nullptr, "secret"));
    ASSERT_TRUE(jwt.ok()) << payload << ": " << jwt.status();
    EXPECT_EQ(jwt->claims.Scopes("scope"), c.scopes) << payload;
  }
}

TEST(JwtClaimValuesTest, OneEntryPerScalarOrElement) {
  using Values = std::vector<std::pair<std::string, std::string>>;
  struct Case {
    const char* payload;
    Values values;
    const char* joined_role;  // JwtClaims::all's text for "role", nullptr when absent
  };
  const Case cases[] = {
      {R"({"role":"a b"})", {{"role", "a b"}}, "a b"},
      {R"({"role":["a b"]})", {{"role", "a b"}}, "a b"},
      {R"({"role":["a","b"]})", {{"role", "a"}, {"role", "b"}}, "a b"},
      {R"({"role":[]})", {}, ""},
      {R"({"role":[7,false],"n":1.5})",
       {{"role", "7"}, {"role", "false"}, {"n", "1.5"}},
       "7 false"},
      {R"({"role":["a",["b"]],"x":null,"o":{}})", {}, nullptr},
  };
  for (const Case& c : cases) {
    auto jwt = ParseJwt(
        MakeToken(R"({"alg":"HS256"})", c.payload, JwtAlgorithm::kHS256, nullptr, "secret"));
    ASSERT_TRUE(jwt.ok()) << c.payload << ": " << jwt.status();
    EXPECT_EQ(jwt->claims.values, c.values) << c.payload;
    auto joined = jwt->claims.Get("role");
    if (c.joined_role == nullptr) {
      EXPECT_FALSE(joined.has_value()) << c.payload;
    } else {
      EXPECT_EQ(joined, std::optional<std::string_view>(c.joined_role)) << c.payload;
    }
  }
}

TEST(JwtSecurityTest, AlgNoneIsRefused) {
  JwtVerifier verifier(Allow({JwtAlgorithm::kHS256}), SetOf(FromJwk(kA1Jwk)));
  // RFC 7515 A.5's unsecured JWS.
  const std::string a5 =
      "eyJhbGciOiJub25lIn0."
      "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVl"
      "fQ.";
  EXPECT_FALSE(verifier.Verify(a5, kRfcNow).ok());
  // "none" with a (meaningless) signature part.
  std::string with_sig =
      Base64UrlEncode(R"({"alg":"none"})") + "." + Base64UrlEncode(R"({"sub":"x"})") + ".AAAA";
  EXPECT_THAT(verifier.Verify(with_sig, kRfcNow).status().message(), HasSubstr("alg none"));
  std::string upper =
      Base64UrlEncode(R"({"alg":"None"})") + "." + Base64UrlEncode(R"({"sub":"x"})") + ".AAAA";
  EXPECT_FALSE(verifier.Verify(upper, kRfcNow).ok());
}

TEST(JwtSecurityTest, HmacTokenSignedWithRsaPublicKeyIsRefused) {
  // The attacker knows the RSA public key's PEM and uses it as an HMAC secret.
  EvpPkeyPtr rsa = GenerateRsa();
  const std::string pem = PublicPem(rsa.get());
  auto set = SetOf(JwtKey::FromPem(pem, "rsa1").value());
  JwtVerifier verifier(Allow({JwtAlgorithm::kRS256, JwtAlgorithm::kHS256}), set);
  const std::string payload = absl::StrFormat(R"({"sub":"admin","exp":%d})", kNow + 60);
  std::string with_kid =
      MakeToken(R"({"alg":"HS256","kid":"rsa1"})", payload, JwtAlgorithm::kHS256, nullptr, pem);
  EXPECT_THAT(verifier.Verify(with_kid, kNow).status().message(), HasSubstr("key type"));
  std::string no_kid = MakeToken(R"({"alg":"HS256"})", payload, JwtAlgorithm::kHS256, nullptr, pem);
  EXPECT_FALSE(verifier.Verify(no_kid, kNow).ok());
  // The same key used properly works.
  std::string good =
      MakeToken(R"({"alg":"RS256","kid":"rsa1"})", payload, JwtAlgorithm::kRS256, rsa.get());
  EXPECT_TRUE(verifier.Verify(good, kNow).ok());
}

TEST(JwtSecurityTest, JwkAlgRestrictsTheKey) {
  EvpPkeyPtr rsa = GenerateRsa();
  auto set = std::make_shared<JwtKeySet>();
  // Build a JWK with alg PS256 from the generated key's n/e.
  BIGNUM* n = nullptr;
  BIGNUM* e = nullptr;
  EVP_PKEY_get_bn_param(rsa.get(), "n", &n);
  EVP_PKEY_get_bn_param(rsa.get(), "e", &e);
  std::string nb(static_cast<size_t>(BN_num_bytes(n)), '\0'),
      eb(static_cast<size_t>(BN_num_bytes(e)), '\0');
  BN_bn2bin(n, reinterpret_cast<unsigned char*>(nb.data()));
  BN_bn2bin(e, reinterpret_cast<unsigned char*>(eb.data()));
  BN_free(n);
  BN_free(e);
  auto jwk = JwtKey::FromJwkJson(
      absl::StrFormat(R"({"kty":"RSA","kid":"p","alg":"PS256","n":"%s","e":"%s"})",
                      Base64UrlEncode(nb), Base64UrlEncode(eb)));
  ASSERT_TRUE(jwk.ok()) << jwk.status();
  ASSERT_TRUE(set->Add(*std::move(jwk)).ok());
  JwtVerifier verifier(Allow({JwtAlgorithm::kRS256, JwtAlgorithm::kPS256}), set);
  const std::string payload = absl::StrFormat(R"({"exp":%d})", kNow + 60);
  EXPECT_TRUE(verifier
                  .Verify(MakeToken(R"({"alg":"PS256","kid":"p"})", payload, JwtAlgorithm::kPS256,
                                    rsa.get()),
                          kNow)
                  .ok());
  EXPECT_FALSE(verifier
                   .Verify(MakeToken(R"({"alg":"RS256","kid":"p"})", payload, JwtAlgorithm::kRS256,
                                     rsa.get()),
                           kNow)
                   .ok());
}

TEST(JwtSecurityTest, UnknownKidAndDisallowedAlgorithm) {
  EvpPkeyPtr ec = GenerateEc("P-256");
  JwtVerifier verifier(Allow({JwtAlgorithm::kES256}),
                       SetOf(JwtKey::FromPem(PublicPem(ec.get()), "a").value()));
  const std::string payload = absl::StrFormat(R"({"exp":%d})", kNow + 60);
  EXPECT_TRUE(verifier
                  .Verify(MakeToken(R"({"alg":"ES256","kid":"a"})", payload, JwtAlgorithm::kES256,
                                    ec.get()),
                          kNow)
                  .ok());
  EXPECT_TRUE(
      verifier
          .Verify(MakeToken(R"({"alg":"ES256"})", payload, JwtAlgorithm::kES256, ec.get()), kNow)
          .ok());
  EXPECT_THAT(verifier
                  .Verify(MakeToken(R"({"alg":"ES256","kid":"b"})", payload, JwtAlgorithm::kES256,
                                    ec.get()),
                          kNow)
                  .status()
                  .message(),
              HasSubstr("unknown key id"));
  EXPECT_THAT(verifier
                  .Verify(MakeToken(R"({"alg":"HS256"})", payload, JwtAlgorithm::kHS256, nullptr,
                                    std::string(32, 'k')),
                          kNow)
                  .status()
                  .message(),
              HasSubstr("not allowed"));
  // A key of another curve does not verify ES256 even when it is the only key.
  EvpPkeyPtr p384 = GenerateEc("P-384");
  JwtVerifier wrong_curve(Allow({JwtAlgorithm::kES256}),
                          SetOf(JwtKey::FromPem(PublicPem(p384.get()), "a").value()));
  EXPECT_FALSE(wrong_curve
                   .Verify(MakeToken(R"({"alg":"ES256","kid":"a"})", payload, JwtAlgorithm::kES256,
                                     ec.get()),
                           kNow)
                   .ok());
}

TEST(JwtParseTest, RefusesMalformedTokens) {
  const std::string h = Base64UrlEncode(R"({"alg":"HS256"})");
  const std::string p = Base64UrlEncode(R"({"sub":"x"})");
  const std::string s = Base64UrlEncode(std::string(32, 'z'));
  EXPECT_TRUE(ParseJwt(h + "." + p + "." + s).ok());
  for (const std::string& bad : std::vector<std::string>{
           "",
           "abc",
           h + "." + p,
           h + "." + p + "." + s + "." + s,
           "." + p + "." + s,
           h + ".." + s,
           h + "." + p + ".",
           h + "=." + p + "." + s,
           h + "." + p + "." + s + "=",
           Base64UrlEncode("not json") + "." + p + "." + s,
           Base64UrlEncode(R"(["alg","HS256"])") + "." + p + "." + s,
           Base64UrlEncode(R"({"alg":"HS256","alg":"none"})") + "." + p + "." + s,
           Base64UrlEncode(R"({"alg":"HS256","crit":["exp"]})") + "." + p + "." + s,
           Base64UrlEncode(R"({"alg":"HS256","typ":"JOSE+JSON"})") + "." + p + "." + s,
           Base64UrlEncode(R"({"alg":"HS256","kid":7})") + "." + p + "." + s,
           Base64UrlEncode(R"({"alg":"XS256"})") + "." + p + "." + s,
           Base64UrlEncode(R"({"alg":"hs256"})") + "." + p + "." + s,
           h + "." + Base64UrlEncode("[1]") + "." + s,
           h + "." + Base64UrlEncode(R"({"a":1} x)") + "." + s,
           h + "." + Base64UrlEncode("{\"a\":\"\xff\"}") + "." + s,  // invalid UTF-8
           h + "." + Base64UrlEncode(std::string(100, '[') + std::string(100, ']')) + "." + s,
           h + "." +
               Base64UrlEncode("{\"a\":" + std::string(17, '[') + std::string(17, ']') + "}") +
               "." + s,
           h + "." + std::string(kMaxJwtBytes, 'A') + "." + s,
       }) {
    EXPECT_FALSE(ParseJwt(bad).ok()) << bad.substr(0, 120);
    EXPECT_EQ(ParseJwt(bad).status().code(), absl::StatusCode::kUnauthenticated);
  }
}

TEST(JwtParseTest, ClaimsInStringForm) {
  const std::string token =
      Base64UrlEncode(R"({"alg":"HS256"})") + "." +
      Base64UrlEncode(
          R"({"sub":"u1","n":42,"f":1.5,"b":false,"roles":["admin","ops"],"o":{"x":1},"z":null})") +
      ".AAAA";
  auto jwt = ParseJwt(token);
  ASSERT_TRUE(jwt.ok()) << jwt.status();
  EXPECT_EQ(jwt->claims.Get("n"), "42");
  EXPECT_EQ(jwt->claims.Get("f"), "1.5");
  EXPECT_EQ(jwt->claims.Get("b"), "false");
  EXPECT_EQ(jwt->claims.Get("roles"), "admin ops");
  EXPECT_FALSE(jwt->claims.Get("o").has_value());
  EXPECT_FALSE(jwt->claims.Get("z").has_value());
}

TEST(JwksTest, ParsesKeySetsAndRefusesBadKeys) {
  auto keys = ParseJwks(
      absl::StrFormat(R"({"keys":[%s,%s,{"kty":"RSA","use":"enc","n":"AQAB","e":"AQAB"}]})",
                      std::string(kA3Jwk).insert(1, R"("kid":"ec",)"),
                      std::string(kA1Jwk).insert(1, R"("kid":"hs",)")));
  ASSERT_TRUE(keys.ok()) << keys.status();
  ASSERT_EQ(keys->size(), 2u);  // the "enc" key is skipped
  EXPECT_EQ((*keys)[0].family(), JwtKeyFamily::kEcP256);
  EXPECT_EQ((*keys)[1].family(), JwtKeyFamily::kHmac);

  EXPECT_FALSE(ParseJwks("[]").ok());
  EXPECT_FALSE(ParseJwks(R"({"keys":{}})").ok());
  EXPECT_FALSE(ParseJwks(R"({"keys":[{"kty":"OKP","crv":"Ed25519","x":"AAAA"}]})").ok());
  EXPECT_FALSE(ParseJwks(R"({"keys":[{"kty":"EC","crv":"P-521","x":"AAAA","y":"AAAA"}]})").ok());
  EXPECT_FALSE(ParseJwks(R"({"keys":[{"kty":"oct","k":"c2hvcnQ"}]})").ok());  // too short
  // A point not on the curve.
  EXPECT_FALSE(
      ParseJwks(
          R"({"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a1"}]})")
          .ok());
  // alg that does not fit the key type.
  EXPECT_FALSE(ParseJwks(std::string(R"({"keys":[)") +
                         std::string(kA3Jwk).insert(1, R"("alg":"RS256",)") + "]}")
                   .ok());
  // RSA below 2048 bits.
  EvpPkeyPtr small = GenerateRsa(1024);
  EXPECT_THAT(JwtKey::FromPem(PublicPem(small.get()), "").status().message(),
              HasSubstr("too weak"));
  // Duplicate kid in one set.
  JwtKeySet set;
  EXPECT_TRUE(set.Add(JwtKey::FromHmacSecret(std::string(32, 'a'), "same").value()).ok());
  EXPECT_FALSE(set.Add(JwtKey::FromHmacSecret(std::string(32, 'b'), "same").value()).ok());
  EXPECT_FALSE(JwtKey::FromPem("not a pem", "").ok());
}

}  // namespace
}  // namespace edge::l7
