// [[auth]] config parsing and the auth filters end to end: config text -> registry -> a route's
// filters -> requests with right, wrong and missing credentials, scopes and claims.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "absl/strings/str_format.h"
#include "common/config/toml.h"
#include "l7/filters/auth/api_key.h"
#include "l7/filters/auth/auth_filter_factory.h"
#include "l7/filters/auth/authorization_filter.h"
#include "tests/unit/l7/filters/auth/fake_request.h"
#include "tests/unit/l7/filters/auth/jwt_signer.h"

namespace edge::l7 {
namespace {

using testing::FakeRequest;
using testing::FindHeader;
using ::testing::HasSubstr;

constexpr int64_t kNow = 1'800'000'000;

std::string WriteFile(const std::string& name, const std::string& content) {
  std::string path =
      ::testing::TempDir() + "/gw7_auth_test_" + std::to_string(getpid()) + "_" + name;
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

absl::StatusOr<AuthRegistry> Build(const std::string& text) {
  auto doc = config::ParseToml(text, "gateway.toml");
  if (!doc.ok()) return doc.status();
  auto registry = BuildAuthRegistry(*doc, "gateway.toml");
  if (registry.ok()) registry->clock = [] { return kNow; };
  return registry;
}

struct Outcome {
  FilterStatus status;
  std::unique_ptr<FilterContext> ctx;
};

// Runs the route's auth chain on `request` like the server does (in order, stop at the first
// non-continue).
Outcome RunChain(const AuthRegistry& registry, const RouteConfig& route,
                 const FakeRequest& request) {
  auto filters = MakeAuthFilters(registry, route);
  EXPECT_TRUE(filters.ok()) << filters.status();
  Outcome out{FilterStatus::kContinue, std::make_unique<FilterContext>(request)};
  for (auto& f : *filters) {
    out.status = f->OnRequest(*out.ctx, nullptr);
    if (out.status != FilterStatus::kContinue) break;
  }
  return out;
}

RouteConfig Route(std::string auth, std::vector<std::string> scopes = {},
                  std::vector<std::pair<std::string, std::string>> claims = {}) {
  RouteConfig r;
  r.name = "orders";
  r.auth = std::move(auth);
  r.require_scopes = std::move(scopes);
  r.require_claims = std::move(claims);
  return r;
}

TEST(AuthConfigTest, ApiKeyProviderFromConfigAndKeysFile) {
  const std::string keys_file =
      WriteFile("keys.toml", absl::StrFormat(R"(
keys = [ { consumer = "bob", sha256 = "%s", scopes = ["orders:write"] } ]
)",
                                             Sha256Hex(Sha256("bob-key"))));
  auto registry = Build(absl::StrFormat(R"(
[[auth]]
name = "partners"
type = "api_key"
keys = [ { consumer = "alice", sha256 = "%s", scopes = ["orders:read"] } ]
keys_file = "%s"
strip_credential = true
)",
                                        Sha256Hex(Sha256("alice-key")), keys_file));
  ASSERT_TRUE(registry.ok()) << registry.status();
  auto provider = registry->Find("partners");
  ASSERT_NE(provider, nullptr);
  EXPECT_EQ(provider->config().api_key.keys->size(), 2u);
  EXPECT_EQ(provider->config().api_key.header, "X-API-Key");

  Outcome ok = RunChain(*registry, Route("partners", {"orders:read"}),
                        FakeRequest().Header("x-api-key", "alice-key"));
  EXPECT_EQ(ok.status, FilterStatus::kContinue);
  EXPECT_EQ(ok.ctx->identity.consumer, "alice");
  EXPECT_EQ(FindHeader(ok.ctx->upstream_add_headers, "X-Consumer"), "alice");
  EXPECT_EQ(FindHeader(ok.ctx->upstream_add_headers, "X-Scopes"), "orders:read");
  EXPECT_THAT(ok.ctx->upstream_remove_headers, ::testing::ElementsAre("X-API-Key"));
  // The identity fields are stripped by the server on every route, for every provider.
  EXPECT_THAT(IdentityFieldNames(*registry), ::testing::ElementsAre("X-Consumer", "X-Scopes"));

  Outcome wrong =
      RunChain(*registry, Route("partners"), FakeRequest().Header("X-API-Key", "alice-kex"));
  EXPECT_EQ(wrong.status, FilterStatus::kStop);
  EXPECT_EQ(wrong.ctx->stop_status, 401);
  EXPECT_EQ(
      FindHeader(wrong.ctx->response_headers, "WWW-Authenticate"),
      R"(ApiKey realm="partners", error="invalid_token", error_description="invalid API key")");

  Outcome missing = RunChain(*registry, Route("partners"), FakeRequest());
  EXPECT_EQ(missing.ctx->stop_status, 401);
  EXPECT_THAT(missing.ctx->stop_body, HasSubstr("missing API key"));

  // bob lacks orders:read: authenticated but forbidden.
  Outcome forbidden = RunChain(*registry, Route("partners", {"orders:read"}),
                               FakeRequest().Header("X-API-Key", "bob-key"));
  EXPECT_EQ(forbidden.ctx->stop_status, 403);
  EXPECT_THAT(FindHeader(forbidden.ctx->response_headers, "WWW-Authenticate"),
              HasSubstr(R"(error="insufficient_scope")"));
  EXPECT_THAT(FindHeader(forbidden.ctx->response_headers, "WWW-Authenticate"),
              HasSubstr(R"(scope="orders:read")"));
  EXPECT_EQ(provider->counters().ok.load(), 2u);
  EXPECT_EQ(provider->counters().invalid.load(), 1u);
  EXPECT_EQ(provider->counters().missing.load(), 1u);
  EXPECT_EQ(provider->counters().forbidden.load(), 1u);

  metrics::PrometheusText text;
  WriteAuthMetrics(*registry, &text);
  EXPECT_THAT(text.text(),
              HasSubstr(R"(gw7_auth_requests_total{provider="partners",outcome="forbidden"} 1)"));
}

TEST(AuthConfigTest, ApiKeyFromQueryParameter) {
  auto registry = Build(absl::StrFormat(R"(
[[auth]]
name = "q"
type = "api_key"
query = "api_key"
keys = [ { consumer = "alice", sha256 = "%s" } ]
)",
                                        Sha256Hex(Sha256("k 1"))));
  ASSERT_TRUE(registry.ok()) << registry.status();
  EXPECT_EQ(RunChain(*registry, Route("q"), FakeRequest().Query("a=1&api_key=k+1")).status,
            FilterStatus::kContinue);
  EXPECT_EQ(
      RunChain(*registry, Route("q"), FakeRequest().Header("X-API-Key", "k 1")).ctx->stop_status,
      401);
}

class JwtFilterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    rsa_ = testing::GenerateRsa();
    ec_ = testing::GenerateEc("P-256");
    const std::string pem = WriteFile("rsa.pem", testing::PublicPem(rsa_.get()));
    const std::string secret = WriteFile("hs.secret", secret_ + "\n");
    const std::string jwks = WriteFile("jwks.json", ToJwks(ec_.get(), "ec1"));
    auto registry = Build(absl::StrFormat(R"(
[[auth]]
name = "users"
type = "jwt"
algorithms = ["RS256", "ES256", "HS256"]
public_keys = [{ kid = "rsa1", pem = "%s" }]
jwks_file = "%s"
hmac_secret_file = "%s"
issuer = "https://auth.example.com"
audience = "api"
leeway = "30s"
claims_to_headers = { sub = "X-User", tenant = "X-Tenant" }
strip_credential = true

[[auth]]
name = "perm"
type = "jwt"
algorithms = ["HS256"]
hmac_secret_file = "%s"
issuer = "https://auth.example.com"
audience = "api"
scopes_claim = "perm"
)",
                                          pem, jwks, secret, secret));
    ASSERT_TRUE(registry.ok()) << registry.status();
    registry_ = *std::move(registry);
  }

  static std::string ToJwks(EVP_PKEY* ec, const char* kid) {
    BIGNUM* x = nullptr;
    BIGNUM* y = nullptr;
    EVP_PKEY_get_bn_param(ec, "qx", &x);
    EVP_PKEY_get_bn_param(ec, "qy", &y);
    std::string xb(32, '\0'), yb(32, '\0');
    BN_bn2binpad(x, reinterpret_cast<unsigned char*>(xb.data()), 32);
    BN_bn2binpad(y, reinterpret_cast<unsigned char*>(yb.data()), 32);
    BN_free(x);
    BN_free(y);
    return absl::StrFormat(
        R"({"keys":[{"kty":"EC","crv":"P-256","kid":"%s","use":"sig","x":"%s","y":"%s"}]})", kid,
        Base64UrlEncode(xb), Base64UrlEncode(yb));
  }

  std::string Token(std::string_view header, std::string_view claims, JwtAlgorithm alg,
                    EVP_PKEY* key) {
    return testing::MakeToken(header, claims, alg, key, secret_);
  }
  std::string Claims(std::string_view extra = "") {
    return absl::StrFormat(
        R"({"iss":"https://auth.example.com","aud":"api","sub":"u-42","exp":%d,"scope":"orders:read orders:write","role":["admin","ops"]%s})",
        kNow + 300, extra);
  }

  std::string secret_ = std::string(40, 'q');
  EvpPkeyPtr rsa_, ec_;
  AuthRegistry registry_;
};

TEST_F(JwtFilterTest, EveryKeySourceAuthenticates) {
  for (const std::string& token :
       {Token(R"({"alg":"RS256","kid":"rsa1"})", Claims(), JwtAlgorithm::kRS256, rsa_.get()),
        Token(R"({"alg":"ES256","kid":"ec1"})", Claims(), JwtAlgorithm::kES256, ec_.get()),
        Token(R"({"alg":"HS256"})", Claims(R"(,"tenant":"t1")"), JwtAlgorithm::kHS256, nullptr)}) {
    Outcome out = RunChain(
        registry_, Route("users"),
        FakeRequest().Header("Authorization", "Bearer " + token).Header("X-User", "forged"));
    ASSERT_EQ(out.status, FilterStatus::kContinue) << out.ctx->stop_body;
    EXPECT_EQ(out.ctx->identity.consumer, "u-42");
    EXPECT_EQ(out.ctx->identity.scopes, (std::vector<std::string>{"orders:read", "orders:write"}));
    EXPECT_EQ(FindHeader(out.ctx->upstream_add_headers, "X-User"), "u-42");
    EXPECT_THAT(out.ctx->upstream_remove_headers, ::testing::ElementsAre("Authorization"));
  }
  EXPECT_THAT(IdentityFieldNames(registry_),
              ::testing::UnorderedElementsAre("X-Consumer", "X-Scopes", "X-User", "X-Tenant"));
}

TEST_F(JwtFilterTest, BadTokensGet401WithAReason) {
  struct Case {
    std::string authorization;
    std::string reason;
  };
  const std::string good =
      Token(R"({"alg":"RS256","kid":"rsa1"})", Claims(), JwtAlgorithm::kRS256, rsa_.get());
  const std::vector<Case> cases = {
      {"", "missing bearer token"},
      {"Basic dXNlcjpwYXNz", "missing bearer token"},
      {"Bearer " + good.substr(0, good.size() - 2) + "xx", "signature"},
      {"Bearer " +
           Token(R"({"alg":"RS256","kid":"rsa2"})", Claims(), JwtAlgorithm::kRS256, rsa_.get()),
       "unknown key id"},
      {"Bearer " +
           Token(R"({"alg":"HS256"})",
                 absl::StrFormat(R"({"iss":"https://auth.example.com","aud":"api","exp":%d})",
                                 kNow - 31),
                 JwtAlgorithm::kHS256, nullptr),
       "expired"},
      {"Bearer " +
           Token(R"({"alg":"HS256"})",
                 absl::StrFormat(R"({"iss":"https://auth.example.com","aud":"web","exp":%d})",
                                 kNow + 60),
                 JwtAlgorithm::kHS256, nullptr),
       "wrong audience"},
      {"Bearer " + Token(R"({"alg":"HS256"})",
                         absl::StrFormat(R"({"iss":"x","aud":"api","exp":%d})", kNow + 60),
                         JwtAlgorithm::kHS256, nullptr),
       "wrong issuer"},
      {"Bearer " + Base64UrlEncode(R"({"alg":"none"})") + "." + Base64UrlEncode(Claims()) + ".",
       "unsigned"},
  };
  for (const Case& c : cases) {
    FakeRequest request;
    if (!c.authorization.empty()) request.Header("Authorization", c.authorization);
    Outcome out = RunChain(registry_, Route("users"), request);
    EXPECT_EQ(out.status, FilterStatus::kStop) << c.reason;
    EXPECT_EQ(out.ctx->stop_status, 401) << c.reason;
    const std::string challenge = FindHeader(out.ctx->response_headers, "WWW-Authenticate");
    EXPECT_THAT(challenge,
                HasSubstr(R"(Bearer realm="users", error="invalid_token", error_description=")"));
    EXPECT_THAT(challenge, HasSubstr(c.reason));
  }
}

TEST_F(JwtFilterTest, ScopesAndClaimsAuthorize) {
  const std::string token = "Bearer " + Token(R"({"alg":"ES256","kid":"ec1"})", Claims(),
                                              JwtAlgorithm::kES256, ec_.get());
  auto run = [&](RouteConfig route) {
    return RunChain(registry_, route, FakeRequest().Header("Authorization", token));
  };
  EXPECT_EQ(run(Route("users", {"orders:write"})).status, FilterStatus::kContinue);
  EXPECT_EQ(run(Route("users", {"orders:read", "orders:write"}, {{"role", "admin"}})).status,
            FilterStatus::kContinue);
  EXPECT_EQ(run(Route("users", {}, {{"sub", "u-42"}})).status, FilterStatus::kContinue);
  Outcome no_scope = run(Route("users", {"orders:delete"}));
  EXPECT_EQ(no_scope.ctx->stop_status, 403);
  EXPECT_THAT(FindHeader(no_scope.ctx->response_headers, "WWW-Authenticate"),
              HasSubstr(R"(Bearer realm="users", error="insufficient_scope")"));
  EXPECT_EQ(run(Route("users", {}, {{"role", "adm"}})).ctx->stop_status,
            403);  // whole elements only
  EXPECT_EQ(run(Route("users", {}, {{"missing", "x"}})).ctx->stop_status, 403);
}

// require_claims compares whole values (no prefix, substring or case folding; an array claim
// matches when one element equals), and a scope array's elements are never split on spaces.
TEST_F(JwtFilterTest, RequiredClaimsAndScopesMatchWholeValues) {
  struct Case {
    const char* claims;  // extra payload members
    std::vector<std::string> scopes;
    std::vector<std::pair<std::string, std::string>> require;
    int status;  // 0: allowed
  };
  const Case cases[] = {
      {R"(,"team":"a b")", {}, {{"team", "a b"}}, 0},
      {R"(,"team":"a b")", {}, {{"team", "a"}}, 403},  // a string is one value, never split
      {R"(,"team":"a b")", {}, {{"team", "b"}}, 403},
      {R"(,"team":["a","b"])", {}, {{"team", "b"}}, 0},
      {R"(,"team":["a","b"])", {}, {{"team", "a b"}}, 403},  // not the joined text
      {R"(,"team":["a b"])", {}, {{"team", "a b"}}, 0},
      {R"(,"team":["a b"])", {}, {{"team", "a"}}, 403},
      {R"(,"team":"admin")", {}, {{"team", "adm"}}, 403},
      {R"(,"team":"admin")", {}, {{"team", "Admin"}}, 403},
      {R"(,"team":"admin")", {}, {{"team", "admins"}}, 403},
      {R"(,"team":"")", {}, {{"team", ""}}, 0},
      {R"(,"team":[])", {}, {{"team", ""}}, 403},
      {R"(,"team":7)", {}, {{"team", "7"}}, 0},
      {R"(,"team":[true])", {}, {{"team", "true"}}, 0},
      {"", {}, {{"team", ""}}, 403},  // absent
      {R"(,"perm":["x y"])", {"x"}, {}, 403},
      {R"(,"perm":["x y"])", {"x y"}, {}, 0},
      {R"(,"perm":"x y")", {"x", "y"}, {}, 0},
      {R"(,"perm":["x","y"])", {"y", "x"}, {}, 0},
  };
  for (const Case& c : cases) {
    // "perm" is the scopes claim of a second provider, so "scope" stays the fixture's.
    const std::string payload =
        absl::StrFormat(R"({"iss":"https://auth.example.com","aud":"api","sub":"u-42","exp":%d%s})",
                        kNow + 300, c.claims);
    const std::string token =
        "Bearer " + Token(R"({"alg":"HS256"})", payload, JwtAlgorithm::kHS256, nullptr);
    RouteConfig route = Route(c.scopes.empty() ? "users" : "perm", c.scopes, c.require);
    Outcome out = RunChain(registry_, route, FakeRequest().Header("Authorization", token));
    EXPECT_EQ(out.ctx->stop_status, c.status) << payload;
  }
}

TEST_F(JwtFilterTest, ClaimValuesCannotInjectHeaders) {
  const std::string token =
      "Bearer " + Token(R"({"alg":"HS256"})", Claims(R"(,"tenant":"t1\r\nX-Admin: yes")"),
                        JwtAlgorithm::kHS256, nullptr);
  Outcome out = RunChain(registry_, Route("users"), FakeRequest().Header("Authorization", token));
  ASSERT_EQ(out.status, FilterStatus::kContinue);
  EXPECT_EQ(FindHeader(out.ctx->upstream_add_headers, "X-Tenant"), "");
  EXPECT_EQ(FindHeader(out.ctx->upstream_add_headers, "X-Admin"), "");
}

TEST_F(JwtFilterTest, TwoCredentialsAre400) {
  const std::string bearer =
      "Bearer " + Token(R"({"alg":"HS256"})", Claims(), JwtAlgorithm::kHS256, nullptr);
  const FakeRequest cases[] = {
      FakeRequest().Header("Authorization", bearer).Header("Authorization", bearer),
      FakeRequest().Header("Authorization", bearer).Header("authorization", "Bearer x"),
      FakeRequest().Header("Authorization", bearer).Header("AUTHORIZATION", bearer),
      FakeRequest().Header("Authorization", bearer + ", Bearer other"),
      FakeRequest().Header("Authorization", bearer + ",Basic dTpw"),
  };
  for (const FakeRequest& request : cases) {
    Outcome out = RunChain(registry_, Route("users"), request);
    EXPECT_EQ(out.status, FilterStatus::kStop);
    EXPECT_EQ(out.ctx->stop_status, 400);
    EXPECT_EQ(out.ctx->error_kind, "duplicate_credential");
    EXPECT_THAT(out.ctx->stop_body, HasSubstr("duplicate_credential"));
  }
  // One credential, alone: authenticated (and the credential is not forwarded).
  Outcome one = RunChain(registry_, Route("users"), FakeRequest().Header("Authorization", bearer));
  EXPECT_EQ(one.status, FilterStatus::kContinue);
}

TEST(AuthFilterTest, HasTwoCredentialsLooksOutsideQuotedStrings) {
  EXPECT_FALSE(HasTwoCredentials("Bearer abc.def-ghi_~+/=="));
  EXPECT_TRUE(HasTwoCredentials("Bearer a, Bearer b"));
  EXPECT_TRUE(HasTwoCredentials(","));
  EXPECT_FALSE(HasTwoCredentials("Digest realm=\"a,b\""));
  EXPECT_FALSE(HasTwoCredentials("Digest realm=\"a\\\",b\""));  // an escaped quote stays inside
  EXPECT_TRUE(HasTwoCredentials("Digest realm=\"a\", x=1"));
}

// An API key in a header: a second field in any spelling is a second credential; the field is
// removed before forwarding unless forward_credential.
TEST(AuthConfigTest, ApiKeyDuplicatesAndForwarding) {
  for (const char* option : {"", "forward_credential = false", "strip_credential = true",
                             "forward_credential = true", "strip_credential = false"}) {
    auto registry = Build(absl::StrFormat(R"(
[[auth]]
name = "p"
type = "api_key"
keys = [ { consumer = "alice", sha256 = "%s" } ]
%s
)",
                                          Sha256Hex(Sha256("k1")), option));
    ASSERT_TRUE(registry.ok()) << registry.status();
    const bool forward = registry->Find("p")->config().forward_credential;
    EXPECT_EQ(forward, std::string_view(option).find("forward_credential = true") == 0 ||
                           std::string_view(option).find("strip_credential = false") == 0)
        << option;
    Outcome ok = RunChain(*registry, Route("p"), FakeRequest().Header("X-API-Key", "k1"));
    ASSERT_EQ(ok.status, FilterStatus::kContinue) << option;
    if (forward) {
      EXPECT_TRUE(ok.ctx->upstream_remove_headers.empty()) << option;
    } else {
      EXPECT_THAT(ok.ctx->upstream_remove_headers, ::testing::ElementsAre("X-API-Key"));
    }
    for (const char* second : {"X-API-Key", "x-api-key", "X_API_KEY", "x_Api-key"}) {
      Outcome two = RunChain(*registry, Route("p"),
                             FakeRequest().Header("X-API-Key", "k1").Header(second, "k1"));
      EXPECT_EQ(two.ctx->stop_status, 400) << second;
      EXPECT_EQ(two.ctx->error_kind, "duplicate_credential");
    }
  }
  auto contradicting = Build(
      "[[auth]]\nname = \"p\"\ntype = \"api_key\"\nkeys = []\nstrip_credential = true\n"
      "forward_credential = true\n");
  ASSERT_FALSE(contradicting.ok());
  EXPECT_THAT(contradicting.status().message(),
              HasSubstr("strip_credential: contradicts forward_credential = true"));
}

// An API key in the query: a second parameter, also one spelled with percent-encoding, is 400;
// the parameter is removed from the upstream query unless forward_credential.
TEST(AuthConfigTest, ApiKeyQueryDuplicatesAndRemoval) {
  for (bool forward : {false, true}) {
    auto registry = Build(absl::StrFormat(R"(
[[auth]]
name = "q"
type = "api_key"
query = "api_key"
forward_credential = %s
keys = [ { consumer = "alice", sha256 = "%s" } ]
)",
                                          forward ? "true" : "false", Sha256Hex(Sha256("k1"))));
    ASSERT_TRUE(registry.ok()) << registry.status();
    Outcome ok =
        RunChain(*registry, Route("q"), FakeRequest().Query("a=1&api_key=k1&b=2&api_keyx=3"));
    ASSERT_EQ(ok.status, FilterStatus::kContinue);
    if (forward) {
      EXPECT_FALSE(ok.ctx->upstream_query.has_value());
    } else {
      ASSERT_TRUE(ok.ctx->upstream_query.has_value());
      EXPECT_EQ(*ok.ctx->upstream_query, "a=1&b=2&api_keyx=3");
    }
    for (const char* query :
         {"api_key=k1&api_key=k1", "api_key=k1&api%5Fkey=other", "api%5fkey=k1&api_key=k1",
          "api_key=k1&%61pi_key", "api_key&api_key"}) {
      Outcome two = RunChain(*registry, Route("q"), FakeRequest().Query(query));
      EXPECT_EQ(two.ctx->stop_status, 400) << query;
    }
    // Percent-encoded name alone is the parameter itself.
    EXPECT_EQ(RunChain(*registry, Route("q"), FakeRequest().Query("api%5Fkey=k1")).status,
              FilterStatus::kContinue);
  }
}

TEST(AuthConfigTest, ErrorsArePositionedAndComplete) {
  struct Case {
    std::string text;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"[[auth]]\nname = \"a\"\ntype = \"saml\"\n",
       "gateway.toml:3:8: auth \"a\": type: unknown value \"saml\" (api_key|jwt)"},
      {"[[auth]]\nname = \"a\"\ntype = \"api_key\"\nkeys = [{ consumer = \"x\", sha256 = \"abc\" "
       "}]\n",
       "gateway.toml:4:36: auth \"a\": keys[0]: sha256: must be the 64 hex digits"},
      {"[[auth]]\nname = \"a\"\ntype = \"api_key\"\nheadr = \"X\"\nkeys = []\n",
       "gateway.toml:4:1: auth \"a\": headr: unknown key"},
      {"[[auth]]\nname = \"a\"\ntype = \"api_key\"\nalgorithms = [\"HS256\"]\nkeys = []\n",
       "algorithms: is not a key of type = \"api_key\""},
      {"[[auth]]\nname = \"a\"\ntype = \"api_key\"\n",
       "an api_key provider needs keys or keys_file"},
      {"[[auth]]\nname = \"a\"\ntype = \"api_key\"\nkeys = []\nforward_credential = 1\n",
       "forward_credential: expected true or false"},
      {"[[auth]]\nname = \"j\"\ntype = \"jwt\"\nalgorithms = [\"none\"]\nhmac_secret_file = "
       "\"/nonexistent/x\"\n",
       "algorithms: unknown value \"none\" "
       "(HS256|HS384|HS512|RS256|RS384|RS512|PS256|ES256|ES384)"},
      {"[[auth]]\nname = \"j\"\ntype = \"jwt\"\nalgorithms = [\"HS256\"]\nhmac_secret_file = "
       "\"/nonexistent/x\"\n",
       "cannot read /nonexistent/x"},
      {"[[auth]]\nname = \"j\"\ntype = \"jwt\"\nalgorithms = [\"HS256\"]\n", "needs keys"},
      {"[[auth]]\nname = \"j\"\ntype = \"jwt\"\nalgorithms = [\"HS256\"]\nleeway = \"2h\"\n",
       "leeway"},
      {"[[auth]]\nname = \"a\"\ntype = \"api_key\"\nkeys = []\n[[auth]]\nname = \"a\"\ntype = "
       "\"api_key\"\nkeys = []\n",
       "duplicate [[auth]] name \"a\""},
      {"[[auth]]\nname = \"a\"\ntype = \"api_key\"\nkeys = []\nconsumer_header = \"X Bad\"\n",
       "not a valid header name"},
  };
  for (const Case& c : cases) {
    auto registry = Build(c.text);
    ASSERT_FALSE(registry.ok()) << c.text;
    EXPECT_EQ(registry.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(registry.status().message(), HasSubstr(c.expected)) << c.text;
  }
  // A JWT provider that allows an algorithm it has no key for says so.
  const std::string secret = WriteFile("only-hs.secret", std::string(32, 'k'));
  auto registry =
      Build(absl::StrFormat("[[auth]]\nname = \"j\"\ntype = \"jwt\"\nalgorithms = [\"HS256\", "
                            "\"RS256\"]\nhmac_secret_file = \"%s\"\n",
                            secret));
  ASSERT_FALSE(registry.ok());
  EXPECT_THAT(registry.status().message(), HasSubstr("RS256 needs a RSA key"));
}

TEST(AuthFactoryTest, RouteErrors) {
  auto registry = Build("");
  ASSERT_TRUE(registry.ok());
  EXPECT_TRUE(MakeAuthFilters(*registry, Route(""))->empty());
  EXPECT_THAT(MakeAuthFilters(*registry, Route("nope")).status().message(),
              HasSubstr("no [[auth]]"));
  EXPECT_FALSE(MakeAuthFilters(*registry, Route("", {"x"})).ok());
}

TEST(AuthFactoryTest, BuildAuthFiltersReusesTheRegistryPerDocument) {
  auto doc = config::ParseToml(absl::StrFormat("[[auth]]\nname = \"p\"\ntype = \"api_key\"\nkeys = "
                                               "[{ consumer = \"c\", sha256 = \"%s\" }]\n",
                                               Sha256Hex(Sha256("k"))),
                               "gateway.toml");
  ASSERT_TRUE(doc.ok());
  GatewayConfig config;
  config.path = "gateway.toml";
  config.document = std::make_shared<const toml::table>(*std::move(doc));
  auto a = BuildAuthFilters(config, Route("p"), nullptr);
  ASSERT_TRUE(a.ok()) << a.status();
  auto first = CurrentAuthRegistry();
  auto b = BuildAuthFilters(config, Route("p", {"s"}), nullptr);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->size(), 2u);
  EXPECT_EQ(CurrentAuthRegistry(), first);  // same document: same providers
  GatewayConfig reloaded = config;
  reloaded.document = std::make_shared<const toml::table>(*config.document);
  ASSERT_TRUE(BuildAuthFilters(reloaded, Route("p"), nullptr).ok());
  EXPECT_NE(CurrentAuthRegistry(), first);  // a new generation rebuilds (and re-reads key files)
}

TEST(AuthChallengeTest, QuotesAndStripsControls) {
  EXPECT_EQ(AuthChallenge("Bearer", "r\"1", "invalid_token", "a\\b\r\nc"),
            R"(Bearer realm="r\"1", error="invalid_token", error_description="a\\bc")");
  EXPECT_TRUE(ClaimMatches("a b", "a b"));
  EXPECT_FALSE(ClaimMatches("admin ops", "ops"));  // one value: never split on spaces
  EXPECT_FALSE(ClaimMatches("admin", "adm"));
  EXPECT_FALSE(ClaimMatches("admin", "Admin"));
}

}  // namespace
}  // namespace edge::l7
