// [[concurrency_limit]] config, the ConcurrencyFilter (slots taken on the way in, given back
// exactly once at OnEnd, 503 with a JSON body beyond max_in_flight, keys by route and consumer)
// and its factory (unknown names, reload keeps the in-flight count).

#include "l7/filters/concurrency/concurrency_filter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/config/toml.h"
#include "l7/filters/concurrency/concurrency_config.h"
#include "l7/filters/concurrency/concurrency_filter_factory.h"
#include "tests/unit/l7/filters/auth/fake_request.h"

namespace edge::l7 {
namespace {

using testing::FakeRequest;
using testing::FindHeader;
using ::testing::HasSubstr;

absl::StatusOr<std::shared_ptr<ConcurrencyRegistry>> Build(
    const std::string& text, const ConcurrencyRegistry* previous = nullptr) {
  auto doc = config::ParseToml(text, "gateway.toml");
  if (!doc.ok()) return doc.status();
  return BuildConcurrencyRegistry(*doc, "gateway.toml", previous);
}

std::string ConfigError(const std::string& text) {
  auto built = Build(text);
  return built.ok() ? "(built fine)" : std::string(built.status().message());
}

RouteConfig Route(std::string limit, std::string name = "orders") {
  RouteConfig r;
  r.name = std::move(name);
  r.concurrency_limit = std::move(limit);
  return r;
}

constexpr char kTwoLimits[] = R"(
[[concurrency_limit]]
name = "per-route"
key = "route"
max_in_flight = 2

[[concurrency_limit]]
name = "per-consumer"
key = "consumer"
max_in_flight = 1
)";

class ConcurrencyFilterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto registry = Build(kTwoLimits);
    ASSERT_TRUE(registry.ok()) << registry.status();
    registry_ = *registry;
  }
  std::unique_ptr<Filter> MakeFilter(const std::string& limit) {
    auto filters = MakeConcurrencyFilters(*registry_, Route(limit));
    EXPECT_TRUE(filters.ok()) << filters.status();
    EXPECT_EQ(filters->size(), 1u);
    return std::move((*filters)[0]);
  }
  std::unique_ptr<FilterContext> Context(const FakeRequest& request, std::string consumer = "") {
    auto ctx = std::make_unique<FilterContext>(request);
    if (!consumer.empty()) {
      ctx->identity.authenticated = true;
      ctx->identity.consumer = std::move(consumer);
    }
    return ctx;
  }
  const ConcurrencyLimiter& Limiter(const std::string& name) {
    return *registry_->limiters.at(name);
  }
  std::shared_ptr<ConcurrencyRegistry> registry_;
};

TEST_F(ConcurrencyFilterTest, RefusesBeyondMaxInFlightWith503AndJson) {
  auto filter = MakeFilter("per-route");
  FakeRequest request;
  auto a = Context(request), b = Context(request), c = Context(request);
  EXPECT_EQ(filter->OnRequest(*a, nullptr), FilterStatus::kContinue);
  EXPECT_EQ(filter->OnRequest(*b, nullptr), FilterStatus::kContinue);
  EXPECT_EQ(Limiter("per-route").in_flight(), 2u);
  EXPECT_EQ(filter->OnRequest(*c, nullptr), FilterStatus::kStop);
  EXPECT_EQ(c->stop_status, 503);
  EXPECT_EQ(c->stop_content_type, "application/json");
  EXPECT_THAT(c->stop_body, HasSubstr("\"error\":\"concurrency_limited\""));
  EXPECT_EQ(FindHeader(c->response_headers, "Retry-After"), "1");
  EXPECT_EQ(Limiter("per-route").admitted(), 2u);
  EXPECT_EQ(Limiter("per-route").rejected(), 1u);
}

TEST_F(ConcurrencyFilterTest, OnEndGivesTheSlotBackExactlyOnce) {
  auto filter = MakeFilter("per-route");
  FakeRequest request;
  auto a = Context(request), b = Context(request), c = Context(request);
  ASSERT_EQ(filter->OnRequest(*a, nullptr), FilterStatus::kContinue);
  ASSERT_EQ(filter->OnRequest(*b, nullptr), FilterStatus::kContinue);
  ASSERT_EQ(filter->OnRequest(*c, nullptr), FilterStatus::kStop);
  // The refused request holds nothing: its end releases nothing.
  filter->OnEnd(*c);
  EXPECT_EQ(Limiter("per-route").in_flight(), 2u);
  filter->OnEnd(*a);
  EXPECT_EQ(Limiter("per-route").in_flight(), 1u);
  // A second end of the same request must not free someone else's slot.
  filter->OnEnd(*a);
  EXPECT_EQ(Limiter("per-route").in_flight(), 1u);
  auto d = Context(request);
  EXPECT_EQ(filter->OnRequest(*d, nullptr), FilterStatus::kContinue);
  auto e = Context(request);
  EXPECT_EQ(filter->OnRequest(*e, nullptr), FilterStatus::kStop);
  filter->OnEnd(*b);
  filter->OnEnd(*d);
  filter->OnEnd(*e);
  EXPECT_EQ(Limiter("per-route").in_flight(), 0u);
  EXPECT_EQ(Limiter("per-route").keys(), 0u) << "idle keys are dropped";
}

TEST_F(ConcurrencyFilterTest, OnEndWithoutOnRequestReleasesNothing) {
  // A request stopped by an earlier filter (auth, rate limit) still gets OnEnd from every filter.
  auto filter = MakeFilter("per-route");
  FakeRequest request;
  auto held = Context(request), never_ran = Context(request);
  ASSERT_EQ(filter->OnRequest(*held, nullptr), FilterStatus::kContinue);
  filter->OnEnd(*never_ran);
  EXPECT_EQ(Limiter("per-route").in_flight(), 1u);
  filter->OnEnd(*held);
  EXPECT_EQ(Limiter("per-route").in_flight(), 0u);
}

TEST_F(ConcurrencyFilterTest, ConsumerKeysCountEachConsumerAndAnonymousByAddress) {
  auto orders = MakeFilter("per-consumer");
  // The same limit on another route counts the same consumer across both.
  auto other = MakeConcurrencyFilters(*registry_, Route("per-consumer", "invoices"));
  ASSERT_TRUE(other.ok());
  FakeRequest request;
  auto alice = Context(request, "alice"), bob = Context(request, "bob");
  EXPECT_EQ(orders->OnRequest(*alice, nullptr), FilterStatus::kContinue);
  EXPECT_EQ(orders->OnRequest(*bob, nullptr), FilterStatus::kContinue);
  auto alice_again = Context(request, "alice");
  EXPECT_EQ((*other)[0]->OnRequest(*alice_again, nullptr), FilterStatus::kStop);
  FakeRequest from_a, from_b;
  from_a.Client("192.0.2.1:1000");
  from_b.Client("192.0.2.2:1000");
  auto anon_a = Context(from_a), anon_b = Context(from_b), anon_a2 = Context(from_a);
  EXPECT_EQ(orders->OnRequest(*anon_a, nullptr), FilterStatus::kContinue);
  EXPECT_EQ(orders->OnRequest(*anon_b, nullptr), FilterStatus::kContinue);
  EXPECT_EQ(orders->OnRequest(*anon_a2, nullptr), FilterStatus::kStop);
  EXPECT_EQ(ConcurrencyKey(Limiter("per-consumer").config(), *anon_a), "ip:192.0.2.1");
  EXPECT_EQ(ConcurrencyKey(Limiter("per-consumer").config(), *alice), "c:alice");
  EXPECT_EQ(ConcurrencyKey(Limiter("per-route").config(), *alice), "r:orders");
  for (auto* ctx : {alice.get(), bob.get(), anon_a.get(), anon_b.get()}) orders->OnEnd(*ctx);
  EXPECT_EQ(Limiter("per-consumer").in_flight(), 0u);
}

TEST(ConcurrencyConfigTest, Errors) {
  EXPECT_EQ(ConfigError("[[concurrency_limit]]\nkey = \"route\"\nmax_in_flight = 1\n"),
            "gateway.toml:1:1: concurrency_limit[0]: name: missing required key");
  EXPECT_EQ(ConfigError("[[concurrency_limit]]\nname = \"a\"\nkey = \"client\"\n"
                        "max_in_flight = 1\n"),
            "gateway.toml:3:7: concurrency_limit \"a\": key: unknown value \"client\" "
            "(route|consumer)");
  EXPECT_EQ(ConfigError("[[concurrency_limit]]\nname = \"a\"\nkey = \"route\"\n"
                        "max_in_flight = 0\n"),
            "gateway.toml:4:17: concurrency_limit \"a\": max_in_flight: must be between 1 and "
            "1000000, got 0");
  EXPECT_EQ(ConfigError("[[concurrency_limit]]\nname = \"a\"\nkey = \"route\"\n"),
            "gateway.toml:1:1: concurrency_limit \"a\": max_in_flight: missing required key");
  EXPECT_EQ(ConfigError("[[concurrency_limit]]\nname = \"a\"\nkey = \"route\"\n"
                        "max_in_flight = 1\nmax = 2\n"),
            "gateway.toml:5:1: concurrency_limit \"a\": max: unknown key (allowed: name, key, "
            "max_in_flight)");
  EXPECT_THAT(ConfigError("[[concurrency_limit]]\nname = \"a\"\nkey = \"route\"\n"
                          "max_in_flight = 1\n[[concurrency_limit]]\nname = \"a\"\n"
                          "key = \"route\"\nmax_in_flight = 1\n"),
              HasSubstr("duplicate [[concurrency_limit]] name \"a\""));
  auto none = Build("");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE((*none)->limiters.empty());
}

TEST(ConcurrencyFactoryTest, UnknownLimitAndRouteWithout) {
  auto registry = Build(kTwoLimits);
  ASSERT_TRUE(registry.ok());
  auto unknown = MakeConcurrencyFilters(**registry, Route("nope"));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().message(),
            "route \"orders\": concurrency_limit \"nope\": no [[concurrency_limit]] of that name");
  auto none = MakeConcurrencyFilters(**registry, Route(""));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(ConcurrencyFactoryTest, ReloadKeepsUnchangedLimitersAndTheirCounts) {
  auto first = Build(kTwoLimits);
  ASSERT_TRUE(first.ok());
  auto filter = MakeConcurrencyFilters(**first, Route("per-route"));
  ASSERT_TRUE(filter.ok());
  FakeRequest request;
  FilterContext ctx(request);
  ASSERT_EQ((*filter)[0]->OnRequest(ctx, nullptr), FilterStatus::kContinue);
  std::string changed = kTwoLimits;
  changed.replace(changed.find("max_in_flight = 1"), 17, "max_in_flight = 5");
  auto second = Build(changed, first->get());
  ASSERT_TRUE(second.ok());
  EXPECT_EQ((*second)->limiters.at("per-route"), (*first)->limiters.at("per-route"));
  EXPECT_EQ((*second)->limiters.at("per-route")->in_flight(), 1u);
  EXPECT_NE((*second)->limiters.at("per-consumer"), (*first)->limiters.at("per-consumer"));
  EXPECT_EQ((*second)->limiters.at("per-consumer")->config().max_in_flight, 5u);
  (*filter)[0]->OnEnd(ctx);
  EXPECT_EQ((*second)->limiters.at("per-route")->in_flight(), 0u);
}

}  // namespace
}  // namespace edge::l7
