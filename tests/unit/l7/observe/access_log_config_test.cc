// [gw7.access_log] and [[route]] access_log_sample, read by l7/config/gateway_config.cc through
// common/log/access_log_config.h.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "l7/config/gateway_config.h"

namespace edge::l7 {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string Config(std::string_view gw7_extra, std::string_view route_extra = "") {
  std::string text = "[gw7]\nlisten = \"127.0.0.1:8001\"\n";
  text += gw7_extra;
  text += "\n[[upstream]]\nname = \"api\"\nservers = [\"127.0.0.1:9101\"]\n";
  text += "[[route]]\nname = \"all\"\nupstream = \"api\"\n";
  text += route_extra;
  text += "\n";
  return text;
}

std::string ErrorOf(const std::string& text) {
  auto parsed = ParseGatewayConfig(text, "gateway.toml");
  if (parsed.ok()) return "(parsed fine)";
  return std::string(parsed.status().message());
}

TEST(AccessLogConfigTest, OffByDefault) {
  auto c = ParseGatewayConfig(Config(""), "gateway.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->access_log.path, "off");
  EXPECT_FALSE(c->access_log.enabled());
  EXPECT_EQ(c->access_log.sample, 1.0);
  EXPECT_FALSE(c->routes[0].access_log_sample.has_value());
}

TEST(AccessLogConfigTest, ReadsEveryKey) {
  auto c =
      ParseGatewayConfig(Config("[gw7.access_log]\npath = \"/var/log/gw7.log\"\nsample = 0.25\n"
                                "redact = [\"api_key\", \"token\"]\nqueue = \"1MiB\"\n",
                                "access_log_sample = 0"),
                         "gateway.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->access_log.path, "/var/log/gw7.log");
  EXPECT_EQ(c->access_log.sample, 0.25);
  EXPECT_THAT(c->access_log.redact, ElementsAre("api_key", "token"));
  EXPECT_EQ(c->access_log.queue_bytes, 1u << 20);
  ASSERT_TRUE(c->routes[0].access_log_sample.has_value());
  EXPECT_EQ(*c->routes[0].access_log_sample, 0.0);
}

TEST(AccessLogConfigTest, ErrorsArePositioned) {
  EXPECT_EQ(ErrorOf(Config("[gw7.access_log]\nsample = 1.5\n")),
            "gateway.toml:4:10: gw7: access_log.sample: expected a number from 0 to 1, got 1.5");
  EXPECT_EQ(ErrorOf(Config("[gw7.access_log]\nsample = \"all\"\n")),
            "gateway.toml:4:10: gw7: access_log.sample: expected a number from 0 to 1, got a "
            "string");
  EXPECT_THAT(ErrorOf(Config("[gw7.access_log]\npath = \"\"\n")),
              HasSubstr("gateway.toml:4:8: gw7: access_log.path: must be a file path"));
  EXPECT_THAT(ErrorOf(Config("[gw7.access_log]\nredact = [\"ok\", \"a&b\"]\n")),
              HasSubstr("gateway.toml:4:17: gw7: access_log.redact[1]: not a query parameter "
                        "name: \"a&b\""));
  EXPECT_THAT(ErrorOf(Config("[gw7.access_log]\nsampel = 1\n")),
              HasSubstr("access_log.sampel: unknown key"));
  EXPECT_THAT(ErrorOf(Config("", "access_log_sample = -0.1")),
              HasSubstr("route \"all\": access_log_sample: expected a number from 0 to 1"));
}

}  // namespace
}  // namespace edge::l7
