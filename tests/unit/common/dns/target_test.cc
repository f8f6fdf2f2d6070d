#include "common/dns/target.h"

#include <gtest/gtest.h>

namespace edge::dns {
namespace {

TEST(HostName, AcceptsRfc1123Names) {
  EXPECT_TRUE(IsHostName("api.internal"));
  EXPECT_TRUE(IsHostName("a"));
  EXPECT_TRUE(IsHostName("x-1.Example.COM"));
  EXPECT_TRUE(IsHostName("10.0.0.com"));
}

TEST(HostName, RefusesWhatIsNotAName) {
  EXPECT_FALSE(IsHostName(""));
  EXPECT_FALSE(IsHostName("api..internal"));
  EXPECT_FALSE(IsHostName("api.internal."));  // no trailing dot
  EXPECT_FALSE(IsHostName("-api.internal"));
  EXPECT_FALSE(IsHostName("api-.internal"));
  EXPECT_FALSE(IsHostName("bad_name"));
  EXPECT_FALSE(IsHostName("10.0.0.300"));  // a broken IPv4 address is not a name
  EXPECT_FALSE(IsHostName(std::string(64, 'a') + ".com"));
  EXPECT_FALSE(IsHostName(std::string(250, 'a').insert(60, ".").insert(120, ".").insert(180, ".")));
}

TEST(ParseHostTarget, NameAndPortLowercased) {
  auto t = ParseHostTarget("API.Internal:8080");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->kind, DnsTarget::Kind::kHost);
  EXPECT_EQ(t->name, "api.internal");
  EXPECT_EQ(t->port, 8080);
  EXPECT_EQ(t->ToString(), "api.internal:8080");
}

TEST(ParseHostTarget, RefusesBadPortsAndNames) {
  for (const char* bad :
       {"api.internal", "api.internal:", "api.internal:0", "api.internal:65536", "api.internal:+80",
        "api.internal:80a", "bad_name:80", ":80", "10.0.0.300:80", "api.internal:0080000"}) {
    EXPECT_FALSE(ParseHostTarget(bad).ok()) << bad;
  }
  EXPECT_EQ(ParseHostTarget("bad_name:80").status().message(),
            "\"bad_name\" is neither an IP address nor a valid host name");
}

TEST(ParseSrvTarget, ServiceProtoName) {
  auto t = ParseSrvTarget("_HTTP._tcp.api.internal");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->kind, DnsTarget::Kind::kSrv);
  EXPECT_EQ(t->name, "_http._tcp.api.internal");
  EXPECT_EQ(t->ToString(), "srv:_http._tcp.api.internal");
}

TEST(ParseSrvTarget, RefusesOtherShapes) {
  for (const char* bad :
       {"api.internal", "_http.api.internal", "_http._tcp", "_http._tcp.", "http._tcp.api.internal",
        "_._tcp.api.internal", "_http._tcp.bad_name", "_http._tcp.api.internal:80"}) {
    EXPECT_FALSE(ParseSrvTarget(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace edge::dns
