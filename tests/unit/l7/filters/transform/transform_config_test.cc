// request_headers / response_headers, cors and compress as a route reads them: values kept, and
// every refusal with the file, line and column of the offending value.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "l7/config/gateway_config.h"

namespace edge::l7 {
namespace {

using ::testing::HasSubstr;

std::string Config(std::string_view route_lines) {
  return std::string(
             "[gw7]\nlisten = \"127.0.0.1:0\"\n\n[[upstream]]\nname = \"api\"\n"
             "servers = [\"127.0.0.1:9101\"]\n\n[[route]]\nname = \"all\"\nupstream = \"api\"\n") +
         std::string(route_lines) + "\n";
}

std::string ErrorOf(std::string_view route_lines) {
  auto parsed = ParseGatewayConfig(Config(route_lines), "gateway.toml");
  if (parsed.ok()) return "(parsed fine)";
  return std::string(parsed.status().message());
}

const RouteConfig& Route(const absl::StatusOr<GatewayConfig>& c) { return c->routes[0]; }

TEST(TransformConfig, HeaderEditsAreKept) {
  auto c = ParseGatewayConfig(
      Config("request_headers = { set = { X-Env = \"prod\" }, add = { X-Tag = \"a b\" }, "
             "remove = [\"X-Debug\"] }\n"
             "response_headers = { set = { Strict-Transport-Security = \"max-age=1\" }, "
             "remove = [\"Server\"] }"),
      "gateway.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  const RouteConfig& r = Route(c);
  ASSERT_EQ(r.request_headers.set.size(), 1u);
  EXPECT_EQ(r.request_headers.set[0].second, "prod");
  EXPECT_EQ(r.request_headers.add[0].second, "a b");
  EXPECT_EQ(r.request_headers.remove, std::vector<std::string>{"X-Debug"});
  EXPECT_EQ(r.response_headers.remove, std::vector<std::string>{"Server"});
  EXPECT_FALSE(r.cors.has_value());
  EXPECT_FALSE(r.compress.has_value());
}

TEST(TransformConfig, HeaderEditRefusalsArePositioned) {
  EXPECT_THAT(ErrorOf("request_headers = { set = { Connection = \"close\" } }"),
              HasSubstr("gateway.toml:11:42: route \"all\": request_headers.set.Connection: "
                        "\"Connection\" is hop-by-hop"));
  EXPECT_THAT(ErrorOf("request_headers = { remove = [\"host\"] }"),
              HasSubstr("request_headers.remove: \"host\" routes the request"));
  EXPECT_THAT(ErrorOf("response_headers = { set = { X-A = \"a\\nb\" } }"),
              HasSubstr("no CR, LF, NUL"));
  EXPECT_THAT(ErrorOf("response_headers = { add = { X-A = \"a\\u0000b\" } }"),
              HasSubstr("no CR, LF, NUL"));
  EXPECT_THAT(ErrorOf("response_headers = { add = { X-A = \" a\" } }"),
              HasSubstr("leading or trailing blanks"));
  EXPECT_THAT(ErrorOf("response_headers = { remove = [\"Transfer-Encoding\"] }"),
              HasSubstr("hop-by-hop"));
  EXPECT_THAT(ErrorOf("response_headers = { remove = [\"X-Request-Id\"] }"),
              HasSubstr("gw7's own"));
  EXPECT_THAT(ErrorOf("response_headers = { set = { \"X(A)\" = \"v\" } }"),
              HasSubstr("not a valid header name"));
  EXPECT_THAT(ErrorOf("response_headers = { set = { X-A = \"1\" }, add = { x-a = \"2\" } }"),
              HasSubstr("named twice"));
  EXPECT_THAT(ErrorOf("response_headers = { set = { X-A = 1 } }"),
              HasSubstr("expected a string, got integer"));
  EXPECT_THAT(ErrorOf("response_headers = { replace = {} }"), HasSubstr("unknown key"));
  EXPECT_THAT(ErrorOf("response_headers = [\"Server\"]"), HasSubstr("response_headers"));
}

TEST(TransformConfig, CorsIsKept) {
  auto c = ParseGatewayConfig(
      Config("cors = { origins = [\"https://Shop.example.com\", \"https://*.example.org:8443\"], "
             "methods = [\"GET\", \"PATCH\"], headers = [\"Authorization\"], "
             "expose_headers = [\"X-Request-Id\"], credentials = true, max_age = \"10m\" }"),
      "gateway.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  const CorsConfig& cors = *Route(c).cors;
  ASSERT_EQ(cors.origins.size(), 2u);
  EXPECT_EQ(cors.origins[0].host, "shop.example.com");
  EXPECT_EQ(cors.origins[1].host, "*.example.org");
  EXPECT_EQ(cors.origins[1].port, 8443);
  EXPECT_EQ(cors.methods, (std::vector<std::string>{"GET", "PATCH"}));
  EXPECT_EQ(cors.headers, std::vector<std::string>{"authorization"});
  EXPECT_TRUE(cors.credentials);
  EXPECT_EQ(*cors.max_age, absl::Minutes(10));
  auto d = ParseGatewayConfig(Config("cors = { origins = [\"*\"] }"), "gateway.toml");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_TRUE(Route(d).cors->any_origin);
  EXPECT_EQ(Route(d).cors->methods, (std::vector<std::string>{"GET", "HEAD", "POST"}));
}

TEST(TransformConfig, CorsRefusals) {
  EXPECT_THAT(ErrorOf("cors = { origins = [\"*\"], credentials = true }"),
              HasSubstr("cors.origins: \"*\" with credentials = true is refused"));
  EXPECT_THAT(ErrorOf("cors = { origins = [\"null\"] }"), HasSubstr("\"null\" cannot be allowed"));
  EXPECT_THAT(ErrorOf("cors = { origins = [\"https://a.com/\"] }"), HasSubstr("not an origin"));
  EXPECT_THAT(ErrorOf("cors = { origins = [\"a.com\"] }"), HasSubstr("not an origin"));
  EXPECT_THAT(ErrorOf("cors = { origins = [\"*\", \"https://a.com\"] }"),
              HasSubstr("list it alone"));
  EXPECT_THAT(ErrorOf("cors = { origins = [] }"), HasSubstr("at least one"));
  EXPECT_THAT(ErrorOf("cors = { methods = [\"GET\"] }"), HasSubstr("origins"));
  EXPECT_THAT(ErrorOf("cors = { origins = [\"https://a.com\"], headers = [\"*\"], "
                      "credentials = true }"),
              HasSubstr("cors.headers"));
  EXPECT_THAT(ErrorOf("cors = { origins = [\"https://a.com\"], max_age = \"2d\" }"),
              HasSubstr("cors.max_age"));
  EXPECT_THAT(ErrorOf("cors = { origins = [\"https://a.com\"], origin = [] }"),
              HasSubstr("unknown key"));
}

TEST(TransformConfig, CompressIsKeptAndRefused) {
  auto c = ParseGatewayConfig(
      Config("compress = [\"Application/JSON\", \"text/*\"]\ncompress_min_bytes = \"2KiB\""),
      "gateway.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  const CompressionConfig& z = *Route(c).compress;
  EXPECT_EQ(z.min_bytes, 2048u);
  EXPECT_TRUE(z.Compressible("application/json; charset=utf-8"));
  EXPECT_TRUE(z.Compressible("TEXT/html"));
  EXPECT_FALSE(z.Compressible("application/jsonx"));
  EXPECT_FALSE(z.Compressible("image/png"));
  EXPECT_FALSE(z.Compressible("text"));
  EXPECT_FALSE(z.Compressible(""));
  EXPECT_THAT(ErrorOf("compress = [\"*/*\"]"), HasSubstr("compressed already"));
  EXPECT_THAT(ErrorOf("compress = [\"json\"]"), HasSubstr("not a media type"));
  EXPECT_THAT(ErrorOf("compress = [\"text/html; charset=utf-8\"]"), HasSubstr("not a media type"));
  EXPECT_THAT(ErrorOf("compress = \"text/html\""), HasSubstr("compress"));
  EXPECT_THAT(ErrorOf("compress_min_bytes = 5"), HasSubstr("needs compress"));
}

}  // namespace
}  // namespace edge::l7
