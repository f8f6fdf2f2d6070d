// gw7 servers given by name: parsing, and answers expanded into an upstream's servers.
#include "l7/server/upstream_discovery.h"

#include <gtest/gtest.h>

namespace edge::l7 {
namespace {

constexpr char kConfig[] = R"(
[gw7]
listen = "127.0.0.1:0"
[dns]
refresh_min = "2s"
[[upstream]]
name = "app"
servers = ["127.0.0.1:9101", "api.internal:9102", { address = "b.internal:80", weight = 4 },
           { srv = "_http._tcp.api.internal" }]
[[route]]
name = "all"
path_prefix = "/"
upstream = "app"
)";

TEST(UpstreamDiscovery, NamedServersParsedApart) {
  auto config = ParseGatewayConfig(kConfig, "gateway.toml");
  ASSERT_TRUE(config.ok()) << config.status();
  const UpstreamConfig& u = config->upstreams[0];
  ASSERT_EQ(u.servers.size(), 1u);
  ASSERT_EQ(u.named_servers.size(), 3u);
  EXPECT_EQ(u.named_servers[1].weight, 4u);
  EXPECT_EQ(config->dns.refresh.min, absl::Seconds(2));
  EXPECT_EQ(NamedTargets(*config).size(), 3u);
}

TEST(UpstreamDiscovery, ConfigErrors) {
  auto config = ParseGatewayConfig(R"(
[gw7]
listen = "127.0.0.1:0"
[[upstream]]
name = "app"
servers = [{ srv = "_http._tcp.api.internal", weight = 2 }, "bad_name:80", "a.internal:80",
           "a.internal:80", { srv = "api.internal" }]
[[route]]
name = "all"
path_prefix = "/"
upstream = "app"
)",
                                   "gateway.toml");
  ASSERT_FALSE(config.ok());
  const std::string m(config.status().message());
  EXPECT_NE(m.find("gateway.toml:6:"), std::string::npos) << m;
  EXPECT_NE(m.find("not with srv"), std::string::npos) << m;
  EXPECT_NE(m.find("\"bad_name\" is neither an IP address nor a valid host name"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("duplicate server a.internal:80 (also servers[2])"), std::string::npos) << m;
  EXPECT_NE(m.find("expected an SRV name"), std::string::npos) << m;
}

TEST(UpstreamDiscovery, ExpandsAnswersIntoServersAndWeights) {
  auto config = ParseGatewayConfig(kConfig, "gateway.toml");
  ASSERT_TRUE(config.ok());
  auto A = [](const char* t) { return *net::SocketAddress::Parse(t); };
  dns::AnswerMap answers;
  answers["api.internal:9102"].endpoints = {{A("127.0.0.1:9101"), 1}, {A("127.0.0.2:9102"), 1}};
  answers["b.internal:80"].endpoints = {{A("127.0.0.3:80"), 1}};
  answers["srv:_http._tcp.api.internal"].endpoints = {{A("127.0.0.4:9001"), 9}};
  auto expanded = ExpandNamedServers(*config, answers);
  ASSERT_TRUE(expanded.ok()) << expanded.status();
  const UpstreamConfig& u = expanded->upstreams[0];
  ASSERT_EQ(u.servers.size(), 4u);  // 127.0.0.1:9101 is listed already
  EXPECT_EQ(u.servers[1].ToString(), "127.0.0.2:9102");
  EXPECT_EQ(u.weights[2], 4u);  // the entry's weight for a host name
  EXPECT_EQ(u.weights[3], 9u);  // the record's for SRV
  answers.erase("b.internal:80");
  EXPECT_FALSE(ExpandNamedServers(*config, answers).ok());
}

}  // namespace
}  // namespace edge::l7
