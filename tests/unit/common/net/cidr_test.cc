#include "common/net/cidr.h"

#include <gtest/gtest.h>

#include <string>

namespace edge::net {
namespace {

SocketAddress Ip(std::string_view ip) {
  absl::StatusOr<SocketAddress> a = SocketAddress::ParseIp(ip, 1234);
  EXPECT_TRUE(a.ok()) << ip;
  return a.ok() ? *a : SocketAddress();
}

Cidr MustParse(std::string_view text) {
  absl::StatusOr<Cidr> c = Cidr::Parse(text);
  EXPECT_TRUE(c.ok()) << text << ": " << c.status();
  return c.ok() ? *c : Cidr();
}

TEST(Cidr, ParsesIpv4Networks) {
  Cidr c = MustParse("127.0.0.0/8");
  EXPECT_TRUE(c.is_v4);
  EXPECT_EQ(c.prefix_length, 8);
  EXPECT_EQ(c.ToString(), "127.0.0.0/8");
  EXPECT_TRUE(c.Contains(Ip("127.0.0.1")));
  EXPECT_TRUE(c.Contains(Ip("127.255.255.255")));
  EXPECT_FALSE(c.Contains(Ip("128.0.0.1")));
  EXPECT_FALSE(c.Contains(Ip("126.255.255.255")));
}

TEST(Cidr, BareAddressIsAHostRoute) {
  Cidr v4 = MustParse("10.1.2.3");
  EXPECT_EQ(v4.prefix_length, 32);
  EXPECT_TRUE(v4.Contains(Ip("10.1.2.3")));
  EXPECT_FALSE(v4.Contains(Ip("10.1.2.4")));
  Cidr v6 = MustParse("::1");
  EXPECT_EQ(v6.prefix_length, 128);
  EXPECT_EQ(v6.ToString(), "::1/128");
  EXPECT_TRUE(v6.Contains(Ip("::1")));
  EXPECT_FALSE(v6.Contains(Ip("::2")));
}

TEST(Cidr, PrefixLengthsNotOnByteBoundaries) {
  Cidr c = MustParse("192.168.4.0/22");
  EXPECT_TRUE(c.Contains(Ip("192.168.4.0")));
  EXPECT_TRUE(c.Contains(Ip("192.168.7.255")));
  EXPECT_FALSE(c.Contains(Ip("192.168.8.0")));
  EXPECT_FALSE(c.Contains(Ip("192.168.3.255")));
  Cidr v6 = MustParse("2001:db8:8000::/33");
  EXPECT_TRUE(v6.Contains(Ip("2001:db8:8000::1")));
  EXPECT_TRUE(v6.Contains(Ip("2001:db8:ffff::1")));
  EXPECT_FALSE(v6.Contains(Ip("2001:db8:7fff::1")));
}

TEST(Cidr, ZeroLengthMatchesItsFamilyOnly) {
  Cidr all4 = MustParse("0.0.0.0/0");
  EXPECT_TRUE(all4.Contains(Ip("1.2.3.4")));
  EXPECT_TRUE(all4.Contains(Ip("255.255.255.255")));
  EXPECT_FALSE(all4.Contains(Ip("::1")));
  Cidr all6 = MustParse("::/0");
  EXPECT_TRUE(all6.Contains(Ip("fe80::1")));
  EXPECT_FALSE(all6.Contains(Ip("1.2.3.4")));
}

TEST(Cidr, Ipv4MappedAddressesMatchIpv4Networks) {
  Cidr c = MustParse("127.0.0.0/8");
  EXPECT_TRUE(c.Contains(Ip("::ffff:127.0.0.5")));
  EXPECT_FALSE(c.Contains(Ip("::ffff:10.0.0.5")));
  // Not mapped: ::127.0.0.5 is an IPv4-compatible (deprecated) address, not IPv4.
  EXPECT_FALSE(c.Contains(Ip("::127.0.0.5")));
}

TEST(Cidr, InvalidAddressNeverMatches) {
  EXPECT_FALSE(MustParse("0.0.0.0/0").Contains(SocketAddress()));
}

TEST(Cidr, RefusesMalformedText) {
  struct Case {
    std::string_view text;
    std::string_view error;
  };
  const Case cases[] = {
      {"", "invalid CIDR \"\": empty"},
      {"10.0.0.0/33", "invalid CIDR \"10.0.0.0/33\": prefix length must be 0-32 for IPv4"},
      {"::/129", "invalid CIDR \"::/129\": prefix length must be 0-128 for IPv6"},
      {"10.0.0.0/", "invalid CIDR \"10.0.0.0/\": prefix length must be 0-32 for IPv4"},
      {"10.0.0.0/-1", "invalid CIDR \"10.0.0.0/-1\": prefix length must be 0-32 for IPv4"},
      {"10.0.0.0/08", "invalid CIDR \"10.0.0.0/08\": prefix length must be 0-32 for IPv4"},
      {"10.0.0.0/8/8", "invalid CIDR \"10.0.0.0/8/8\": prefix length must be 0-32 for IPv4"},
      {"10.0.0.0/ 8", "invalid CIDR \"10.0.0.0/ 8\": prefix length must be 0-32 for IPv4"},
      {"10.0.0/8", "invalid CIDR \"10.0.0/8\": not an IPv4 or IPv6 address"},
      {"256.0.0.0/8", "invalid CIDR \"256.0.0.0/8\": not an IPv4 or IPv6 address"},
      {"localhost", "invalid CIDR \"localhost\": not an IPv4 or IPv6 address"},
      {"[::1]/128", "invalid CIDR \"[::1]/128\": not an IPv4 or IPv6 address"},
      {"1.2.3.4:80", "invalid CIDR \"1.2.3.4:80\": not an IPv4 or IPv6 address"},
      {" 10.0.0.0/8", "invalid CIDR \" 10.0.0.0/8\": not an IPv4 or IPv6 address"},
      {"10.0.0.1/8", "invalid CIDR \"10.0.0.1/8\": host bits are set (did you mean 10.0.0.0/8?)"},
      {"fe80::1/64", "invalid CIDR \"fe80::1/64\": host bits are set (did you mean fe80::/64?)"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<Cidr> parsed = Cidr::Parse(c.text);
    ASSERT_FALSE(parsed.ok()) << c.text;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(std::string(parsed.status().message()), c.error) << c.text;
  }
  std::string nul("10.0.0.0\0/8", 11);
  EXPECT_EQ(std::string(Cidr::Parse(nul).status().message()),
            "invalid CIDR \"10.0.0.0\\x00/8\": not an IPv4 or IPv6 address");
  EXPECT_EQ(std::string(Cidr::Parse("1.2.3.4\n\"x").status().message()),
            "invalid CIDR \"1.2.3.4\\x0a\\x22x\": not an IPv4 or IPv6 address");
  EXPECT_FALSE(Cidr::Parse(std::string(1000, '1')).ok());
}

}  // namespace
}  // namespace edge::net
