#include "common/net/address.h"

#include <gtest/gtest.h>

namespace edge::net {
namespace {

TEST(SocketAddress, ParsesIpv4AndIpv6) {
  auto v4 = SocketAddress::Parse("127.0.0.2:8080");
  ASSERT_TRUE(v4.ok());
  EXPECT_TRUE(v4->is_v4());
  EXPECT_EQ(v4->port(), 8080);
  EXPECT_EQ(v4->ToString(), "127.0.0.2:8080");
  EXPECT_EQ(v4->IpBytes().size(), 4u);

  auto v6 = SocketAddress::Parse("[::1]:443");
  ASSERT_TRUE(v6.ok());
  EXPECT_FALSE(v6->is_v4());
  EXPECT_EQ(v6->ToString(), "[::1]:443");
  EXPECT_EQ(v6->IpBytes().size(), 16u);
}

TEST(SocketAddress, FormatsEveryV4OctetWidthAndPort) {
  for (const char* text : {"0.9.10.99:0", "100.199.200.255:65535", "255.255.255.255:1",
                           "1.2.3.4:80", "10.0.100.7:12345"}) {
    auto a = SocketAddress::Parse(text);
    ASSERT_TRUE(a.ok()) << text;
    EXPECT_EQ(a->ToString(), text);
    const std::string_view t(text);
    EXPECT_EQ(a->IpString(), t.substr(0, t.rfind(':')));
  }
  EXPECT_EQ(SocketAddress().IpString(), "unspec");
  EXPECT_EQ(SocketAddress().ToString(), "unspec");
}

TEST(SocketAddress, RefusesMalformed) {
  for (const char* bad :
       {"", "1.2.3.4", "1.2.3.4:", "1.2.3.4:65536", "1.2.3.4:-1", "::1:80", "[::1]", "[::1]80",
        "[1.2.3.4]:80", "host:80", "1.2.3.4:80x", "1.2.3.256:1", "[::1]:123456"}) {
    EXPECT_FALSE(SocketAddress::Parse(bad).ok()) << bad;
  }
}

TEST(SocketAddress, RoundTripsThroughSockaddr) {
  auto a = SocketAddress::Parse("[2001:db8::5]:9");
  ASSERT_TRUE(a.ok());
  auto b = SocketAddress::FromSockaddr(a->sockaddr_ptr(), a->length());
  EXPECT_EQ(*a, b);
  EXPECT_EQ(SocketAddress::FromBytes(a->IpBytes(), 9), *a);
}

}  // namespace
}  // namespace edge::net
