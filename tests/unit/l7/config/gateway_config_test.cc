#include "l7/config/gateway_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace edge::l7 {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

// The smallest valid config; the bad cases below are built from it.
constexpr std::string_view kMinimal = R"([gw7]
listen = "127.0.0.1:8001"

[[upstream]]
name = "api"
servers = ["127.0.0.1:9101"]

[[route]]
name = "all"
upstream = "api"
)";

std::string ErrorOf(std::string_view text) {
  auto parsed = ParseGatewayConfig(text, "gateway.toml");
  if (parsed.ok()) return "(parsed fine)";
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(parsed.status().message());
}

TEST(GatewayConfig, ParsesTheExampleInConf) {
  const char* root = std::getenv("EDGE_SOURCE_ROOT");
  ASSERT_NE(root, nullptr) << "EDGE_SOURCE_ROOT is set by meson";
  auto parsed = LoadGatewayConfig(std::string(root) + "/conf/gateway.toml");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const GatewayConfig& c = *parsed;
  EXPECT_EQ(c.path, std::string(root) + "/conf/gateway.toml");
  EXPECT_EQ(c.listen.ToString(), "127.0.0.1:8001");
  ASSERT_TRUE(c.admin.has_value());
  EXPECT_EQ(c.admin->ToString(), "127.0.0.1:9911");
  EXPECT_EQ(c.proxy_protocol, ProxyProtocolPolicy::kOptional);
  ASSERT_EQ(c.trusted_proxies.size(), 1u);
  EXPECT_EQ(c.trusted_proxies[0].ToString(), "127.0.0.0/8");
  EXPECT_EQ(c.limits.max_header_bytes, 16384u);
  EXPECT_EQ(c.limits.max_body_bytes, 10u << 20);
  EXPECT_EQ(c.limits.max_uri_bytes, 8192u);
  EXPECT_EQ(c.limits.header_timeout, absl::Seconds(10));
  EXPECT_EQ(c.limits.idle_timeout, absl::Seconds(60));
  EXPECT_EQ(c.drain_timeout, absl::Seconds(30));
  EXPECT_EQ(c.drain_delay, absl::Seconds(5));

  ASSERT_EQ(c.upstreams.size(), 3u);
  const UpstreamConfig& products = c.upstreams[0];
  EXPECT_EQ(products.name, "products");
  EXPECT_EQ(products.balance, UpstreamBalance::kP2cEwma);
  ASSERT_EQ(products.servers.size(), 2u);
  EXPECT_EQ(products.servers[0].ToString(), "127.0.0.1:9101");
  EXPECT_EQ(products.servers[1].ToString(), "127.0.0.1:9102");
  EXPECT_THAT(products.weights, ElementsAre(1u, 1u));
  EXPECT_EQ(products.connect_timeout, absl::Seconds(1));
  EXPECT_EQ(products.request_timeout, absl::Seconds(15));
  EXPECT_EQ(products.retries, 2);
  EXPECT_TRUE(products.health.enabled);
  EXPECT_EQ(products.health.path, "/health");
  EXPECT_EQ(products.health.interval, absl::Seconds(2));
  EXPECT_EQ(products.health.timeout, absl::Seconds(1));
  EXPECT_EQ(products.health.rise, 2);
  EXPECT_EQ(products.health.fall, 3);
  const UpstreamConfig& catalog = c.upstreams[1];
  EXPECT_EQ(catalog.balance, UpstreamBalance::kMaglev);
  EXPECT_EQ(catalog.hash_on, "header:x-user-id");
  EXPECT_THAT(catalog.weights, ElementsAre(1u, 2u));
  EXPECT_FALSE(catalog.health.enabled);

  ASSERT_EQ(c.routes.size(), 3u);
  const RouteConfig& r = c.routes[0];
  EXPECT_EQ(r.name, "products");
  EXPECT_EQ(r.host, "api.example.com");
  EXPECT_EQ(r.path_kind, PathMatch::kPrefix);
  EXPECT_EQ(r.path, "/v1/products");
  EXPECT_THAT(r.methods, ElementsAre("GET", "POST"));
  EXPECT_EQ(r.upstream, "products");
  EXPECT_EQ(r.strip_prefix, "/v1");
  EXPECT_EQ(r.auth, "users");
  EXPECT_THAT(r.require_scopes, ElementsAre("orders:read"));
  EXPECT_EQ(r.rate_limit, "per-consumer");
  EXPECT_EQ(c.routes[1].path_kind, PathMatch::kTemplate);
  EXPECT_EQ(c.routes[1].path, "/catalog/{id}");
  EXPECT_EQ(c.routes[2].path_kind, PathMatch::kPrefix);
  // The catch-all has an upstream of its own: none a protected route guards.
  EXPECT_EQ(c.routes[2].upstream, "web");
  EXPECT_EQ(c.upstreams[2].name, "web");

  // The filters' sections reach them untouched.
  ASSERT_NE(c.document, nullptr);
  EXPECT_NE(c.document->get("auth"), nullptr);
  EXPECT_NE(c.document->get("rate_limit"), nullptr);
  EXPECT_NE(c.document->get("redis"), nullptr);
  EXPECT_EQ(c.FindUpstream("catalog"), &c.upstreams[1]);
  EXPECT_EQ(c.UpstreamIndex("nope"), -1);
  EXPECT_EQ(ConfigName(UpstreamBalance::kP2cEwma), "p2c_ewma");
}

TEST(GatewayConfig, Defaults) {
  auto parsed = ParseGatewayConfig(kMinimal, "gateway.toml");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const GatewayConfig& c = *parsed;
  EXPECT_FALSE(c.admin.has_value());
  EXPECT_EQ(c.proxy_protocol, ProxyProtocolPolicy::kOff);
  EXPECT_TRUE(c.trusted_proxies.empty());
  EXPECT_TRUE(c.internal_headers.empty());
  for (const RouteConfig& r : c.routes) EXPECT_FALSE(r.allow_h2c_upgrade) << r.name;
  EXPECT_EQ(c.limits.max_header_bytes, 16384u);
  EXPECT_EQ(c.limits.max_body_bytes, 10u << 20);
  EXPECT_EQ(c.limits.max_uri_bytes, 8192u);
  EXPECT_EQ(c.limits.header_timeout, absl::Seconds(10));
  EXPECT_EQ(c.limits.idle_timeout, absl::Seconds(60));
  EXPECT_EQ(c.drain_timeout, absl::Seconds(30));
  EXPECT_EQ(c.batch_wait_us, 300u);
  EXPECT_EQ(c.limits.send_timeout, absl::Seconds(30));
  EXPECT_EQ(c.max_connections, 0u);
  EXPECT_EQ(c.drain_delay, absl::ZeroDuration());  // stop accepting at once, as before
  const UpstreamConfig& u = c.upstreams[0];
  EXPECT_EQ(u.balance, UpstreamBalance::kRoundRobin);
  EXPECT_EQ(u.hash_on, "client_ip");
  EXPECT_EQ(u.connect_timeout, absl::Seconds(1));
  EXPECT_EQ(u.request_timeout, absl::Seconds(15));
  EXPECT_EQ(u.retries, 1);
  EXPECT_EQ(u.max_idle_per_server, 64u);
  EXPECT_EQ(u.protocol, UpstreamProtocol::kHttp1);
  EXPECT_EQ(u.h2_max_connections, 4u);
  EXPECT_FALSE(u.health.enabled);
  EXPECT_EQ(u.health.interval, absl::Seconds(2));
  EXPECT_EQ(u.health.timeout, absl::Seconds(1));
  // Passive ejection: lb4's back-off and cap (common/health), gw7's passive_failures default.
  EXPECT_EQ(u.passive_failures, 5);
  EXPECT_EQ(u.ejection_time, absl::Seconds(10));
  EXPECT_EQ(u.max_ejection_time, absl::Minutes(5));
  EXPECT_EQ(u.max_ejection_percent, 50);
  EXPECT_EQ(u.panic_threshold, 50);
  const RouteConfig& r = c.routes[0];
  EXPECT_EQ(r.host, "");
  EXPECT_EQ(r.path_kind, PathMatch::kAny);
  EXPECT_TRUE(r.methods.empty());
}

TEST(GatewayConfig, ReadsEveryRouteKey) {
  const std::string text = std::string(kMinimal) + R"(
[[route]]
name = "full"
host = "*.Example.COM"
path_template = "/v1/users/{id}/orders/{order}"
methods = ["get", "Delete"]
headers = [{ name = "X-Tenant", value = "acme" }, { name = "X-Debug" }]
upstream = "api"
strip_prefix = "/v1"
auth = "users"
require_scopes = ["a", "b"]
require_claims = { tenant = "acme", tier = "gold" }
rate_limit = "rl"
concurrency_limit = "inflight"
add_request_headers = { "X-From" = "gw7" }

[[route]]
name = "regex"
path_regex = "/v[0-9]+/items/.*"
upstream = "api"

[[route]]
name = "rewrite"
path_prefix = "/old/"
prefix_rewrite = "/new/"
upstream = "api"

[[route]]
name = "exact"
path = "/healthz"
upstream = "api"

[[auth]]
name = "users"
anything = "goes here"

[[rate_limit]]
name = "rl"

[[concurrency_limit]]
name = "inflight"
)";
  auto parsed = ParseGatewayConfig(text, "gateway.toml");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const RouteConfig& r = parsed->routes[1];
  EXPECT_EQ(r.host, "*.example.com");
  EXPECT_EQ(r.path_kind, PathMatch::kTemplate);
  EXPECT_THAT(r.methods, ElementsAre("GET", "DELETE"));
  ASSERT_EQ(r.headers.size(), 2u);
  EXPECT_EQ(r.headers[0].name, "x-tenant");
  EXPECT_EQ(r.headers[0].value, "acme");
  EXPECT_EQ(r.headers[1].name, "x-debug");
  EXPECT_FALSE(r.headers[1].value.has_value());
  EXPECT_THAT(r.require_claims, ElementsAre(Pair("tenant", "acme"), Pair("tier", "gold")));
  EXPECT_THAT(r.add_request_headers, ElementsAre(Pair("X-From", "gw7")));
  EXPECT_EQ(r.rate_limit, "rl");
  EXPECT_EQ(r.concurrency_limit, "inflight");
  EXPECT_NE(parsed->document->get("concurrency_limit"), nullptr);
  EXPECT_EQ(parsed->routes[2].path_kind, PathMatch::kRegex);
  EXPECT_EQ(parsed->routes[3].prefix_rewrite, "/new/");
  EXPECT_EQ(parsed->routes[4].path_kind, PathMatch::kExact);
}

TEST(GatewayConfig, SendTimeoutAndMaxConnections) {
  auto parsed = ParseGatewayConfig(
      "[gw7]\nlisten = \"127.0.0.1:8001\"\nmax_connections = 1000\n[gw7.limits]\n"
      "send_timeout = \"250ms\"\n[[upstream]]\nname = \"a\"\nservers = [\"127.0.0.1:1\"]\n"
      "[[route]]\nname = \"r\"\nupstream = \"a\"\n",
      "gateway.toml");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->max_connections, 1000u);
  EXPECT_EQ(parsed->limits.send_timeout, absl::Milliseconds(250));
}

// The same health keys as lb4's [pool.health] (common/health's reader), and the upstream's
// ejection back-off, cap and panic threshold.
TEST(GatewayConfig, ReadsHealthEjectionAndPanicKeys) {
  auto parsed = ParseGatewayConfig(
      "[gw7]\nlisten = \"127.0.0.1:8001\"\n[[upstream]]\nname = \"a\"\n"
      "servers = [\"127.0.0.1:1\", \"127.0.0.1:2\"]\npassive_failures = 2\n"
      "ejection_time = \"1s\"\nmax_ejection_time = \"8s\"\nmax_ejection_percent = 100\n"
      "panic_threshold = 0\nhealth = { check = \"tcp\", port = 9911, interval = \"500ms\", "
      "timeout = \"200ms\", rise = 1, fall = 2, expect_status = \"200,204\" }\n"
      "[[upstream]]\nname = \"b\"\nservers = [\"127.0.0.1:3\"]\nhealth = { check = \"none\" }\n"
      "[[route]]\nname = \"r\"\nupstream = \"a\"\n",
      "gateway.toml");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const UpstreamConfig& a = parsed->upstreams[0];
  EXPECT_EQ(a.passive_failures, 2);
  EXPECT_EQ(a.ejection_time, absl::Seconds(1));
  EXPECT_EQ(a.max_ejection_time, absl::Seconds(8));
  EXPECT_EQ(a.max_ejection_percent, 100);
  EXPECT_EQ(a.panic_threshold, 0);
  EXPECT_TRUE(a.health.enabled);
  EXPECT_EQ(a.health.check, health::CheckKind::kTcp);
  EXPECT_EQ(a.health.port, 9911);
  EXPECT_EQ(a.health.path, "/health");
  EXPECT_EQ(a.health.interval, absl::Milliseconds(500));
  EXPECT_EQ(a.health.timeout, absl::Milliseconds(200));
  EXPECT_EQ(a.health.rise, 1);
  EXPECT_EQ(a.health.fall, 2);
  EXPECT_EQ(a.health.expect_status.ToString(), "200,204");
  EXPECT_FALSE(parsed->upstreams[1].health.enabled);  // check = "none": no probes
}

TEST(GatewayConfig, Http2AsASwitchOrATable) {
  constexpr std::string_view kRest =
      "[[upstream]]\nname = \"a\"\nservers = [\"127.0.0.1:1\"]\n"
      "[[route]]\nname = \"r\"\nupstream = \"a\"\n";
  auto off = ParseGatewayConfig("[gw7]\nlisten = \"127.0.0.1:8001\"\n" + std::string(kRest),
                                "gateway.toml");
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_FALSE(off->http2);
  EXPECT_EQ(off->http2_limits.max_concurrent_streams, 100u);
  auto on = ParseGatewayConfig(
      "[gw7]\nlisten = \"127.0.0.1:8001\"\nhttp2 = true\n" + std::string(kRest), "gateway.toml");
  ASSERT_TRUE(on.ok()) << on.status();
  EXPECT_TRUE(on->http2);
  auto table = ParseGatewayConfig(
      "[gw7]\nlisten = \"127.0.0.1:8001\"\n[gw7.http2]\n"
      "max_concurrent_streams = 7\n" +
          std::string(kRest),
      "gateway.toml");
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_TRUE(table->http2);
  EXPECT_EQ(table->http2_limits.max_concurrent_streams, 7u);
  auto disabled = ParseGatewayConfig(
      "[gw7]\nlisten = \"127.0.0.1:8001\"\nhttp2 = { enabled = false }\n" + std::string(kRest),
      "gateway.toml");
  ASSERT_TRUE(disabled.ok()) << disabled.status();
  EXPECT_FALSE(disabled->http2);
}

TEST(GatewayConfig, PathNormalizationDefaultsAreTheSafeChoice) {
  auto parsed = ParseGatewayConfig(kMinimal, "gateway.toml");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->path_normalization.escaped_slashes, EscapedSlashes::kReject);
  EXPECT_TRUE(parsed->path_normalization.merge_slashes);
  EXPECT_EQ(parsed->path_normalization.path_parameters, PathParameters::kReject);
  EXPECT_FALSE(parsed->routes[0].case_insensitive);
}

TEST(GatewayConfig, ReadsPathNormalizationAndCaseInsensitive) {
  const std::string text = R"([gw7]
listen = "127.0.0.1:8001"
escaped_slashes = "keep"
merge_slashes = false
path_parameters = "strip"

[[upstream]]
name = "api"
servers = ["127.0.0.1:9101"]

[[route]]
name = "all"
path_prefix = "/Legacy"
case_insensitive = true
upstream = "api"
)";
  auto parsed = ParseGatewayConfig(text, "gateway.toml");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->path_normalization.escaped_slashes, EscapedSlashes::kKeep);
  EXPECT_FALSE(parsed->path_normalization.merge_slashes);
  EXPECT_EQ(parsed->path_normalization.path_parameters, PathParameters::kStrip);
  EXPECT_TRUE(parsed->routes[0].case_insensitive);
}

TEST(GatewayConfig, ServersWithWeightsAndIpv6) {
  const std::string text = R"([gw7]
listen = "[::1]:8001"
[[upstream]]
name = "api"
balance = "maglev"
hash_on = "cookie:session"
servers = ["[::1]:9101", { address = "127.0.0.1:9102", weight = 3 }, { address = "127.0.0.1:9103" }]
)";
  auto parsed = ParseGatewayConfig(text, "gateway.toml");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const UpstreamConfig& u = parsed->upstreams[0];
  ASSERT_EQ(u.servers.size(), 3u);
  EXPECT_EQ(u.servers[0].ToString(), "[::1]:9101");
  EXPECT_THAT(u.weights, ElementsAre(1u, 3u, 1u));
  EXPECT_EQ(u.hash_on, "cookie:session");
  EXPECT_TRUE(parsed->routes.empty());
}

// proxy_protocol: the three modes by name, and the older booleans (true = optional).
TEST(GatewayConfig, ProxyProtocolModesInternalHeadersAndH2c) {
  const std::pair<std::string, ProxyProtocolPolicy> cases[] = {
      {"\"off\"", ProxyProtocolPolicy::kOff},
      {"\"optional\"", ProxyProtocolPolicy::kOptional},
      {"\"required\"", ProxyProtocolPolicy::kRequired},
      {"true", ProxyProtocolPolicy::kOptional},
      {"false", ProxyProtocolPolicy::kOff},
  };
  for (const auto& [value, want] : cases) {
    const std::string text =
        "[gw7]\nlisten = \"127.0.0.1:8001\"\ntrusted_proxies = "
        "[\"10.0.0.0/8\"]\nproxy_protocol = " +
        value +
        "\ninternal_headers = [\"X-Internal-Token\", \"X_Tenant\"]\n"
        "[[upstream]]\nname = \"a\"\nservers = [\"127.0.0.1:1\"]\n"
        "[[route]]\nname = \"r\"\nupstream = \"a\"\nallow_h2c_upgrade = true\n";
    auto parsed = ParseGatewayConfig(text, "gateway.toml");
    ASSERT_TRUE(parsed.ok()) << value << ": " << parsed.status();
    EXPECT_EQ(parsed->proxy_protocol, want) << value;
    EXPECT_THAT(parsed->internal_headers, ElementsAre("X-Internal-Token", "X_Tenant"));
    EXPECT_TRUE(parsed->routes[0].allow_h2c_upgrade);
  }
}

TEST(GatewayConfig, UpstreamProtocols) {
  const std::string text =
      std::string(kMinimal) +
      "[[upstream]]\nname = \"grpc\"\nprotocol = \"h2c\"\nh2_max_connections = 2\n"
      "servers = [\"127.0.0.1:2\"]\n";
  auto parsed = ParseGatewayConfig(text, "gateway.toml");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const UpstreamConfig& grpc = *parsed->FindUpstream("grpc");
  EXPECT_EQ(grpc.protocol, UpstreamProtocol::kH2c);
  EXPECT_EQ(grpc.h2_max_connections, 2u);
  EXPECT_EQ(ConfigName(UpstreamProtocol::kH2c), "h2c");
  EXPECT_EQ(ConfigName(UpstreamProtocol::kHttp1), "http1");
}

struct BadCase {
  std::string_view name;
  std::string text;  // appended to kMinimal unless it starts with "!"
  std::string error;
};

std::string Text(const BadCase& c) {
  if (!c.text.empty() && c.text[0] == '!') return c.text.substr(1);
  return std::string(kMinimal) + c.text;
}

class BadConfig : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadConfig, IsRefusedWithAPositionedMessage) {
  EXPECT_EQ(ErrorOf(Text(GetParam())), GetParam().error);
}

// kMinimal has 10 lines; appended text starts on line 11.
const BadCase kBadCases[] = {
    {"NoGw7", "![[upstream]]\nname = \"a\"\nservers = [\"127.0.0.1:1\"]\n",
     "gateway.toml:1:1: gw7: missing required key"},
    {"NoListen", "![gw7]\nadmin = \"127.0.0.1:9\"\n",
     "gateway.toml:1:1: gw7: listen: missing required key"},
    {"UnknownTopLevel", "[gw8]\n",
     "gateway.toml:11:2: gw8: unknown key; did you mean \"gw7\"? (allowed: gw7, upstream, route, "
     "auth, rate_limit, concurrency_limit, redis, dns, cache)"},
    {"UnknownGw7Key", "![gw7]\nlisten = \"127.0.0.1:8001\"\nlisen = 1\n",
     "gateway.toml:3:1: gw7: lisen: unknown key; did you mean \"listen\"? (allowed: listen, admin, "
     "proxy_protocol, trusted_proxies, drain_timeout, batch_wait_us, limits, internal_headers, "
     "max_connections, escaped_slashes, merge_slashes, path_parameters, drain_delay, access_log, "
     "http2, keep_method_override, admin_token_file)"},
    {"Http2StreamsZero",
     "![gw7]\nlisten = \"127.0.0.1:8001\"\n[gw7.http2]\nmax_concurrent_streams = 0\n",
     "gateway.toml:4:26: gw7: http2.max_concurrent_streams: must be between 1 and 10000, got 0"},
    {"Http2NotBool", "![gw7]\nlisten = \"127.0.0.1:8001\"\nhttp2 = \"yes\"\n",
     "gateway.toml:3:9: gw7: http2: expected true or false, got string"},
    {"ProxyProtocolUnknown",
     "![gw7]\nlisten = \"127.0.0.1:8001\"\ntrusted_proxies = []\nproxy_protocol = \"always\"\n",
     "gateway.toml:4:18: gw7: proxy_protocol: unknown value \"always\" (off|optional|required)"},
    {"ProxyRequiredWithoutTrusted",
     "![gw7]\nlisten = \"127.0.0.1:8001\"\nproxy_protocol = \"required\"\n",
     "gateway.toml:3:18: gw7: proxy_protocol: true requires trusted_proxies (the networks allowed "
     "to send a PROXY header), e.g. [\"127.0.0.0/8\"]"},
    {"InternalHeaderNotAName",
     "![gw7]\nlisten = \"127.0.0.1:8001\"\ninternal_headers = [\"X-Ok\", \"Bad Name\"]\n",
     "gateway.toml:3:20: gw7: internal_headers: not a valid header name: \"Bad Name\""},
    {"AllowH2cNotBool",
     "![gw7]\nlisten = \"127.0.0.1:8001\"\n[[upstream]]\nname = \"a\"\nservers = "
     "[\"127.0.0.1:1\"]\n[[route]]\nname = \"r\"\nupstream = \"a\"\nallow_h2c_upgrade = \"yes\"\n",
     "gateway.toml:9:21: route \"r\": allow_h2c_upgrade: expected true or false, got string"},
    {"BadEscapedSlashes", "![gw7]\nlisten = \"127.0.0.1:8001\"\nescaped_slashes = \"decode\"\n",
     "gateway.toml:3:19: gw7: escaped_slashes: unknown value \"decode\" (reject|keep)"},
    {"BadMergeSlashes", "![gw7]\nlisten = \"127.0.0.1:8001\"\nmerge_slashes = \"yes\"\n",
     "gateway.toml:3:17: gw7: merge_slashes: expected true or false, got string"},
    {"BadPathParameters", "![gw7]\nlisten = \"127.0.0.1:8001\"\npath_parameters = \"keep\"\n",
     "gateway.toml:3:19: gw7: path_parameters: unknown value \"keep\" (reject|strip)"},
    {"BadCaseInsensitive", "[[route]]\nname = \"r\"\nupstream = \"api\"\ncase_insensitive = 1\n",
     "gateway.toml:14:20: route \"r\": case_insensitive: expected true or false, got integer"},
    {"BatchWaitTooLong", "![gw7]\nlisten = \"127.0.0.1:8001\"\nbatch_wait_us = 1001\n",
     "gateway.toml:3:17: gw7: batch_wait_us: must be between 0 and 1000, got 1001"},
    {"MaxConnectionsNegative", "![gw7]\nlisten = \"127.0.0.1:8001\"\nmax_connections = -1\n",
     "gateway.toml:3:19: gw7: max_connections: must be between 0 and 16000000, got -1"},
    {"DrainDelayTooLong", "![gw7]\nlisten = \"127.0.0.1:8001\"\ndrain_delay = \"2h\"\n",
     "gateway.toml:3:15: gw7: drain_delay: must be between 0s and 1h, got \"2h\""},
    {"DrainDelayNumber", "![gw7]\nlisten = \"127.0.0.1:8001\"\ndrain_delay = 5\n",
     "gateway.toml:3:15: gw7: drain_delay: expected a duration string with a unit such as "
     "\"500ms\", \"2s\" or \"5m\", got integer"},
    {"SendTimeoutZero",
     "![gw7]\nlisten = \"127.0.0.1:8001\"\n[gw7.limits]\nsend_timeout = \"0s\"\n",
     "gateway.toml:4:16: gw7: limits.send_timeout: must be between 1ms and 24h, got \"0s\""},
    {"BadListen", "![gw7]\nlisten = \"localhost:80\"\n",
     "gateway.toml:2:10: gw7: listen: bad address \"localhost:80\": not an IP address: "
     "\"localhost\""},
    {"AdminSameAsListen", "![gw7]\nlisten = \"127.0.0.1:8001\"\nadmin = \"127.0.0.1:8001\"\n",
     "gateway.toml:3:9: gw7: admin: address 127.0.0.1:8001 is already used by gw7.listen"},
    {"ProxyWithoutTrusted", "![gw7]\nlisten = \"127.0.0.1:8001\"\nproxy_protocol = true\n",
     "gateway.toml:3:18: gw7: proxy_protocol: true requires trusted_proxies (the networks allowed "
     "to send a PROXY header), e.g. [\"127.0.0.0/8\"]"},
    {"BadTrustedProxy",
     "![gw7]\nlisten = \"127.0.0.1:8001\"\ntrusted_proxies = [\"127.0.0.0/8\", \"10.0.0.1/8\"]\n",
     "gateway.toml:3:35: gw7: trusted_proxies[1]: invalid CIDR \"10.0.0.1/8\": host bits are set "
     "(did you mean 10.0.0.0/8?)"},
    {"LimitsUnknownKey",
     "![gw7]\nlisten = \"127.0.0.1:8001\"\n[gw7.limits]\nmax_headers = \"1KiB\"\n",
     "gateway.toml:4:1: gw7: limits.max_headers: unknown key (allowed: max_header_bytes, "
     "max_body_bytes, max_uri_bytes, header_timeout, idle_timeout, send_timeout)"},
    {"HeaderBytesTooSmall",
     "![gw7]\nlisten = \"127.0.0.1:8001\"\n[gw7.limits]\nmax_header_bytes = \"100B\"\n",
     "gateway.toml:4:20: gw7: limits.max_header_bytes: must be between 1KiB and 1MiB, got "
     "\"100B\""},
    {"UriAboveHeader",
     "![gw7]\nlisten = \"127.0.0.1:8001\"\n[gw7.limits]\nmax_header_bytes = \"4KiB\"\n"
     "max_uri_bytes = \"8KiB\"\n",
     "gateway.toml:5:17: gw7: limits.max_uri_bytes: must not exceed max_header_bytes (4KiB; the "
     "request line is part of the header block), got 8KiB"},
    {"DurationWithoutUnit",
     "![gw7]\nlisten = \"127.0.0.1:8001\"\n[gw7.limits]\nheader_timeout = \"10\"\n",
     "gateway.toml:4:18: gw7: limits.header_timeout: invalid duration \"10\": missing unit (h, "
     "m, s, ms), e.g. \"500ms\", \"2s\", \"5m\", \"1m30s\""},
    {"UnknownBalance",
     "[[upstream]]\nname = \"b\"\nbalance = \"rr\"\nservers = [\"127.0.0.1:1\"]\n",
     "gateway.toml:13:11: upstream \"b\": balance: unknown value \"rr\" "
     "(round_robin|least_request|p2c_ewma|maglev)"},
    {"NoServers", "[[upstream]]\nname = \"b\"\n",
     "gateway.toml:11:1: upstream \"b\": servers: missing required key"},
    {"EmptyServers", "[[upstream]]\nname = \"b\"\nservers = []\n",
     "gateway.toml:13:11: upstream \"b\": servers: must list at least one server, e.g. "
     "[\"127.0.0.1:9101\"]"},
    {"ServerPortZero", "[[upstream]]\nname = \"b\"\nservers = [\"127.0.0.1:0\"]\n",
     "gateway.toml:13:12: upstream \"b\": servers[0]: port 0 is not a valid server port, got "
     "\"127.0.0.1:0\""},
    // A host name is a server resolved through [dns] (upstream_discovery_test.cc); what is
    // neither an address nor a host name is refused.
    {"ServerBadHostName", "[[upstream]]\nname = \"b\"\nservers = [\"back_end:80\"]\n",
     "gateway.toml:13:12: upstream \"b\": servers[0]: \"back_end\" is neither an IP address nor "
     "a valid host name"},
    {"DuplicateServer",
     "[[upstream]]\nname = \"b\"\nservers = [\"127.0.0.1:1\", { address = \"127.0.0.1:1\" }]\n",
     "gateway.toml:13:39: upstream \"b\": servers[1]: duplicate server 127.0.0.1:1 (also "
     "servers[0])"},
    {"ZeroWeight",
     "[[upstream]]\nname = \"b\"\nservers = [{ address = \"127.0.0.1:1\", weight = 0 }]\n",
     "gateway.toml:13:48: upstream \"b\": servers[0].weight: must be between 1 and 10000, got 0"},
    {"ServerWrongType", "[[upstream]]\nname = \"b\"\nservers = [80]\n",
     "gateway.toml:13:12: upstream \"b\": servers[0]: expected \"host:port\" or { address = "
     "\"host:port\", weight = N }, got integer"},
    {"ServerTableUnknownKey",
     "[[upstream]]\nname = \"b\"\nservers = [{ address = \"127.0.0.1:1\", wieght = 2 }]\n",
     "gateway.toml:13:39: upstream \"b\": servers[0].wieght: unknown key; did you mean \"weight\"? "
     "(allowed: address, weight, srv)"},
    {"HashOnWithoutMaglev",
     "[[upstream]]\nname = \"b\"\nhash_on = \"client_ip\"\nservers = [\"127.0.0.1:1\"]\n",
     "gateway.toml:13:11: upstream \"b\": hash_on: is used only by balance = \"maglev\", not "
     "\"round_robin\""},
    {"HashOnUnknown",
     "[[upstream]]\nname = \"b\"\nbalance = \"maglev\"\nhash_on = \"source\"\n"
     "servers = [\"127.0.0.1:1\"]\n",
     "gateway.toml:14:11: upstream \"b\": hash_on: unknown value \"source\" "
     "(client_ip|header:NAME|cookie:NAME)"},
    {"HashOnBadHeader",
     "[[upstream]]\nname = \"b\"\nbalance = \"maglev\"\nhash_on = \"header:X Y\"\n"
     "servers = [\"127.0.0.1:1\"]\n",
     "gateway.toml:14:11: upstream \"b\": hash_on: unknown value \"header:X Y\" "
     "(client_ip|header:NAME|cookie:NAME)"},
    {"ProtocolUnknown",
     "[[upstream]]\nname = \"b\"\nservers = [\"127.0.0.1:1\"]\nprotocol = \"http2\"\n",
     "gateway.toml:14:12: upstream \"b\": protocol: unknown value \"http2\" (http1|h2c|h2)"},
    {"H2WithoutTls", "[[upstream]]\nname = \"b\"\nservers = [\"127.0.0.1:1\"]\nprotocol = \"h2\"\n",
     "gateway.toml:14:12: upstream \"b\": protocol: \"h2\" needs tls = { ca_file = \"...\" } "
     "(or verify = false)"},
    {"H2TlsWithoutCa",
     "[[upstream]]\nname = \"b\"\nservers = [\"127.0.0.1:1\"]\nprotocol = \"h2\"\n"
     "tls = { server_name = \"a\" }\n",
     "gateway.toml:15:7: upstream \"b\": tls.ca_file: is required when verify is true (the CA "
     "that signed the servers)"},
    {"H2HttpCheckOfTheTlsPort",
     "[[upstream]]\nname = \"b\"\nservers = [\"127.0.0.1:1\"]\nprotocol = \"h2\"\n"
     "tls = { ca_file = \"ca.pem\" }\nhealth = { check = \"http\" }\n",
     "gateway.toml:16:10: upstream \"b\": health: an http check of a TLS (protocol = \"h2\") "
     "server needs port = N (a plain HTTP health port), or check = \"tcp\""},
    {"TlsWithH2c",
     "[[upstream]]\nname = \"b\"\nservers = [\"127.0.0.1:1\"]\nprotocol = \"h2c\"\n"
     "tls = { verify = false }\n",
     "gateway.toml:15:7: upstream \"b\": tls: is used only by protocol = \"h2\""},
    {"H2MaxConnectionsWithHttp1",
     "[[upstream]]\nname = \"b\"\nservers = [\"127.0.0.1:1\"]\nh2_max_connections = 2\n",
     "gateway.toml:14:22: upstream \"b\": h2_max_connections: is used only by protocol = \"h2c\" "
     "or \"h2\""},
    {"H2MaxConnectionsZero",
     "[[upstream]]\nname = \"b\"\nservers = [\"127.0.0.1:1\"]\nprotocol = \"h2c\"\n"
     "h2_max_connections = 0\n",
     "gateway.toml:15:22: upstream \"b\": h2_max_connections: must be between 1 and 64, got 0"},
    {"RetriesTooMany", "[[upstream]]\nname = \"b\"\nservers = [\"127.0.0.1:1\"]\nretries = 11\n",
     "gateway.toml:14:11: upstream \"b\": retries: must be between 0 and 10, got 11"},
    {"HealthTimeoutAboveInterval",
     "[[upstream]]\nname = \"b\"\nservers = [\"127.0.0.1:1\"]\n"
     "health = { interval = \"1s\", timeout = \"2s\" }\n",
     "gateway.toml:14:39: upstream \"b\": health.timeout: must not exceed interval (1s), got "
     "\"2s\""},
    {"HealthIntervalBelowDefaultTimeout",
     "[[upstream]]\nname = \"b\"\nservers = [\"127.0.0.1:1\"]\n"
     "health = { interval = \"500ms\" }\n",
     "gateway.toml:14:23: upstream \"b\": health.interval: must be at least timeout (1s, the "
     "default), got \"500ms\""},
    {"HealthBadPath",
     "[[upstream]]\nname = \"b\"\nservers = [\"127.0.0.1:1\"]\nhealth = { path = \"health\" }\n",
     "gateway.toml:14:19: upstream \"b\": health.path: must start with '/' and hold only visible "
     "ASCII, got \"health\""},
    {"HealthUnknownKey",
     "[[upstream]]\nname = \"b\"\nservers = [\"127.0.0.1:1\"]\nhealth = { method = \"HEAD\" }\n",
     "gateway.toml:14:12: upstream \"b\": health.method: unknown key (allowed: check, path, port, "
     "interval, timeout, rise, fall, expect_status)"},
    {"HealthBadExpectStatus",
     "[[upstream]]\nname = \"b\"\nservers = [\"127.0.0.1:1\"]\nhealth = { expect_status = "
     "\"2xx,600\" }\n",
     "gateway.toml:14:28: upstream \"b\": health.expect_status: \"600\": expected a code "
     "(\"200\"), "
     "a class (\"2xx\") or a range (\"200-399\"), codes in 100..599"},
    {"PanicThresholdOutOfRange",
     "[[upstream]]\nname = \"b\"\nservers = [\"127.0.0.1:1\"]\npanic_threshold = 101\n",
     "gateway.toml:14:19: upstream \"b\": panic_threshold: must be between 0 and 100, got 101"},
    {"MaxEjectionTimeBelowEjectionTime",
     "[[upstream]]\nname = \"b\"\nservers = [\"127.0.0.1:1\"]\nejection_time = \"1m\"\n"
     "max_ejection_time = \"30s\"\n",
     "gateway.toml:15:21: upstream \"b\": max_ejection_time: must be at least ejection_time (1m), "
     "got \"30s\""},
    {"DuplicateUpstream", "[[upstream]]\nname = \"api\"\nservers = [\"127.0.0.1:1\"]\n",
     "gateway.toml:12:8: upstream \"api\": name: duplicate upstream name, first defined at "
     "gateway.toml:5:8"},
    {"BadUpstreamName", "[[upstream]]\nname = \"a b\"\nservers = [\"127.0.0.1:1\"]\n",
     "gateway.toml:12:8: upstream[1]: name: must be 1-64 characters of A-Z a-z 0-9 _ - ., got "
     "\"a b\""},
    {"RouteUnknownUpstream", "[[route]]\nname = \"r\"\nupstream = \"nope\"\n",
     "gateway.toml:13:12: route \"r\": upstream: unknown upstream \"nope\" (defined: api)"},
    {"RouteNoUpstream", "[[route]]\nname = \"r\"\n",
     "gateway.toml:11:1: route \"r\": upstream: missing required key"},
    {"DuplicateRoute", "[[route]]\nname = \"all\"\nupstream = \"api\"\n",
     "gateway.toml:12:8: route \"all\": name: duplicate route name, first defined at "
     "gateway.toml:9:8"},
    {"RouteUnknownKey", "[[route]]\nname = \"r\"\nupstream = \"api\"\npath_prefx = \"/a\"\n",
     "gateway.toml:14:1: route \"r\": path_prefx: unknown key; did you mean \"path_prefix\"? "
     "(allowed: name, host, path, path_prefix, path_template, path_regex, methods, headers, "
     "upstream, strip_prefix, prefix_rewrite, auth, require_scopes, require_claims, rate_limit, "
     "concurrency_limit, add_request_headers, allow_h2c_upgrade, case_insensitive, "
     "access_log_sample, cache, cache_set_cookie, request_headers, response_headers, cors, "
     "compress, "
     "compress_min_bytes, compress_brotli, soap, aggregate, merge, aggregate_timeout, "
     "max_part_bytes)"},
    {"TwoPathKinds",
     "[[route]]\nname = \"r\"\nupstream = \"api\"\npath = \"/a\"\npath_prefix = \"/b\"\n",
     "gateway.toml:15:15: route \"r\": path_prefix: conflicts with path: a route has at most one "
     "of path, path_prefix, path_template, path_regex"},
    {"PathNoSlash", "[[route]]\nname = \"r\"\nupstream = \"api\"\npath_prefix = \"api\"\n",
     "gateway.toml:14:15: route \"r\": path_prefix: must start with '/' and hold only visible "
     "ASCII without '?' or '#', got \"api\""},
    {"PathWithQuery", "[[route]]\nname = \"r\"\nupstream = \"api\"\npath = \"/a?b=1\"\n",
     "gateway.toml:14:8: route \"r\": path: must start with '/' and hold only visible ASCII "
     "without '?' or '#', got \"/a?b=1\""},
    {"BadRegex", "[[route]]\nname = \"r\"\nupstream = \"api\"\npath_regex = \"/a(b\"\n",
     "gateway.toml:14:14: route \"r\": path_regex: invalid RE2 regex \"/a(b\": missing ): /a(b"},
    {"TemplatePartialSegment",
     "[[route]]\nname = \"r\"\nupstream = \"api\"\npath_template = \"/u/x{id}\"\n",
     "gateway.toml:14:17: route \"r\": path_template: invalid template \"/u/x{id}\": a capture is "
     "a whole segment \"{name}\""},
    {"TemplateUnclosed",
     "[[route]]\nname = \"r\"\nupstream = \"api\"\npath_template = \"/u/{id\"\n",
     "gateway.toml:14:17: route \"r\": path_template: invalid template \"/u/{id\": a capture is a "
     "whole segment \"{name}\""},
    {"TemplateEmptyName",
     "[[route]]\nname = \"r\"\nupstream = \"api\"\npath_template = \"/u/{}\"\n",
     "gateway.toml:14:17: route \"r\": path_template: invalid template \"/u/{}\": a capture is a "
     "whole segment \"{name}\""},
    {"TemplateBadName",
     "[[route]]\nname = \"r\"\nupstream = \"api\"\npath_template = \"/u/{1d}\"\n",
     "gateway.toml:14:17: route \"r\": path_template: invalid template \"/u/{1d}\": a capture "
     "name is [A-Za-z_][A-Za-z0-9_]*"},
    {"TemplateDuplicateName",
     "[[route]]\nname = \"r\"\nupstream = \"api\"\npath_template = \"/u/{id}/v/{id}\"\n",
     "gateway.toml:14:17: route \"r\": path_template: invalid template \"/u/{id}/v/{id}\": "
     "capture {id} appears twice"},
    {"TemplateEmptySegment",
     "[[route]]\nname = \"r\"\nupstream = \"api\"\npath_template = \"/u//{id}\"\n",
     "gateway.toml:14:17: route \"r\": path_template: invalid template \"/u//{id}\": empty "
     "segment (\"//\")"},
    {"BadMethod", "[[route]]\nname = \"r\"\nupstream = \"api\"\nmethods = [\"GET\", \"PO ST\"]\n",
     "gateway.toml:14:19: route \"r\": methods[1]: not a valid HTTP method token: \"PO ST\""},
    {"DuplicateMethod",
     "[[route]]\nname = \"r\"\nupstream = \"api\"\nmethods = [\"GET\", \"get\"]\n",
     "gateway.toml:14:19: route \"r\": methods[1]: duplicate method \"GET\""},
    {"EmptyMethods", "[[route]]\nname = \"r\"\nupstream = \"api\"\nmethods = []\n",
     "gateway.toml:14:11: route \"r\": methods: must not be empty (leave methods out to allow "
     "any method)"},
    {"HostWithPort", "[[route]]\nname = \"r\"\nupstream = \"api\"\nhost = \"a.com:80\"\n",
     "gateway.toml:14:8: route \"r\": host: must be a host name (\"api.example.com\") or "
     "\"*.suffix\" (\"*.example.com\"), without port, got \"a.com:80\""},
    {"HostBadWildcard", "[[route]]\nname = \"r\"\nupstream = \"api\"\nhost = \"api.*.com\"\n",
     "gateway.toml:14:8: route \"r\": host: must be a host name (\"api.example.com\") or "
     "\"*.suffix\" (\"*.example.com\"), without port, got \"api.*.com\""},
    {"HostBareStar", "[[route]]\nname = \"r\"\nupstream = \"api\"\nhost = \"*\"\n",
     "gateway.toml:14:8: route \"r\": host: must be a host name (\"api.example.com\") or "
     "\"*.suffix\" (\"*.example.com\"), without port, got \"*\""},
    {"HeaderMatchBadName",
     "[[route]]\nname = \"r\"\nupstream = \"api\"\nheaders = [{ name = \"X:Y\" }]\n",
     "gateway.toml:14:21: route \"r\": headers[0].name: not a valid header name: \"X:Y\""},
    {"HeaderMatchCrlfValue",
     "[[route]]\nname = \"r\"\nupstream = \"api\"\n"
     "headers = [{ name = \"X\", value = \"a\\r\\nb\" }]\n",
     "gateway.toml:14:34: route \"r\": headers[0].value: must be printable ASCII without leading "
     "or trailing blanks, got \"a\\r\\nb\""},
    {"AddHeaderInjection",
     "[[route]]\nname = \"r\"\nupstream = \"api\"\nadd_request_headers = { X = \"a\\nb\" }\n",
     "gateway.toml:14:29: route \"r\": add_request_headers.X: must be printable ASCII without "
     "leading or trailing blanks, got \"a\\nb\""},
    {"StripPrefixNotLeading",
     "[[route]]\nname = \"r\"\nupstream = \"api\"\npath_prefix = \"/v1/a\"\n"
     "strip_prefix = \"/v2\"\n",
     "gateway.toml:15:16: route \"r\": strip_prefix: \"/v2\" is not a leading part of path_prefix "
     "\"/v1/a\", so it would never apply"},
    {"StripPrefixTrailingSlash",
     "[[route]]\nname = \"r\"\nupstream = \"api\"\nstrip_prefix = \"/v1/\"\n",
     "gateway.toml:14:16: route \"r\": strip_prefix: must start with '/', not end with '/', and "
     "hold only visible ASCII without '?' or '#', got \"/v1/\""},
    {"RewriteWithoutPrefix",
     "[[route]]\nname = \"r\"\nupstream = \"api\"\npath = \"/a\"\nprefix_rewrite = \"/b\"\n",
     "gateway.toml:15:18: route \"r\": prefix_rewrite: needs path_prefix (it replaces the matched "
     "prefix)"},
    {"RewriteAndStrip",
     "[[route]]\nname = \"r\"\nupstream = \"api\"\npath_prefix = \"/a\"\nstrip_prefix = \"/a\"\n"
     "prefix_rewrite = \"/b\"\n",
     "gateway.toml:16:18: route \"r\": prefix_rewrite: conflicts with strip_prefix (use one of "
     "them)"},
    {"ScopesWithoutAuth", "[[route]]\nname = \"r\"\nupstream = \"api\"\nrequire_scopes = [\"a\"]\n",
     "gateway.toml:14:18: route \"r\": require_scopes: needs auth (scopes and claims come from an "
     "[[auth]] provider)"},
    {"UnknownAuth", "[[route]]\nname = \"r\"\nupstream = \"api\"\nauth = \"users\"\n",
     "gateway.toml:14:8: route \"r\": auth: unknown auth \"users\" (no [[auth]] is defined)"},
    {"UnknownRateLimit",
     "[[route]]\nname = \"r\"\nupstream = \"api\"\nrate_limit = \"x\"\n[[rate_limit]]\nname = "
     "\"y\"\n",
     "gateway.toml:14:14: route \"r\": rate_limit: unknown rate_limit \"x\" (defined: y)"},
    {"UnknownConcurrencyLimit",
     "[[route]]\nname = \"r\"\nupstream = \"api\"\nconcurrency_limit = \"x\"\n",
     "gateway.toml:14:21: route \"r\": concurrency_limit: unknown concurrency_limit \"x\" (no "
     "[[concurrency_limit]] is defined)"},
    {"ConcurrencyLimitNotArray", "[concurrency_limit]\nname = \"x\"\n",
     "gateway.toml:11:1: concurrency_limit: expected an array of tables ([[concurrency_limit]] or "
     "concurrency_limit = [{...}]), got table"},
    {"AuthNotArray", "[auth]\nname = \"x\"\n",
     "gateway.toml:11:1: auth: expected an array of tables ([[auth]] or auth = [{...}]), got "
     "table"},
    {"RedisNotTable", "!redis = \"127.0.0.1:6379\"\n[gw7]\nlisten = \"127.0.0.1:8001\"\n",
     "gateway.toml:1:9: redis: expected a table, got string"},
    {"TomlSyntax", "[[route]\n",
     "gateway.toml:11:9: invalid TOML: Error while parsing table header: expected ']', saw "
     "'\\n'"},
};

INSTANTIATE_TEST_SUITE_P(Cases, BadConfig, ::testing::ValuesIn(kBadCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(GatewayConfig, ReportsEveryErrorInFileOrder) {
  const std::string text = R"([gw7]
listen = "127.0.0.1:8001"
[[upstream]]
name = "a"
balance = "magelv"
servers = ["127.0.0.1:0"]
[[route]]
name = "r"
upstream = "b"
methods = ["G E T"]
)";
  EXPECT_EQ(ErrorOf(text),
            "gateway.toml:5:11: upstream \"a\": balance: unknown value \"magelv\" "
            "(round_robin|least_request|p2c_ewma|maglev)\n"
            "gateway.toml:6:12: upstream \"a\": servers[0]: port 0 is not a valid server port, got "
            "\"127.0.0.1:0\"\n"
            "gateway.toml:9:12: route \"r\": upstream: unknown upstream \"b\" (defined: a)\n"
            "gateway.toml:10:12: route \"r\": methods[0]: not a valid HTTP method token: \"G E "
            "T\"");
}

TEST(GatewayConfig, UnknownReferenceListsEachDefinedNameOnce) {
  const std::string text = std::string(kMinimal) +
                           "[[upstream]]\nname = \"api\"\nservers = [\"127.0.0.1:2\"]\n"
                           "[[route]]\nname = \"r\"\nupstream = \"nope\"\n";
  EXPECT_EQ(ErrorOf(text),
            "gateway.toml:12:8: upstream \"api\": name: duplicate upstream name, first defined at "
            "gateway.toml:5:8\n"
            "gateway.toml:16:12: route \"r\": upstream: unknown upstream \"nope\" (defined: api)");
}

TEST(GatewayConfig, LoadReportsUnreadableFile) {
  auto parsed = LoadGatewayConfig("/nonexistent/gateway.toml");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(parsed.status().message()),
              ::testing::StartsWith("cannot read /nonexistent/gateway.toml"));
}

TEST(PathTemplate, AcceptsWellFormedTemplates) {
  for (std::string_view t : {"/", "/v1/users/{id}", "/v1/users/{id}/", "/{a}/{b_2}/c",
                             "/files/{_name}", "/a-b/c.d/{x}"}) {
    EXPECT_TRUE(ValidatePathTemplate(t).ok()) << t;
  }
  for (std::string_view t :
       {"", "v1/{id}", "/{id", "/id}", "/{i-d}", "/{{id}}", "/a/{id}x", "/a b", "/a?b", "//"}) {
    EXPECT_FALSE(ValidatePathTemplate(t).ok()) << t;
  }
}

}  // namespace
}  // namespace edge::l7
