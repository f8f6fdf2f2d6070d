// Named backends: parsing (address = "host:port", srv = ...), expansion of DNS answers into the
// pool, and what a changed answer does to Maglev: only the clients of changed backends move.
#include "l4/named_backends.h"

#include <gtest/gtest.h>

#include "l4/runtime.h"

namespace edge::l4 {
namespace {

constexpr char kConfig[] = R"(
[dns]
resolvers = ["127.0.0.1:5353"]
[[listener]]
name = "web"
bind = "127.0.0.1:0"
pool = "app"
[[pool]]
name = "app"
backends = [{ address = "10.0.0.1:80" }, { address = "api.internal:8080", weight = 3 },
            { srv = "_http._tcp.api.internal", health_port = 9000 }]
)";

net::SocketAddress A(const char* text) { return *net::SocketAddress::Parse(text); }

dns::Answer Hosts(std::vector<const char*> addresses, uint32_t weight = 1) {
  dns::Answer answer;
  for (const char* a : addresses) answer.endpoints.push_back({A(a), weight});
  answer.endpoints = dns::Normalize(std::move(answer.endpoints));
  answer.ttl_s = 5;
  return answer;
}

TEST(NamedBackends, ParsedApartFromAddresses) {
  auto config = ParseLb4Config(kConfig, "edge.toml");
  ASSERT_TRUE(config.ok()) << config.status();
  const PoolConfig& pool = config->pools[0];
  ASSERT_EQ(pool.backends.size(), 1u);
  ASSERT_EQ(pool.named_backends.size(), 2u);
  EXPECT_EQ(pool.named_backends[0].target.ToString(), "api.internal:8080");
  EXPECT_EQ(pool.named_backends[0].weight, 3u);
  EXPECT_EQ(pool.named_backends[1].target.ToString(), "srv:_http._tcp.api.internal");
  EXPECT_EQ(pool.named_backends[1].health_port, 9000);
  EXPECT_EQ(config->dns.resolvers[0].ToString(), "127.0.0.1:5353");
  auto targets = NamedTargets(*config);
  ASSERT_EQ(targets.size(), 2u);
}

TEST(NamedBackends, ConfigErrors) {
  auto config = ParseLb4Config(R"(
[[listener]]
name = "web"
bind = "127.0.0.1:0"
pool = "app"
[[pool]]
name = "app"
backends = [{ srv = "_http._tcp.a.internal", address = "a.internal:80" },
            { address = "a.internal:80" }, { address = "A.internal:80" }, { address = "10.0.0.300:80" }]
)",
                               "edge.toml");
  ASSERT_FALSE(config.ok());
  const std::string m(config.status().message());
  EXPECT_NE(m.find("edge.toml:8:"), std::string::npos) << m;
  EXPECT_NE(m.find("give either address or srv, not both"), std::string::npos) << m;
  EXPECT_NE(m.find("duplicate backend a.internal:80 (also backends[1])"), std::string::npos) << m;
  EXPECT_EQ(m.find("neither an IP address nor a valid host name"), std::string::npos) << m;
}

TEST(NamedBackends, ExpandsWithEntryOrSrvWeights) {
  auto config = ParseLb4Config(kConfig, "edge.toml");
  ASSERT_TRUE(config.ok());
  dns::AnswerMap answers;
  answers["api.internal:8080"] = Hosts({"10.0.0.2:8080", "10.0.0.3:8080"});
  dns::Answer srv;
  srv.endpoints = {{A("10.0.0.1:80"), 7}, {A("10.0.0.4:9001"), 5}};  // 10.0.0.1:80 is listed
  answers["srv:_http._tcp.api.internal"] = srv;
  auto expanded = ExpandNamedBackends(*config, answers);
  ASSERT_TRUE(expanded.ok()) << expanded.status();
  const auto& b = expanded->pools[0].backends;
  ASSERT_EQ(b.size(), 4u);
  EXPECT_EQ(b[0].address.ToString(), "10.0.0.1:80");
  EXPECT_EQ(b[0].weight, 1u);  // the listed backend wins over the same address from DNS
  EXPECT_EQ(b[1].address.ToString(), "10.0.0.2:8080");
  EXPECT_EQ(b[1].weight, 3u);
  EXPECT_EQ(b[3].address.ToString(), "10.0.0.4:9001");
  EXPECT_EQ(b[3].weight, 5u);
  EXPECT_EQ(b[3].health_port, 9000);

  answers.erase("api.internal:8080");
  auto missing = ExpandNamedBackends(*config, answers);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), "pool \"app\": api.internal:8080 has not been resolved");
}

TEST(NamedBackends, AnAddedAddressMovesOnlyTheClientsItTakes) {
  auto config = ParseLb4Config(R"(
[[listener]]
name = "web"
bind = "127.0.0.1:0"
pool = "app"
[[pool]]
name = "app"
table_size = 65537
backends = [{ address = "api.internal:80" }]
)",
                               "edge.toml");
  ASSERT_TRUE(config.ok()) << config.status();
  auto build = [&](dns::Answer answer, const ReusableBackends& reuse) {
    dns::AnswerMap answers{{"api.internal:80", std::move(answer)}};
    auto expanded = ExpandNamedBackends(*config, answers);
    EXPECT_TRUE(expanded.ok());
    auto runtime = BuildRuntime(*expanded, reuse);
    EXPECT_TRUE(runtime.ok()) << runtime.status();
    return *runtime;
  };
  auto before = build(Hosts({"10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"}), {});
  ReusableBackends reuse;
  for (const auto& b : before->pools[0]->backends) reuse.emplace_back("app", b);
  auto after = build(Hosts({"10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80", "10.0.0.4:80"}), reuse);
  // The backends that stay are the same objects (connections, health carry over).
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(before->pools[0]->backends[i], after->pools[0]->backends[i]);
  }
  // Maglev's disruption is near-minimal, not zero: a new backend takes about 1/4 of the clients,
  // and a few others (well under 1%) change between the backends that stay.
  int moved = 0, collateral = 0;
  for (int i = 0; i < 4000; ++i) {
    auto client = *net::SocketAddress::ParseIp(
        "192.168." + std::to_string(i / 250) + "." + std::to_string(i % 250), 0);
    const auto& was = before->pools[0]->backends[before->pools[0]->balancer->Pick(client, {})];
    const auto& now = after->pools[0]->backends[after->pools[0]->balancer->Pick(client, {})];
    if (was != now) ++(now->key == "10.0.0.4:80" ? moved : collateral);
  }
  EXPECT_GT(moved, 4000 / 4 - 300);
  EXPECT_LT(moved, 4000 / 4 + 300);
  EXPECT_LT(collateral, 4000 / 100);
}

}  // namespace
}  // namespace edge::l4
