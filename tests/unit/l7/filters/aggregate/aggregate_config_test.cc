// `aggregate` / `merge` as a route reads them: parts kept, and every refusal named with its
// position, as `gw7 --check` prints it.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "l7/config/gateway_config.h"

namespace edge::l7 {
namespace {

using ::testing::HasSubstr;

std::string Config(std::string_view route_lines) {
  return std::string(
             "[gw7]\nlisten = \"127.0.0.1:0\"\n\n"
             "[[upstream]]\nname = \"catalog\"\nservers = [\"127.0.0.1:9101\"]\n\n"
             "[[upstream]]\nname = \"reviews\"\nservers = [\"127.0.0.1:9102\"]\n\n"
             "[[route]]\nname = \"page\"\npath_template = \"/page/{id}\"\n") +
         std::string(route_lines) + "\n";
}

std::string ErrorOf(std::string_view route_lines) {
  auto parsed = ParseGatewayConfig(Config(route_lines), "gateway.toml");
  if (parsed.ok()) return "(parsed fine)";
  return std::string(parsed.status().message());
}

constexpr std::string_view kTwoParts =
    "aggregate = [\n"
    "  { name = \"product\", upstream = \"catalog\", path = \"/products/{id}\" },\n"
    "  { name = \"reviews\", upstream = \"reviews\", path = \"/reviews?product={id}\", "
    "required = false, timeout = \"300ms\", method = \"POST\" },\n"
    "]\n";

TEST(AggregateConfig, PartsAreKept) {
  auto c = ParseGatewayConfig(
      Config(std::string(kTwoParts) + "merge = \"flat\"\naggregate_timeout = \"2s\"\n"
                                      "max_part_bytes = \"64KiB\""),
      "gateway.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  const RouteConfig& r = c->routes[0];
  ASSERT_TRUE(r.aggregate.has_value());
  EXPECT_TRUE(r.upstream.empty());
  const AggregateConfig& a = *r.aggregate;
  ASSERT_EQ(a.parts.size(), 2u);
  EXPECT_EQ(a.parts[0].name, "product");
  EXPECT_EQ(a.parts[0].upstream, "catalog");
  EXPECT_EQ(a.parts[0].method, "GET");
  EXPECT_TRUE(a.parts[0].required);
  EXPECT_EQ(a.parts[0].timeout, absl::InfiniteDuration());
  EXPECT_EQ(a.parts[1].method, "POST");
  EXPECT_FALSE(a.parts[1].required);
  EXPECT_EQ(a.parts[1].timeout, absl::Milliseconds(300));
  EXPECT_EQ(a.merge, AggregateMerge::kFlat);
  EXPECT_EQ(a.timeout, absl::Seconds(2));
  EXPECT_EQ(a.max_part_bytes, 64u * 1024);
}

TEST(AggregateConfig, DefaultsAreKeysFiveSecondsOneMiB) {
  auto c = ParseGatewayConfig(Config(kTwoParts), "gateway.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->routes[0].aggregate->merge, AggregateMerge::kKeys);
  EXPECT_EQ(c->routes[0].aggregate->timeout, absl::Seconds(5));
  EXPECT_EQ(c->routes[0].aggregate->max_part_bytes, 1u << 20);
}

TEST(AggregateConfig, UnknownUpstreamIsNamedWithItsPosition) {
  EXPECT_THAT(
      ErrorOf("aggregate = [{ name = \"p\", upstream = \"stock\", path = \"/s/{id}\" }]"),
      HasSubstr("gateway.toml:15:39: route \"page\": aggregate: part \"p\": unknown upstream "
                "\"stock\" (defined: catalog, reviews)"));
}

TEST(AggregateConfig, UnknownPlaceholderIsRefused) {
  EXPECT_THAT(
      ErrorOf("aggregate = [{ name = \"p\", upstream = \"catalog\", path = \"/s/{sku}\" }]"),
      HasSubstr("aggregate[0].path: \"/s/{sku}\": unknown placeholder {sku} (the route's "
                "captures: id; a query parameter is {query.NAME})"));
}

TEST(AggregateConfig, DuplicatePartNameIsRefused) {
  EXPECT_THAT(ErrorOf("aggregate = [{ name = \"p\", upstream = \"catalog\", path = \"/a\" },\n"
                      "{ name = \"p\", upstream = \"reviews\", path = \"/b\" }]"),
              HasSubstr("aggregate[1].name: duplicate part name \"p\""));
}

TEST(AggregateConfig, BadMergeIsRefused) {
  EXPECT_THAT(ErrorOf(std::string(kTwoParts) + "merge = \"deep\""),
              HasSubstr("merge: unknown value \"deep\" (keys|flat)"));
}

TEST(AggregateConfig, OtherRefusals) {
  EXPECT_THAT(ErrorOf(std::string(kTwoParts) + "upstream = \"catalog\""),
              HasSubstr("upstream: a route with aggregate has no upstream"));
  EXPECT_THAT(ErrorOf("upstream = \"catalog\"\nmerge = \"keys\""),
              HasSubstr("merge: needs aggregate"));
  EXPECT_THAT(ErrorOf("aggregate = []"), HasSubstr("aggregate: must list at least one part"));
  EXPECT_THAT(
      ErrorOf("aggregate = [{ name = \"_errors\", upstream = \"catalog\", path = \"/a\" }]"),
      HasSubstr("aggregate[0].name: must be 1-64 characters"));
  EXPECT_THAT(ErrorOf("aggregate = [{ name = \"p\", upstream = \"catalog\", path = \"a\" }]"),
              HasSubstr("aggregate[0].path: \"a\": must start with '/'"));
  EXPECT_THAT(ErrorOf("aggregate = [{ name = \"p\", upstream = \"catalog\", path = \"/a#b\" }]"),
              HasSubstr("aggregate[0].path: \"/a#b\": byte 2 is not allowed"));
  EXPECT_THAT(
      ErrorOf("aggregate = [{ name = \"p\", upstream = \"catalog\", path = \"/a\", "
              "method = \"TRACE\" }]"),
      HasSubstr("aggregate[0].method: unknown value \"TRACE\" (GET|POST|PUT|PATCH|DELETE)"));
  EXPECT_THAT(ErrorOf("aggregate = [{ name = \"p\", upstream = \"catalog\", path = \"/a\", "
                      "timeout = \"10s\" }]\naggregate_timeout = \"1s\""),
              HasSubstr("part \"p\": timeout 10s is longer than aggregate_timeout 1s"));
  EXPECT_THAT(ErrorOf("aggregate = [{ name = \"p\", upstream = \"catalog\", paht = \"/a\" }]"),
              HasSubstr("aggregate[0].paht"));
  EXPECT_THAT(ErrorOf("aggregate = [{ name = \"p\", upstream = \"catalog\" }]"),
              HasSubstr("aggregate[0].path"));
}

}  // namespace
}  // namespace edge::l7
