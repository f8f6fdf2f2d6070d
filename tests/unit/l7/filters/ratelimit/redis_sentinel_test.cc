// Redis Sentinel support without processes: the [redis] sentinels/master config and its errors,
// and the parsers of what sentinels and servers answer (get-master-addr-by-name, ROLE,
// +switch-master messages), hostile shapes included. The failover itself, with real
// redis-server and redis-sentinel processes, is tests/integration/test_gw7_redis_sentinel.py.

#include "l7/filters/ratelimit/redis_sentinel.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/config/toml.h"
#include "l7/filters/ratelimit/rate_limit_config.h"

namespace edge::l7 {
namespace {

using ::testing::HasSubstr;

absl::StatusOr<RateLimitConfigs> Parse(const std::string& text) {
  auto doc = config::ParseToml(text, "gateway.toml");
  if (!doc.ok()) return doc.status();
  return ParseRateLimitConfigs(*doc, "gateway.toml");
}

RedisReply Str(std::string s) {
  RedisReply r;
  r.type = RedisReply::Type::kString;
  r.str = std::move(s);
  return r;
}
RedisReply Arr(std::vector<RedisReply> elements) {
  RedisReply r;
  r.type = RedisReply::Type::kArray;
  r.elements = std::move(elements);
  return r;
}

TEST(RedisSentinelConfigTest, SentinelsAndMaster) {
  auto c = Parse(
      "[redis]\nsentinels = [\"127.0.0.1:26379\", \"[::1]:26380\"]\nmaster = \"edge\"\n"
      "timeout = \"20ms\"\n");
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE(c->redis.has_value());
  ASSERT_EQ(c->redis->sentinels.size(), 2u);
  EXPECT_EQ(c->redis->sentinels[0].ToString(), "127.0.0.1:26379");
  EXPECT_EQ(c->redis->sentinels[1].ToString(), "[::1]:26380");
  EXPECT_EQ(c->redis->master, "edge");
  EXPECT_EQ(c->redis->timeout, absl::Milliseconds(20));
}

TEST(RedisSentinelConfigTest, Errors) {
  struct Case {
    std::string text;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"[redis]\naddress = \"127.0.0.1:6379\"\nsentinels = [\"127.0.0.1:26379\"]\nmaster = "
       "\"m\"\n",
       "gateway.toml:3:13: redis: sentinels: give either address (one server) or sentinels + "
       "master (Redis Sentinel), not both"},
      {"[redis]\ntimeout = \"50ms\"\n",
       "redis: address: required: the server's address, or sentinels = [...] and master"},
      {"[redis]\nsentinels = [\"127.0.0.1:26379\"]\n", "sentinels: needs master = \"NAME\""},
      {"[redis]\naddress = \"127.0.0.1:6379\"\nmaster = \"m\"\n",
       "master: only applies with sentinels"},
      {"[redis]\nsentinels = []\nmaster = \"m\"\n", "needs at least one"},
      {"[redis]\nsentinels = [\"sentinel-1:26379\"]\nmaster = \"m\"\n",
       "sentinels: \"sentinel-1:26379\""},
      {"[redis]\nsentinels = [\"127.0.0.1\"]\nmaster = \"m\"\n", "sentinels: \"127.0.0.1\""},
      {"[redis]\nsentinels = [\"127.0.0.1:1\", \"127.0.0.1:1\"]\nmaster = \"m\"\n", "listed twice"},
      {"[redis]\nsentinels = [\"127.0.0.1:1\"]\nmaster = \"my master\"\n",
       "master: must be 1-128 characters without spaces"},
      {"[redis]\nsentinels = [\"127.0.0.1:1\"]\nmaster = \"\"\n", "master: must be"},
      {"[redis]\nsentinels = \"127.0.0.1:1\"\nmaster = \"m\"\n", "sentinels"},
      {"[redis]\nsentinels = [1]\nmaster = \"m\"\n", "sentinels"},
  };
  for (const Case& c : cases) {
    auto parsed = Parse(c.text);
    ASSERT_FALSE(parsed.ok()) << c.text;
    EXPECT_THAT(std::string(parsed.status().message()), HasSubstr(c.expected)) << c.text;
  }
}

TEST(RedisSentinelParseTest, MasterAddress) {
  auto a = ParseSentinelMasterAddress(Arr({Str("10.0.0.7"), Str("6380")}));
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->ToString(), "10.0.0.7:6380");
  EXPECT_EQ(ParseSentinelMasterAddress(RedisReply{}).status().code(), absl::StatusCode::kNotFound);
  RedisReply error;
  error.type = RedisReply::Type::kError;
  error.str = "ERR unknown command";
  EXPECT_THAT(std::string(ParseSentinelMasterAddress(error).status().message()),
              HasSubstr("ERR unknown command"));
  for (const RedisReply& bad :
       {Arr({}), Arr({Str("10.0.0.7")}), Arr({Str("10.0.0.7"), Str("0")}),
        Arr({Str("10.0.0.7"), Str("65536")}), Arr({Str("10.0.0.7"), Str("63x")}),
        Arr({Str("redis.example"), Str("6379")}), Arr({Str("10.0.0.7"), Str("6379"), Str("x")}),
        Arr({Arr({}), Str("6379")}), Str("10.0.0.7:6379")}) {
    EXPECT_FALSE(ParseSentinelMasterAddress(bad).ok());
  }
}

TEST(RedisSentinelParseTest, Role) {
  RedisReply offset;
  offset.type = RedisReply::Type::kInteger;
  EXPECT_EQ(ParseRoleReply(Arr({Str("master"), offset, Arr({})})).value(), "master");
  EXPECT_EQ(ParseRoleReply(Arr({Str("slave"), Str("127.0.0.1"), offset})).value(), "slave");
  EXPECT_FALSE(ParseRoleReply(Arr({})).ok());
  EXPECT_FALSE(ParseRoleReply(Str("master")).ok());
  EXPECT_FALSE(ParseRoleReply(Arr({offset})).ok());
}

TEST(RedisSentinelParseTest, SwitchMasterMessage) {
  auto message = [](std::string text) {
    return Arr({Str("message"), Str("+switch-master"), Str(std::move(text))});
  };
  auto a = ParseSwitchMasterMessage(message("edge 127.0.0.1 6379 127.0.0.1 6380"), "edge");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->ToString(), "127.0.0.1:6380");
  // Another master's switch, the subscribe confirmation, malformed payloads.
  EXPECT_FALSE(ParseSwitchMasterMessage(message("other 127.0.0.1 6379 127.0.0.1 6380"), "edge"));
  EXPECT_FALSE(ParseSwitchMasterMessage(message("edge 127.0.0.1 6379 127.0.0.1"), "edge"));
  EXPECT_FALSE(ParseSwitchMasterMessage(message("edge 127.0.0.1 6379 127.0.0.1 99999"), "edge"));
  EXPECT_FALSE(ParseSwitchMasterMessage(message("edge a b c d"), "edge"));
  EXPECT_FALSE(ParseSwitchMasterMessage(message(""), "edge"));
  RedisReply one;
  one.type = RedisReply::Type::kInteger;
  one.integer = 1;
  EXPECT_FALSE(
      ParseSwitchMasterMessage(Arr({Str("subscribe"), Str("+switch-master"), one}), "edge"));
  EXPECT_FALSE(ParseSwitchMasterMessage(
      Arr({Str("message"), Str("+sdown"), Str("edge 127.0.0.1 6379 127.0.0.1 6380")}), "edge"));
  EXPECT_FALSE(ParseSwitchMasterMessage(Str("message"), "edge"));
}

}  // namespace
}  // namespace edge::l7
