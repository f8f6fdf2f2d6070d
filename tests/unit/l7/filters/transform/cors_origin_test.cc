// Origins as CORS compares them: what parses, what matches, and the spellings an attacker would
// try to pass for an allowed origin.

#include "l7/filters/transform/cors_origin.h"

#include <gtest/gtest.h>

namespace edge::l7 {
namespace {

bool Allowed(std::string_view allowed, std::string_view request) {
  auto a = ParseOrigin(allowed, /*allow_wildcard=*/true);
  auto r = ParseOrigin(request);
  EXPECT_TRUE(a.has_value()) << allowed;
  return a && r && OriginMatches(*a, *r);
}

TEST(CorsOrigin, ParsesSchemeHostAndPortWithDefaults) {
  auto o = ParseOrigin("HTTPS://Shop.Example.COM");
  ASSERT_TRUE(o);
  EXPECT_EQ(o->scheme, "https");
  EXPECT_EQ(o->host, "shop.example.com");
  EXPECT_EQ(o->port, 443);
  EXPECT_EQ(ParseOrigin("http://a.b")->port, 80);
  EXPECT_EQ(ParseOrigin("http://a.b:8080")->port, 8080);
  EXPECT_EQ(ParseOrigin("http://[::1]:8080")->host, "[::1]");
  EXPECT_EQ(ParseOrigin("http://127.0.0.1")->host, "127.0.0.1");
}

TEST(CorsOrigin, RefusesWhatIsNotAnOrigin) {
  const std::string_view bads[] = {"",
                                   "null",
                                   "shop.example.com",
                                   "https://",
                                   "https:///",
                                   "https://shop.example.com/",
                                   "https://shop.example.com/x",
                                   "https://shop.example.com?x",
                                   "https://shop.example.com#x",
                                   "https://user@shop.example.com",
                                   "https://shop.example.com.",
                                   "https://.example.com",
                                   "https://shop..example.com",
                                   "https://-shop.example.com",
                                   "https://shop-.example.com",
                                   "https://shop.example.com:",
                                   "https://shop.example.com:0",
                                   "https://shop.example.com:65536",
                                   "https://shop.example.com:080",
                                   "https://shop.example.com:+80",
                                   "https://sh op.example.com",
                                   "https://shop.example.com\r\n",
                                   "https://*.example.com",
                                   "1https://a.b",
                                   "://a.b",
                                   "https://[::1",
                                   "https://a.b:1:2",
                                   std::string_view("https://a\0b.com", 15)};
  for (std::string_view bad : bads) {
    EXPECT_FALSE(ParseOrigin(bad).has_value()) << bad;
  }
}

TEST(CorsOrigin, ExactMatchIsSchemeHostAndPort) {
  EXPECT_TRUE(Allowed("https://shop.example.com", "https://shop.example.com"));
  EXPECT_TRUE(Allowed("https://shop.example.com", "https://SHOP.example.com"));  // RFC 6454
  EXPECT_TRUE(Allowed("https://shop.example.com", "https://shop.example.com:443"));
  EXPECT_FALSE(Allowed("https://shop.example.com", "http://shop.example.com"));
  EXPECT_FALSE(Allowed("https://shop.example.com", "https://shop.example.com:8443"));
  EXPECT_FALSE(Allowed("http://shop.example.com", "http://shop.example.com:443"));
}

TEST(CorsOrigin, SuffixAndPrefixTricksDoNotMatch) {
  const std::string_view shop = "https://shop.example.com";
  EXPECT_FALSE(Allowed(shop, "https://shop.example.com.evil.com"));
  EXPECT_FALSE(Allowed(shop, "https://evilshop.example.com"));
  EXPECT_FALSE(Allowed(shop, "https://evil-shop.example.com"));
  EXPECT_FALSE(Allowed(shop, "https://a.shop.example.com"));
  EXPECT_FALSE(Allowed(shop, "https://shop.example.co"));
  EXPECT_FALSE(Allowed(shop, "https://shop.example.comm"));
}

TEST(CorsOrigin, WildcardPatternNeedsALabelBeforeTheSuffix) {
  const std::string_view any = "https://*.example.com";
  EXPECT_TRUE(Allowed(any, "https://a.example.com"));
  EXPECT_TRUE(Allowed(any, "https://a.b.example.com"));
  EXPECT_FALSE(Allowed(any, "https://example.com"));
  EXPECT_FALSE(Allowed(any, "https://evilexample.com"));
  EXPECT_FALSE(Allowed(any, "https://a.example.com.evil.com"));
  EXPECT_FALSE(Allowed(any, "http://a.example.com"));
  EXPECT_FALSE(Allowed(any, "https://a.example.com:444"));
  EXPECT_FALSE(ParseOrigin("https://*.example.com").has_value());  // never in a request
  EXPECT_FALSE(ParseOrigin("https://*", true).has_value());
  EXPECT_FALSE(ParseOrigin("https://a.*.com", true).has_value());
}

}  // namespace
}  // namespace edge::l7
