// A route's `soap` table as the config loader reads it (what gw7 --check reports): the version,
// action, path, template (loaded, placeholders known), response paths, fault statuses, wss and
// limits, each refusal naming the file, line and key.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_format.h"
#include "l7/config/gateway_config.h"
#include "tests/unit/l7/filters/soap/soap_test_files.h"

namespace edge::l7 {
namespace {

using ::testing::HasSubstr;
using testing::WriteTestFile;

const std::string& BalanceTemplate() {
  static const std::string path = WriteTestFile(
      "get_balance.xml",
      "<tns:GetBalance xmlns:tns=\"urn:bank\"><tns:account_id>{path.id}</tns:account_id>"
      "<tns:at>{query.at}</tns:at></tns:GetBalance>\n");
  return path;
}

std::string Config(std::string_view soap) {
  return absl::StrFormat(
      "[gw7]\nlisten = \"127.0.0.1:0\"\n\n[[upstream]]\nname = \"core\"\n"
      "servers = [\"127.0.0.1:9101\"]\n\n[[route]]\nname = \"balance\"\nupstream = \"core\"\n"
      "path_template = \"/accounts/{id}/balance\"\nsoap = %s\n",
      soap);
}

std::string ErrorOf(std::string_view soap) {
  auto parsed = ParseGatewayConfig(Config(soap), "gateway.toml");
  if (parsed.ok()) return "(parsed fine)";
  return std::string(parsed.status().message());
}

std::string Soap(std::string_view extra) {
  return absl::StrFormat(
      "{ version = \"1.2\", action = \"GetBalance\", path = \"/bank\", "
      "template = \"%s\"%s }",
      BalanceTemplate(), extra);
}

TEST(SoapConfig, EverythingIsKept) {
  const std::string secret = WriteTestFile("core.secret", "s3cret\n");
  auto c = ParseGatewayConfig(
      Config(Soap(absl::StrFormat(
          ", response = { balance = \"//Balance\", currency = \"//Account/Currency\" }, "
          "faults = { \"Client.Locked\" = 423, Server = 503 }, "
          "wss = { username = \"gw7\", password_file = \"%s\" }, max_response_bytes = \"64KiB\", "
          "max_depth = 10",
          secret))),
      "gateway.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  const SoapConfig& s = *c->routes[0].soap;
  EXPECT_EQ(s.version, SoapVersion::k12);
  EXPECT_EQ(s.action, "GetBalance");
  EXPECT_EQ(s.path, "/bank");
  EXPECT_EQ(s.envelope.parts().size(), 5u);
  ASSERT_EQ(s.response.fields.size(), 2u);
  EXPECT_EQ(s.response.fields[1].key, "currency");
  EXPECT_EQ(s.response.fields[1].path, (std::vector<std::string>{"Account", "Currency"}));
  EXPECT_EQ(s.response.faults,
            (std::vector<std::pair<std::string, int>>{{"Client.Locked", 423}, {"Server", 503}}));
  ASSERT_TRUE(s.wss.has_value());
  EXPECT_EQ(s.wss->username, "gw7");
  EXPECT_EQ(s.wss->password, "s3cret");  // the trailing newline is not part of it
  EXPECT_EQ(s.response.limits.max_bytes, 64u * 1024);
  EXPECT_EQ(s.response.limits.max_depth, 10);
}

TEST(SoapConfig, DefaultsAndAbsence) {
  auto c = ParseGatewayConfig(
      Config(absl::StrFormat("{ action = \"GetBalance\", path = \"/bank\", template = \"%s\" }",
                             BalanceTemplate())),
      "gateway.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  const SoapConfig& s = *c->routes[0].soap;
  EXPECT_EQ(s.version, SoapVersion::k11);
  EXPECT_TRUE(s.response.fields.empty());
  EXPECT_FALSE(s.wss.has_value());
  EXPECT_EQ(s.response.limits.max_bytes, 1u << 20);
  EXPECT_EQ(s.response.limits.max_depth, 64);

  auto plain = ParseGatewayConfig(
      "[gw7]\nlisten = \"127.0.0.1:0\"\n[[upstream]]\nname = \"core\"\nservers = "
      "[\"127.0.0.1:1\"]\n[[route]]\nname = \"r\"\nupstream = \"core\"\n",
      "gateway.toml");
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_EQ(plain->routes[0].soap, nullptr);
}

TEST(SoapConfig, RefusalsArePositioned) {
  const std::string version = ErrorOf(
      absl::StrFormat("{ version = \"1.3\", action = \"A\", path = \"/b\", template = \"%s\" }",
                      BalanceTemplate()));
  EXPECT_THAT(version, HasSubstr("gateway.toml:12:20: route \"balance\": soap.version"));
  EXPECT_THAT(version, HasSubstr("1.1"));
  EXPECT_THAT(ErrorOf("{ path = \"/bank\", template = \"x\" }"), HasSubstr("soap.action"));
  EXPECT_THAT(ErrorOf(absl::StrFormat("{ action = \"Get\\\"Balance\", path = \"/bank\", "
                                      "template = \"%s\" }",
                                      BalanceTemplate())),
              HasSubstr("soap.action: must be a non-empty operation name"));
  EXPECT_THAT(ErrorOf(absl::StrFormat("{ action = \"A\", path = \"bank?x=1\", template = \"%s\" }",
                                      BalanceTemplate())),
              HasSubstr("soap.path: must start with '/'"));
  EXPECT_THAT(ErrorOf(Soap(", response = { balance = \"Balance\" }")),
              HasSubstr("soap.response.balance: expected an element path"));
  EXPECT_THAT(ErrorOf(Soap(", response = { balance = \"//Bal[1]\" }")),
              HasSubstr("soap.response.balance"));
  EXPECT_THAT(ErrorOf(Soap(", faults = { Client = 200 }")),
              HasSubstr("soap.faults.Client: expected an HTTP status 400..599"));
  EXPECT_THAT(ErrorOf(Soap(", faults = { \"a b\" = 400 }")), HasSubstr("not a fault code"));
  EXPECT_THAT(ErrorOf(Soap(", wss = { username = \"u\", password_file = \"/nonexistent/pw\" }")),
              HasSubstr("soap.wss.password_file: cannot read /nonexistent/pw"));
  const std::string empty = WriteTestFile("empty.secret", "\n");
  EXPECT_THAT(
      ErrorOf(Soap(absl::StrFormat(", wss = { username = \"u\", password_file = \"%s\" }", empty))),
      HasSubstr("is empty"));
  EXPECT_THAT(ErrorOf(Soap(", max_depth = 1")), HasSubstr("soap.max_depth"));
  EXPECT_THAT(ErrorOf(Soap(", retries = 1")), HasSubstr("soap.retries"));
}

TEST(SoapConfig, TemplateIsLoadedAndChecked) {
  EXPECT_THAT(ErrorOf("{ action = \"A\", path = \"/b\", template = \"/nonexistent/t.xml\" }"),
              HasSubstr("soap.template: cannot read /nonexistent/t.xml"));
  const std::string unknown = WriteTestFile("unknown.xml", "<a>{path.account}</a>");
  EXPECT_THAT(
      ErrorOf(absl::StrFormat("{ action = \"A\", path = \"/b\", template = \"%s\" }", unknown)),
      HasSubstr("{path.account}: the route's path_template captures no \"account\""));
  const std::string typed = WriteTestFile("typed.xml", "<a>{body.amount:money}</a>");
  EXPECT_THAT(
      ErrorOf(absl::StrFormat("{ action = \"A\", path = \"/b\", template = \"%s\" }", typed)),
      HasSubstr("unknown type \"money\""));
  const std::string broken = WriteTestFile("broken.xml", "<a>{body.x}</b>");
  EXPECT_THAT(
      ErrorOf(absl::StrFormat("{ action = \"A\", path = \"/b\", template = \"%s\" }", broken)),
      HasSubstr("not well-formed XML"));
}

}  // namespace
}  // namespace edge::l7
