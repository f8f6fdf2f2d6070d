#include "common/dns/dns_config.h"

#include <gtest/gtest.h>

#include "common/config/toml.h"

namespace edge::dns {
namespace {

absl::StatusOr<DnsConfig> Read(std::string_view text) {
  auto root = config::ParseToml(text, "t.toml");
  if (!root.ok()) return root.status();
  config::ConfigErrors errors("t.toml");
  DnsConfig out;
  ReadDnsConfig(*root->get("dns")->as_table(), errors, &out);
  if (!errors.empty()) return errors.ToStatus();
  return out;
}

TEST(DnsConfig, Defaults) {
  auto c = Read("[dns]\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->resolvers.empty());
  EXPECT_EQ(c->refresh.min, absl::Seconds(1));
  EXPECT_EQ(c->refresh.max, absl::Minutes(5));
  EXPECT_EQ(c->timeout, absl::Seconds(2));
  EXPECT_EQ(c->attempts, 2);
}

TEST(DnsConfig, AllKeys) {
  auto c = Read(
      "[dns]\nresolvers = [\"127.0.0.1:5353\", \"10.0.0.2\", \"[::1]:53\"]\n"
      "refresh_min = \"200ms\"\nrefresh_max = \"30s\"\ntimeout = \"500ms\"\nattempts = 3\n");
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->resolvers.size(), 3u);
  EXPECT_EQ(c->resolvers[0].ToString(), "127.0.0.1:5353");
  EXPECT_EQ(c->resolvers[1].ToString(), "10.0.0.2:53");
  EXPECT_EQ(c->resolvers[2].ToString(), "[::1]:53");
  EXPECT_EQ(c->refresh.min, absl::Milliseconds(200));
  EXPECT_EQ(c->refresh.max, absl::Seconds(30));
  EXPECT_EQ(c->timeout, absl::Milliseconds(500));
  EXPECT_EQ(c->attempts, 3);
}

TEST(DnsConfig, ErrorsWithPositions) {
  auto c = Read(
      "[dns]\nresolvers = [\"dns.example\", 53, \"127.0.0.1\", \"127.0.0.1:53\"]\n"
      "refresh_min = \"1m\"\nrefresh_max = \"10s\"\nattempts = 0\nretries = 1\n");
  ASSERT_FALSE(c.ok());
  const std::string m(c.status().message());
  EXPECT_NE(m.find("t.toml:2:14: dns: resolvers[0]: expected \"ip\" or \"ip:port\""),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("resolvers[1]: expected an address string"), std::string::npos) << m;
  EXPECT_NE(m.find("resolvers[3]: duplicate resolver 127.0.0.1:53"), std::string::npos) << m;
  EXPECT_NE(m.find("refresh_min (1m) must not exceed refresh_max (10s)"), std::string::npos) << m;
  EXPECT_NE(m.find("attempts"), std::string::npos) << m;
  EXPECT_NE(m.find("retries"), std::string::npos) << m;
}

}  // namespace
}  // namespace edge::dns
