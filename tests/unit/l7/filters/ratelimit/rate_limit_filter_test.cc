// [[rate_limit]] / [redis] config, the RateLimitFilter on the local store (headers on every
// response, 429 with Retry-After, keys by consumer / client / route / header), and the factory.

#include "l7/filters/ratelimit/rate_limit_filter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/config/toml.h"
#include "l7/filters/ratelimit/rate_limit_config.h"
#include "l7/filters/ratelimit/rate_limit_filter_factory.h"
#include "tests/unit/l7/filters/auth/fake_request.h"

namespace edge::l7 {
namespace {

using testing::FakeRequest;
using testing::FindHeader;
using ::testing::HasSubstr;

absl::StatusOr<std::shared_ptr<RateLimitRegistry>> Build(
    const std::string& text, const RateLimitRegistry* previous = nullptr) {
  auto doc = config::ParseToml(text, "gateway.toml");
  if (!doc.ok()) return doc.status();
  return BuildRateLimitRegistry(*doc, "gateway.toml", nullptr, previous);
}

RouteConfig Route(std::string policy, std::string name = "orders") {
  RouteConfig r;
  r.name = std::move(name);
  r.rate_limit = std::move(policy);
  return r;
}

struct Result {
  FilterStatus status;
  std::unique_ptr<FilterContext> ctx;
};

class RateLimitFilterTest : public ::testing::Test {
 protected:
  void Load(const std::string& text) {
    auto registry = Build(text);
    ASSERT_TRUE(registry.ok()) << registry.status();
    registry_ = *registry;
    registry_->clock = [this] { return now_; };
  }
  Result Send(const std::string& policy, const FakeRequest& request, std::string consumer = "") {
    auto filters = MakeRateLimitFilters(*registry_, Route(policy));
    EXPECT_TRUE(filters.ok()) << filters.status();
    Result r{FilterStatus::kContinue, std::make_unique<FilterContext>(request)};
    if (!consumer.empty()) {
      r.ctx->identity.authenticated = true;
      r.ctx->identity.consumer = consumer;
    }
    r.status = (*filters)[0]->OnRequest(*r.ctx, nullptr);
    return r;
  }
  int64_t now_ = 5'000'000'000'000;
  std::shared_ptr<RateLimitRegistry> registry_;
};

TEST_F(RateLimitFilterTest, HeadersOnEveryResponseAnd429WhenExceeded) {
  Load(R"(
[[rate_limit]]
name = "per-client"
key = "client_ip"
limit = 3
per = "1m"
burst = 1
)");
  FakeRequest request;
  for (int i = 0; i < 4; ++i) {
    Result r = Send("per-client", request);
    ASSERT_EQ(r.status, FilterStatus::kContinue) << i;
    EXPECT_EQ(FindHeader(r.ctx->response_headers, "RateLimit-Limit"), "4");
    EXPECT_EQ(FindHeader(r.ctx->response_headers, "RateLimit-Remaining"), std::to_string(3 - i));
    EXPECT_EQ(FindHeader(r.ctx->response_headers, "RateLimit-Reset"), std::to_string(20 * (i + 1)));
    EXPECT_EQ(FindHeader(r.ctx->response_headers, "RateLimit-Policy"), "3;w=60;burst=1");
  }
  Result refused = Send("per-client", request);
  EXPECT_EQ(refused.status, FilterStatus::kStop);
  EXPECT_EQ(refused.ctx->stop_status, 429);
  EXPECT_EQ(FindHeader(refused.ctx->response_headers, "Retry-After"), "20");
  EXPECT_EQ(FindHeader(refused.ctx->response_headers, "RateLimit-Remaining"), "0");
  EXPECT_THAT(refused.ctx->stop_body, HasSubstr("rate_limited"));
  // Another client address has its own bucket.
  EXPECT_EQ(Send("per-client", FakeRequest().Client("192.0.2.11:1")).status,
            FilterStatus::kContinue);
  // 20 s later one more fits.
  now_ += 20'000'000'000;
  EXPECT_EQ(Send("per-client", request).status, FilterStatus::kContinue);
  EXPECT_EQ(Send("per-client", request).status, FilterStatus::kStop);

  metrics::PrometheusText text;
  WriteRateLimitMetrics(*registry_, &text);
  EXPECT_THAT(
      text.text(),
      HasSubstr(R"(gw7_rate_limit_requests_total{policy="per-client",outcome="allowed"} 6)"));
  EXPECT_THAT(
      text.text(),
      HasSubstr(R"(gw7_rate_limit_requests_total{policy="per-client",outcome="limited"} 2)"));
  // The other client's bucket refilled meanwhile and expired.
  EXPECT_THAT(text.text(), HasSubstr(R"(gw7_rate_limit_local_keys{policy="per-client"} 1)"));
}

TEST_F(RateLimitFilterTest, KeyKinds) {
  Load(R"(
[[rate_limit]]
name = "consumer"
key = "consumer"
limit = 1
per = "1h"
[[rate_limit]]
name = "tenant"
key = "header:X-Tenant"
limit = 1
per = "1h"
[[rate_limit]]
name = "route"
key = "route"
limit = 1
per = "1h"
)");
  // Consumer: same consumer from two addresses shares a bucket; anonymous falls back to the IP.
  EXPECT_EQ(Send("consumer", FakeRequest(), "alice").status, FilterStatus::kContinue);
  EXPECT_EQ(Send("consumer", FakeRequest().Client("198.51.100.1:2"), "alice").status,
            FilterStatus::kStop);
  EXPECT_EQ(Send("consumer", FakeRequest(), "bob").status, FilterStatus::kContinue);
  EXPECT_EQ(Send("consumer", FakeRequest()).status, FilterStatus::kContinue);
  EXPECT_EQ(Send("consumer", FakeRequest()).status, FilterStatus::kStop);
  // Header.
  EXPECT_EQ(Send("tenant", FakeRequest().Header("x-tenant", "t1")).status, FilterStatus::kContinue);
  EXPECT_EQ(Send("tenant", FakeRequest().Header("X-Tenant", "t1").Client("198.51.100.2:3")).status,
            FilterStatus::kStop);
  EXPECT_EQ(Send("tenant", FakeRequest().Header("X-Tenant", "t2")).status, FilterStatus::kContinue);
  // Route: every client shares one bucket.
  EXPECT_EQ(Send("route", FakeRequest()).status, FilterStatus::kContinue);
  EXPECT_EQ(Send("route", FakeRequest().Client("198.51.100.3:4")).status, FilterStatus::kStop);
}

TEST(RateLimitKeyTest, LongKeysAreHashed) {
  RateLimitPolicyConfig config;
  config.key = RateLimitKeyKind::kHeader;
  config.header = "X-Tenant";
  FakeRequest request;
  request.Header("X-Tenant", std::string(5000, 'x'));
  FilterContext ctx(request);
  std::string key = RateLimitKey(config, ctx);
  EXPECT_EQ(key.rfind("sha256:", 0), 0u);
  EXPECT_EQ(key.size(), 7u + 64u);
}

TEST(RateLimitConfigTest, Errors) {
  struct Case {
    std::string text;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"[[rate_limit]]\nname = \"a\"\nkey = \"ip\"\nlimit = 1\nper = \"1s\"\n",
       "gateway.toml:3:7: rate_limit \"a\": key: unknown value \"ip\" "
       "(consumer|client_ip|route|header:NAME)"},
      {"[[rate_limit]]\nname = \"a\"\nkey = \"route\"\nlimit = 0\nper = \"1s\"\n",
       "gateway.toml:4:9: rate_limit \"a\": limit"},
      {"[[rate_limit]]\nname = \"a\"\nkey = \"route\"\nlimit = 1\nper = \"0s\"\n", "per"},
      {"[[rate_limit]]\nname = \"a\"\nkey = \"route\"\nlimit = 1\n", "per: missing required key"},
      {"[[rate_limit]]\nname = \"a\"\nkey = \"route\"\nlimit = 1\nper = \"1s\"\nstore = "
       "\"memcached\"\n",
       "unknown value \"memcached\" (local|redis)"},
      {"[[rate_limit]]\nname = \"a\"\nkey = \"route\"\nlimit = 1\nper = \"1s\"\nfailure = "
       "\"maybe\"\n",
       "(open|closed)"},
      {"[[rate_limit]]\nname = \"a\"\nkey = \"route\"\nlimit = 1\nper = \"1s\"\nstore = "
       "\"redis\"\n",
       "gateway.toml:6:9: rate_limit: store: store = \"redis\" needs a [redis] table"},
      {"[[rate_limit]]\nname = \"a\"\nkey = \"route\"\nlimit = 1\nper = \"1s\"\nlimt = 2\n",
       "limt: unknown key"},
      {"[redis]\naddress = \"localhost:6379\"\n", "redis: address"},
      {"[redis]\naddress = \"127.0.0.1:6379\"\ntimeout = \"1m\"\n", "redis: timeout"},
      {"[[rate_limit]]\nname = \"a\"\nkey = \"header:\"\nlimit = 1\nper = \"1s\"\n",
       "key: unknown value"},
      {"[[rate_limit]]\nname = \"a\"\nkey = \"route\"\nlimit = 1\nper = "
       "\"1s\"\n[[rate_limit]]\nname = \"a\"\nkey = \"route\"\nlimit = 1\nper = \"1s\"\n",
       "duplicate"},
  };
  for (const Case& c : cases) {
    auto registry = Build(c.text);
    ASSERT_FALSE(registry.ok()) << c.text;
    EXPECT_THAT(std::string(registry.status().message()), HasSubstr(c.expected)) << c.text;
  }
  auto ok = Build(
      "[[rate_limit]]\nname = \"r\"\nkey = \"consumer\"\nlimit = 100\nper = \"1m\"\nburst = "
      "20\nstore = \"redis\"\nfailure = \"closed\"\n[redis]\naddress = \"127.0.0.1:6379\"\ntimeout "
      "= \"50ms\"\n");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ((*ok)->policies.at("r")->config.failure, RateLimitFailure::kClosed);
}

TEST(RateLimitFactoryTest, UnknownPolicyAndRedisWithoutLoopFailsPerPolicy) {
  auto registry = Build(
      "[[rate_limit]]\nname = \"r\"\nkey = \"route\"\nlimit = 1\nper = \"1s\"\nstore = "
      "\"redis\"\nfailure = \"closed\"\n[redis]\naddress = \"127.0.0.1:6379\"\n");
  ASSERT_TRUE(registry.ok()) << registry.status();
  EXPECT_TRUE(MakeRateLimitFilters(**registry, Route(""))->empty());
  EXPECT_THAT(std::string(MakeRateLimitFilters(**registry, Route("x")).status().message()),
              HasSubstr("no [[rate_limit]]"));
  auto filters = MakeRateLimitFilters(**registry, Route("r"));
  ASSERT_TRUE(filters.ok());
  FakeRequest request;
  FilterContext ctx(request);
  EXPECT_EQ((*filters)[0]->OnRequest(ctx, nullptr), FilterStatus::kStop);
  EXPECT_EQ(ctx.stop_status, 503);
  EXPECT_EQ((*registry)->policies.at("r")->counters.failed_closed.load(), 1u);
}

TEST(RateLimitFactoryTest, ReloadKeepsUnchangedLocalBuckets) {
  const std::string a = "[[rate_limit]]\nname = \"r\"\nkey = \"route\"\nlimit = 5\nper = \"1m\"\n";
  auto first = Build(a);
  ASSERT_TRUE(first.ok());
  auto same = Build(a, first->get());
  ASSERT_TRUE(same.ok());
  EXPECT_EQ((*same)->policies.at("r")->local, (*first)->policies.at("r")->local);
  auto changed = Build("[[rate_limit]]\nname = \"r\"\nkey = \"route\"\nlimit = 6\nper = \"1m\"\n",
                       first->get());
  ASSERT_TRUE(changed.ok());
  EXPECT_NE((*changed)->policies.at("r")->local, (*first)->policies.at("r")->local);
}

TEST(RateLimitFactoryTest, BuildRateLimitFiltersPerDocument) {
  auto doc = config::ParseToml(
      "[[rate_limit]]\nname = \"r\"\nkey = \"route\"\nlimit = 5\nper = \"1m\"\n", "gateway.toml");
  ASSERT_TRUE(doc.ok());
  GatewayConfig config;
  config.path = "gateway.toml";
  config.document = std::make_shared<const toml::table>(*std::move(doc));
  ASSERT_TRUE(BuildRateLimitFilters(config, Route("r", "a"), nullptr).ok());
  auto first = CurrentRateLimitRegistry();
  ASSERT_TRUE(BuildRateLimitFilters(config, Route("r", "b"), nullptr).ok());
  EXPECT_EQ(CurrentRateLimitRegistry(), first);
}

}  // namespace
}  // namespace edge::l7
