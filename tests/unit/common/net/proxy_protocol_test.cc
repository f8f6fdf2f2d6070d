#include "common/net/proxy_protocol.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace edge::net {
namespace {

using namespace std::string_literals;

constexpr std::string_view kSig("\r\n\r\n\0\r\nQUIT\n", 12);

SocketAddress Addr(std::string_view text) {
  auto parsed = SocketAddress::Parse(text);
  EXPECT_TRUE(parsed.ok()) << text;
  return parsed.ok() ? *parsed : SocketAddress();
}

std::string Be16(uint16_t v) { return {static_cast<char>(v >> 8), static_cast<char>(v & 0xFF)}; }
std::string Be32(uint32_t v) { return Be16(static_cast<uint16_t>(v >> 16)) + Be16(v & 0xFFFF); }
std::string Tlv(uint8_t type, std::string_view value) {
  return std::string(1, static_cast<char>(type)) + Be16(static_cast<uint16_t>(value.size())) +
         std::string(value);
}

// A v2 header with the given version/command, family byte, length field and body, byte by byte.
std::string V2Raw(uint8_t ver_cmd, uint8_t fam, uint16_t length, std::string_view body) {
  return std::string(kSig) + static_cast<char>(ver_cmd) + static_cast<char>(fam) + Be16(length) +
         std::string(body);
}
std::string V2(uint8_t ver_cmd, uint8_t fam, std::string_view body) {
  return V2Raw(ver_cmd, fam, static_cast<uint16_t>(body.size()), body);
}

// Bit-at-a-time CRC32C, independent of the table-driven one under test.
uint32_t SlowCrc32c(std::string_view data) {
  uint32_t crc = 0xFFFFFFFFu;
  for (char c : data) {
    crc ^= static_cast<uint8_t>(c);
    for (int i = 0; i < 8; ++i) crc = (crc >> 1) ^ ((crc & 1) ? 0x82F63B78u : 0);
  }
  return ~crc;
}

// Fills in the CRC32C value of a v2 header whose CRC TLV value (4 zero bytes) is at `offset`.
std::string WithCrc(std::string header, size_t offset) {
  std::string crc = Be32(SlowCrc32c(header));
  header.replace(offset, 4, crc);
  return header;
}

const std::string kTcp4Block = "\xC0\xA8\x00\x01"s + "\xC0\xA8\x00\x0B"s + Be16(56324) + Be16(443);
const std::string kTcp6Block = "\x20\x01\x0d\xb8"s + std::string(11, '\0') + "\x01"s +
                               std::string(15, '\0') + "\x01"s + Be16(1234) + Be16(80);

// ---- CRC32C ----

TEST(Crc32c, KnownVectors) {
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32c(std::string(32, '\0')), 0x8A9136AAu);    // RFC 3720 B.4
  EXPECT_EQ(Crc32c(std::string(32, '\xFF')), 0x62A8AB43u);  // RFC 3720 B.4
  std::string ascending;
  for (int i = 0; i < 32; ++i) ascending += static_cast<char>(i);
  EXPECT_EQ(Crc32c(ascending), 0x46DD794Eu);  // RFC 3720 B.4
  EXPECT_EQ(Crc32c(""), 0u);
  EXPECT_EQ(Crc32cExtend(Crc32c("1234"), "56789"), Crc32c("123456789"));
  EXPECT_EQ(Crc32c(ascending), SlowCrc32c(ascending));
}

// ---- v1 encoding ----

TEST(ProxyV1Encode, SpecExampleIpv4) {
  EXPECT_EQ(EncodeProxyV1(Addr("192.168.0.1:56324"), Addr("192.168.0.11:443")),
            "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n");
  EXPECT_EQ(EncodeProxyV1(Addr("0.0.0.0:0"), Addr("255.255.255.255:65535")),
            "PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n");
}

TEST(ProxyV1Encode, Ipv6UsesCanonicalText) {
  EXPECT_EQ(EncodeProxyV1(Addr("[2001:DB8:0:0::1]:1234"), Addr("[::1]:80")),
            "PROXY TCP6 2001:db8::1 ::1 1234 80\r\n");
  std::string longest = EncodeProxyV1(Addr("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"),
                                      Addr("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"));
  EXPECT_EQ(longest.size(), 104u);  // the spec's TCP6 worst case
}

TEST(ProxyV1Encode, UnknownWhenInvalidOrMixed) {
  EXPECT_EQ(EncodeProxyV1(SocketAddress(), Addr("1.2.3.4:5")), "PROXY UNKNOWN\r\n");
  EXPECT_EQ(EncodeProxyV1(Addr("1.2.3.4:5"), SocketAddress()), "PROXY UNKNOWN\r\n");
  EXPECT_EQ(EncodeProxyV1(Addr("1.2.3.4:5"), Addr("[::1]:6")), "PROXY UNKNOWN\r\n");
}

TEST(ProxyV1Encode, IntoRespectsCapacity) {
  SocketAddress src = Addr("10.0.0.1:1"), dst = Addr("10.0.0.2:2");
  std::string expected = "PROXY TCP4 10.0.0.1 10.0.0.2 1 2\r\n";
  char buf[128];
  EXPECT_EQ(EncodeProxyV1Into(buf, expected.size() - 1, src, dst), 0u);
  ASSERT_EQ(EncodeProxyV1Into(buf, expected.size(), src, dst), expected.size());
  EXPECT_EQ(std::string_view(buf, expected.size()), expected);
}

// ---- v2 encoding ----

TEST(ProxyV2Encode, Ipv4ByteExact) {
  std::string expected = V2(0x21, 0x11, kTcp4Block);
  ASSERT_EQ(expected.size(), 28u);
  EXPECT_EQ(EncodeProxyV2(Addr("192.168.0.1:56324"), Addr("192.168.0.11:443")), expected);
}

TEST(ProxyV2Encode, Ipv6ByteExact) {
  std::string expected = V2(0x21, 0x21, kTcp6Block);
  ASSERT_EQ(expected.size(), 52u);
  EXPECT_EQ(EncodeProxyV2(Addr("[2001:db8::1]:1234"), Addr("[::1]:80")), expected);
}

TEST(ProxyV2Encode, MixedFamiliesUseV4MappedV6) {
  std::string body = std::string(10, '\0') + "\xFF\xFF\x0A\x00\x00\x01"s +  // ::ffff:10.0.0.1
                     std::string(15, '\0') + "\x01"s + Be16(1000) + Be16(2000);
  EXPECT_EQ(EncodeProxyV2(Addr("10.0.0.1:1000"), Addr("[::1]:2000")), V2(0x21, 0x21, body));
  auto decoded = DecodeProxyHeader(EncodeProxyV2(Addr("10.0.0.1:1000"), Addr("[::1]:2000")));
  ASSERT_EQ(decoded.status, ProxyDecodeStatus::kComplete);
  EXPECT_EQ(decoded.header.source, Addr("[::ffff:10.0.0.1]:1000"));
}

TEST(ProxyV2Encode, LocalWhenAddressInvalid) {
  EXPECT_EQ(EncodeProxyV2(SocketAddress(), Addr("1.2.3.4:5")), V2(0x20, 0x00, ""));
  EXPECT_EQ(EncodeProxyV2(Addr("1.2.3.4:5"), SocketAddress(), {{kPp2TypeNoop, "ab"}}),
            V2(0x20, 0x00, Tlv(kPp2TypeNoop, "ab")));
}

TEST(ProxyV2Encode, TlvsByteExact) {
  std::vector<ProxyTlv> tlvs = {{kPp2TypeAlpn, "h2"}, {kPp2TypeAuthority, "api.example.com"}};
  EXPECT_EQ(EncodeProxyV2(Addr("192.168.0.1:56324"), Addr("192.168.0.11:443"), tlvs),
            V2(0x21, 0x11, kTcp4Block + Tlv(0x01, "h2") + Tlv(0x02, "api.example.com")));
}

TEST(ProxyV2Encode, Crc32cIsComputedOverTheWholeHeader) {
  std::vector<ProxyTlv> tlvs = {{kPp2TypeAlpn, "h2"}, {kPp2TypeCrc32c, "ignored"}};
  std::string body = kTcp4Block + Tlv(0x01, "h2") + Tlv(0x03, std::string(4, '\0'));
  std::string expected = WithCrc(V2(0x21, 0x11, body), 16 + 12 + 5 + 3);
  EXPECT_EQ(EncodeProxyV2(Addr("192.168.0.1:56324"), Addr("192.168.0.11:443"), tlvs), expected);
}

TEST(ProxyV2Encode, IntoMatchesSizeAndCapacity) {
  SocketAddress src = Addr("[::2]:1"), dst = Addr("[::3]:2");
  ProxyTlvView tlvs[] = {{kPp2TypeAuthority, "example.com"}, {kPp2TypeCrc32c, {}}};
  size_t size = ProxyV2EncodedSize(src, dst, tlvs);
  EXPECT_EQ(size, 16u + 36 + 3 + 11 + 3 + 4);
  char buf[256];
  EXPECT_EQ(EncodeProxyV2Into(buf, size - 1, src, dst, tlvs), 0u);
  ASSERT_EQ(EncodeProxyV2Into(buf, size, src, dst, tlvs), size);
  std::vector<ProxyTlv> owned = {{kPp2TypeAuthority, "example.com"}, {kPp2TypeCrc32c, ""}};
  EXPECT_EQ(std::string_view(buf, size), EncodeProxyV2(src, dst, owned));
  EXPECT_EQ(ProxyV2EncodedSize(src, dst), 52u);
}

TEST(ProxyV2Encode, RefusesOversizedOrDoubleCrc) {
  SocketAddress src = Addr("1.1.1.1:1"), dst = Addr("2.2.2.2:2");
  std::string big(kMaxProxyV2HeaderSize, 'x');
  EXPECT_EQ(EncodeProxyV2(src, dst, {{0xE0, big}}), "");
  EXPECT_EQ(ProxyV2EncodedSize(src, dst, std::vector<ProxyTlvView>{{0xE0, big}}), 0u);
  // The largest value that still fits: 16 + 12 + 3 + value == kMaxProxyV2HeaderSize.
  std::string fits(kMaxProxyV2HeaderSize - 31, 'x');
  std::string encoded = EncodeProxyV2(src, dst, {{0xE0, fits}});
  EXPECT_EQ(encoded.size(), kMaxProxyV2HeaderSize);
  EXPECT_EQ(DecodeProxyHeader(encoded).status, ProxyDecodeStatus::kComplete);
  EXPECT_EQ(EncodeProxyV2(src, dst, {{0xE0, fits + "x"}}), "");
  EXPECT_EQ(EncodeProxyV2(src, dst, {{kPp2TypeCrc32c, ""}, {kPp2TypeCrc32c, ""}}), "");
}

// ---- SSL TLV ----

TEST(ProxySslTlv, BuildsByteExactAndParsesBack) {
  ProxyTlvView subs[] = {{kPp2SubtypeSslVersion, "TLSv1.3"},
                         {kPp2SubtypeSslCipher, "TLS_AES_128_GCM_SHA256"}};
  ProxyTlv tlv = MakeProxySslTlv(kPp2ClientSsl | kPp2ClientCertConn, 0x01020304, subs);
  EXPECT_EQ(tlv.type, kPp2TypeSsl);
  EXPECT_EQ(tlv.value,
            "\x03\x01\x02\x03\x04"s + Tlv(0x21, "TLSv1.3") + Tlv(0x23, "TLS_AES_128_GCM_SHA256"));
  EXPECT_EQ(ProxySslTlvValueSize(subs), tlv.value.size());

  auto info = ParseProxySslTlv(tlv.value);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->client, kPp2ClientSsl | kPp2ClientCertConn);
  EXPECT_EQ(info->verify, 0x01020304u);
  ASSERT_EQ(info->sub_tlvs.size(), 2u);
  ASSERT_NE(info->Find(kPp2SubtypeSslVersion), nullptr);
  EXPECT_EQ(info->Find(kPp2SubtypeSslVersion)->value, "TLSv1.3");
  EXPECT_EQ(info->Find(kPp2SubtypeSslCn), nullptr);

  char small[8];
  EXPECT_EQ(EncodeProxySslTlvValueInto(small, sizeof(small), kPp2ClientSsl, 0, subs), 0u);
  EXPECT_EQ(MakeProxySslTlv(0, 0, {}).value, std::string(5, '\0'));
}

TEST(ProxySslTlv, RefusesMalformed) {
  EXPECT_FALSE(ParseProxySslTlv("").ok());
  EXPECT_FALSE(ParseProxySslTlv("\x01\x00\x00\x00"s).ok());
  EXPECT_FALSE(ParseProxySslTlv("\x01\x00\x00\x00\x00\x21\x00"s).ok());         // short header
  EXPECT_FALSE(ParseProxySslTlv("\x01\x00\x00\x00\x00\x21\x00\x05TLS"s).ok());  // overrun
  EXPECT_TRUE(ParseProxySslTlv("\x01\x00\x00\x00\x00\x21\x00\x03TLS"s).ok());
}

// ---- Decoding: valid headers ----

TEST(ProxyDecode, V1Ipv4WithPayload) {
  std::string wire = "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\n\r\n";
  auto r = DecodeProxyHeader(wire);
  ASSERT_EQ(r.status, ProxyDecodeStatus::kComplete) << r.error;
  EXPECT_EQ(r.consumed, 47u);
  EXPECT_EQ(r.header.version, 1);
  EXPECT_FALSE(r.header.is_local);
  EXPECT_EQ(r.header.family, ProxyFamily::kInet);
  EXPECT_EQ(r.header.transport, ProxyTransport::kStream);
  EXPECT_EQ(r.header.source, Addr("192.168.0.1:56324"));
  EXPECT_EQ(r.header.destination, Addr("192.168.0.11:443"));
  EXPECT_TRUE(r.header.has_addresses());
  EXPECT_TRUE(r.header.tlvs.empty());
}

TEST(ProxyDecode, V1Ipv6Forms) {
  auto r = DecodeProxyHeader("PROXY TCP6 2001:DB8:0000::0001 ::ffff:1.2.3.4 0 65535\r\n");
  ASSERT_EQ(r.status, ProxyDecodeStatus::kComplete) << r.error;
  EXPECT_EQ(r.header.family, ProxyFamily::kInet6);
  EXPECT_EQ(r.header.source, Addr("[2001:db8::1]:0"));
  EXPECT_EQ(r.header.destination, Addr("[::ffff:1.2.3.4]:65535"));
}

TEST(ProxyDecode, V1Unknown) {
  for (std::string wire :
       {"PROXY UNKNOWN\r\n"s, "PROXY UNKNOWN \r\n"s,
        "PROXY UNKNOWN ffff::1 ffff::2 65535 65535\r\n"s, "PROXY UNKNOWN whatever: ignored\r\n"s}) {
    auto r = DecodeProxyHeader(wire + "payload");
    ASSERT_EQ(r.status, ProxyDecodeStatus::kComplete) << wire << ": " << r.error;
    EXPECT_EQ(r.consumed, wire.size());
    EXPECT_EQ(r.header.version, 1);
    EXPECT_EQ(r.header.family, ProxyFamily::kUnspec);
    EXPECT_FALSE(r.header.has_addresses());
    EXPECT_FALSE(r.header.is_local);
  }
  // The spec's worst case is exactly 107 bytes.
  std::string v6 = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
  std::string longest = "PROXY UNKNOWN " + v6 + " " + v6 + " 65535 65535\r\n";
  ASSERT_EQ(longest.size(), 107u);
  EXPECT_EQ(DecodeProxyHeader(longest).status, ProxyDecodeStatus::kComplete);
}

TEST(ProxyDecode, V2Ipv4WithTlvs) {
  std::string ssl = MakeProxySslTlv(kPp2ClientSsl, 0, {{{kPp2SubtypeSslVersion, "TLSv1.2"}}}).value;
  std::string wire = V2(0x21, 0x11,
                        kTcp4Block + Tlv(0x01, "h2") + Tlv(0x04, "") + Tlv(0x20, ssl) +
                            Tlv(0xE5, std::string("\0\x01\x02", 3))) +
                     "payload";
  auto r = DecodeProxyHeader(wire);
  ASSERT_EQ(r.status, ProxyDecodeStatus::kComplete) << r.error;
  EXPECT_EQ(r.consumed, wire.size() - 7);
  EXPECT_EQ(r.header.version, 2);
  EXPECT_EQ(r.header.source, Addr("192.168.0.1:56324"));
  EXPECT_EQ(r.header.destination, Addr("192.168.0.11:443"));
  ASSERT_EQ(r.header.tlvs.size(), 4u);
  EXPECT_EQ(r.header.tlvs[0], (ProxyTlv{kPp2TypeAlpn, "h2"}));
  EXPECT_EQ(r.header.tlvs[1], (ProxyTlv{kPp2TypeNoop, ""}));
  ASSERT_NE(r.header.FindTlv(kPp2TypeSsl), nullptr);
  auto info = ParseProxySslTlv(r.header.FindTlv(kPp2TypeSsl)->value);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->Find(kPp2SubtypeSslVersion)->value, "TLSv1.2");
  EXPECT_EQ(r.header.FindTlv(0xE5)->value, std::string("\0\x01\x02", 3));
  EXPECT_EQ(r.header.FindTlv(kPp2TypeAuthority), nullptr);
}

TEST(ProxyDecode, V2LocalIgnoresAddresses) {
  for (std::string wire :
       {V2(0x20, 0x00, ""), V2(0x20, 0x11, kTcp4Block), V2(0x20, 0x00, Tlv(kPp2TypeNoop, "x"))}) {
    auto r = DecodeProxyHeader(wire);
    ASSERT_EQ(r.status, ProxyDecodeStatus::kComplete) << r.error;
    EXPECT_EQ(r.consumed, wire.size());
    EXPECT_TRUE(r.header.is_local);
    EXPECT_FALSE(r.header.has_addresses());
  }
}

TEST(ProxyDecode, V2UnspecUnixAndDgramCarryNoUsableAddress) {
  auto unspec = DecodeProxyHeader(V2(0x21, 0x00, Tlv(kPp2TypeAuthority, "a")));
  ASSERT_EQ(unspec.status, ProxyDecodeStatus::kComplete) << unspec.error;
  EXPECT_FALSE(unspec.header.is_local);
  EXPECT_FALSE(unspec.header.has_addresses());
  EXPECT_EQ(unspec.header.tlvs.size(), 1u);

  auto unix_stream = DecodeProxyHeader(V2(0x21, 0x31, std::string(216, 'u')));
  ASSERT_EQ(unix_stream.status, ProxyDecodeStatus::kComplete) << unix_stream.error;
  EXPECT_EQ(unix_stream.header.family, ProxyFamily::kUnix);
  EXPECT_EQ(unix_stream.header.transport, ProxyTransport::kStream);
  EXPECT_FALSE(unix_stream.header.has_addresses());

  auto udp6 = DecodeProxyHeader(V2(0x21, 0x22, kTcp6Block));
  ASSERT_EQ(udp6.status, ProxyDecodeStatus::kComplete) << udp6.error;
  EXPECT_EQ(udp6.header.transport, ProxyTransport::kDgram);
  EXPECT_EQ(udp6.header.source, Addr("[2001:db8::1]:1234"));
}

TEST(ProxyDecode, V2ValidCrc) {
  std::string body = kTcp4Block + Tlv(0x03, std::string(4, '\0')) + Tlv(0x02, "host");
  std::string wire = WithCrc(V2(0x21, 0x11, body), 16 + 12 + 3);
  auto r = DecodeProxyHeader(wire);
  ASSERT_EQ(r.status, ProxyDecodeStatus::kComplete) << r.error;
  EXPECT_EQ(r.header.tlvs.size(), 2u);
}

// ---- Round trips ----

TEST(ProxyRoundTrip, V1) {
  for (auto [src, dst] : std::vector<std::pair<std::string, std::string>>{
           {"1.2.3.4:5", "6.7.8.9:10"},
           {"0.0.0.0:0", "255.255.255.255:65535"},
           {"[2001:db8::1]:443", "[fe80::1:2:3:4]:8443"},
           {"[::]:0", "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"},
           {"[::ffff:1.2.3.4]:1", "[::1]:2"}}) {
    std::string wire = EncodeProxyV1(Addr(src), Addr(dst));
    auto r = DecodeProxyHeader(wire);
    ASSERT_EQ(r.status, ProxyDecodeStatus::kComplete) << wire << ": " << r.error;
    EXPECT_EQ(r.consumed, wire.size());
    EXPECT_EQ(r.header.source, Addr(src)) << wire;
    EXPECT_EQ(r.header.destination, Addr(dst)) << wire;
  }
}

TEST(ProxyRoundTrip, V2) {
  std::vector<ProxyTlv> tlvs = {
      {kPp2TypeAlpn, "http/1.1"},
      {kPp2TypeAuthority, "api.example.com"},
      {kPp2TypeUniqueId, std::string(128, '\x7F')},
      MakeProxySslTlv(kPp2ClientSsl, 0, {{{kPp2SubtypeSslVersion, "TLSv1.3"}}}),
      {kPp2TypeNetns, "blue"},
      {kPp2TypeCrc32c, std::string(4, '\0')},
      {0xEE, std::string("\0\0\0", 3)},
  };
  for (auto [src, dst] : std::vector<std::pair<std::string, std::string>>{
           {"1.2.3.4:5", "6.7.8.9:10"}, {"[2001:db8::1]:443", "[fe80::1:2:3:4]:8443"}}) {
    for (size_t n = 0; n <= tlvs.size(); ++n) {
      std::vector<ProxyTlv> some(tlvs.begin(), tlvs.begin() + n);
      std::string wire = EncodeProxyV2(Addr(src), Addr(dst), some);
      auto r = DecodeProxyHeader(wire);
      ASSERT_EQ(r.status, ProxyDecodeStatus::kComplete) << r.error;
      EXPECT_EQ(r.consumed, wire.size());
      EXPECT_EQ(r.header.source, Addr(src));
      EXPECT_EQ(r.header.destination, Addr(dst));
      ASSERT_EQ(r.header.tlvs.size(), n);
      for (size_t i = 0; i < n; ++i) {
        EXPECT_EQ(r.header.tlvs[i].type, some[i].type);
        if (some[i].type != kPp2TypeCrc32c) {
          EXPECT_EQ(r.header.tlvs[i].value, some[i].value);
        }
      }
      // Re-encoding what was decoded gives the same bytes, checksum included.
      EXPECT_EQ(EncodeProxyV2(r.header.source, r.header.destination, r.header.tlvs), wire);
    }
  }
}

// ---- Incremental decoding ----

std::vector<std::string> ValidHeaders() {
  return {
      "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n",
      "PROXY TCP6 2001:db8::1 ::1 1234 80\r\n",
      "PROXY UNKNOWN\r\n",
      "PROXY UNKNOWN ffff::1 ffff::2 65535 65535\r\n",
      EncodeProxyV2(Addr("192.168.0.1:56324"), Addr("192.168.0.11:443")),
      EncodeProxyV2(Addr("[2001:db8::1]:1234"), Addr("[::1]:80")),
      EncodeProxyV2(SocketAddress(), SocketAddress()),
      EncodeProxyV2(Addr("1.2.3.4:5"), Addr("6.7.8.9:10"),
                    {{kPp2TypeAlpn, "h2"}, {kPp2TypeCrc32c, ""}, {kPp2TypeAuthority, "x.y"}}),
      V2(0x21, 0x31, std::string(216, 'u')),
  };
}

TEST(ProxyIncremental, EveryPrefixNeedsMoreThenCompletes) {
  for (const std::string& header : ValidHeaders()) {
    std::string wire = header + "\x16\x03\x01 payload";
    for (size_t n = 0; n < header.size(); ++n) {
      auto r = DecodeProxyHeader(std::string_view(wire).substr(0, n));
      ASSERT_EQ(r.status, ProxyDecodeStatus::kNeedMore)
          << "prefix " << n << " of " << header.size() << ": " << r.error;
      EXPECT_EQ(r.consumed, 0u);
    }
    for (size_t n = header.size(); n <= wire.size(); ++n) {
      auto r = DecodeProxyHeader(std::string_view(wire).substr(0, n));
      ASSERT_EQ(r.status, ProxyDecodeStatus::kComplete) << n << ": " << r.error;
      EXPECT_EQ(r.consumed, header.size());
    }
  }
}

// ---- Hostile inputs ----

struct Hostile {
  std::string name;
  std::string input;
  ProxyDecodeStatus want;
  std::string error_contains = "";
};

std::vector<Hostile> HostileInputs() {
  using S = ProxyDecodeStatus;
  const std::string v1_ok_tail = " 1.2.3.4 5.6.7.8 1 2\r\n";
  std::string crc_body = kTcp4Block + Tlv(0x03, std::string(4, '\0'));
  std::string good_crc = WithCrc(V2(0x21, 0x11, crc_body), 31);
  std::string bad_crc = good_crc;
  bad_crc[bad_crc.size() - 1] ^= 1;
  std::string flipped_payload = good_crc;
  flipped_payload[20] ^= 0x40;  // an address byte changed after the checksum was taken
  std::string bad_sig = V2(0x21, 0x11, kTcp4Block);
  bad_sig[7] = 'q';
  std::string v6 = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
  return {
      // Not a PROXY header at all.
      {"http request", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", S::kNotProxy},
      {"tls client hello", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"s, S::kNotProxy},
      {"leading space", " PROXY TCP4" + v1_ok_tail, S::kNotProxy},
      {"leading junk", "XPROXY TCP4" + v1_ok_tail, S::kNotProxy},
      {"leading CRLF before v1", "\r\nPROXY TCP4" + v1_ok_tail, S::kNotProxy},
      {"misspelt signature", "PROXZ TCP4" + v1_ok_tail, S::kNotProxy},
      {"lowercase signature", "proxy TCP4" + v1_ok_tail, S::kNotProxy},
      {"NUL bytes", std::string(20, '\0'), S::kNotProxy},
      {"v2 bad signature", bad_sig, S::kNotProxy},
      {"v2 signature cut by junk", "\r\n\r\nGET / HTTP/1.1\r\n", S::kNotProxy},
      // v1.
      {"no space after PROXY", "PROXYTCP4" + v1_ok_tail, S::kInvalid, "space after PROXY"},
      {"PROXY alone", "PROXY\r\n", S::kInvalid},
      {"PROXY space alone", "PROXY \r\n", S::kInvalid},
      {"double space after PROXY", "PROXY  TCP4" + v1_ok_tail, S::kInvalid, "empty field"},
      {"double space between addresses", "PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", S::kInvalid},
      {"trailing space", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", S::kInvalid},
      {"tab separator", "PROXY TCP4\t1.2.3.4 5.6.7.8 1 2\r\n", S::kInvalid, "non-printable"},
      {"LF only", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", S::kInvalid, "LF without CR"},
      {"CR then junk", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX\n", S::kInvalid, "CR not followed"},
      {"CR CR LF", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n", S::kInvalid},
      {"NUL inside line", "PROXY TCP4 1.2.3.4\0 5.6.7.8 1 2\r\n"s, S::kInvalid, "non-printable"},
      {"high byte inside line", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\xC3\xA9\r\n", S::kInvalid},
      {"port 65536", "PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n", S::kInvalid, "destination port"},
      {"port 99999", "PROXY TCP4 1.2.3.4 5.6.7.8 99999 2\r\n", S::kInvalid, "source port"},
      {"port six digits", "PROXY TCP4 1.2.3.4 5.6.7.8 123456 2\r\n", S::kInvalid},
      {"port leading zero", "PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n", S::kInvalid},
      {"port sign", "PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n", S::kInvalid},
      {"port negative", "PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n", S::kInvalid},
      {"port hex", "PROXY TCP4 1.2.3.4 5.6.7.8 0x50 2\r\n", S::kInvalid},
      {"octet leading zero", "PROXY TCP4 1.2.3.04 5.6.7.8 1 2\r\n", S::kInvalid, "source address"},
      {"octet 256", "PROXY TCP4 1.2.3.4 5.6.7.256 1 2\r\n", S::kInvalid, "destination address"},
      {"three octets", "PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n", S::kInvalid},
      {"five octets", "PROXY TCP4 1.2.3.4.5 5.6.7.8 1 2\r\n", S::kInvalid},
      {"empty octet", "PROXY TCP4 1..3.4 5.6.7.8 1 2\r\n", S::kInvalid},
      {"host name", "PROXY TCP4 localhost 5.6.7.8 1 2\r\n", S::kInvalid},
      {"TCP4 with IPv6", "PROXY TCP4 ::1 ::1 1 2\r\n", S::kInvalid, "TCP4 source"},
      {"TCP6 with IPv4", "PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n", S::kInvalid, "TCP6 source"},
      {"TCP6 mixed", "PROXY TCP6 ::1 5.6.7.8 1 2\r\n", S::kInvalid, "TCP6 destination"},
      {"IPv6 scope id", "PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n", S::kInvalid},
      {"IPv6 nine groups", "PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2\r\n", S::kInvalid},
      {"IPv6 two double colons", "PROXY TCP6 1::2::3 ::1 1 2\r\n", S::kInvalid},
      {"IPv6 in brackets", "PROXY TCP6 [::1] ::1 1 2\r\n", S::kInvalid},
      {"too few fields", "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", S::kInvalid, "too few"},
      {"too many fields", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", S::kInvalid, "too many"},
      {"UDP4", "PROXY UDP4" + v1_ok_tail, S::kInvalid, "unknown protocol"},
      {"lowercase tcp4", "PROXY tcp4" + v1_ok_tail, S::kInvalid, "unknown protocol"},
      {"UNKNOWN glued", "PROXY UNKNOWNX\r\n", S::kInvalid, "unknown protocol"},
      {"no CRLF in 107 bytes", "PROXY UNKNOWN " + std::string(100, 'x'), S::kInvalid, "107"},
      {"108-byte line", "PROXY UNKNOWN " + v6 + " " + v6 + " 65535 655350\r\n", S::kInvalid, "107"},
      // v2.
      {"v2 version 1", V2(0x11, 0x11, kTcp4Block), S::kInvalid, "version"},
      {"v2 version 3", V2(0x31, 0x11, kTcp4Block), S::kInvalid, "version"},
      {"v2 version 0", V2(0x01, 0x11, kTcp4Block), S::kInvalid, "version"},
      {"v2 command 2", V2(0x22, 0x11, kTcp4Block), S::kInvalid, "command"},
      {"v2 command 15", V2(0x2F, 0x11, kTcp4Block), S::kInvalid, "command"},
      {"v2 family 4", V2(0x21, 0x41, kTcp4Block), S::kInvalid, "family"},
      {"v2 transport 3", V2(0x21, 0x13, kTcp4Block), S::kInvalid, "family"},
      {"v2 inet unspec transport", V2(0x21, 0x10, kTcp4Block), S::kInvalid, "family"},
      {"v2 unspec family stream", V2(0x21, 0x01, ""), S::kInvalid, "family"},
      {"v2 local bad family", V2(0x20, 0xFF, ""), S::kInvalid, "family"},
      {"v2 TCP4 length 11", V2(0x21, 0x11, kTcp4Block.substr(0, 11)), S::kInvalid, "shorter"},
      {"v2 TCP6 length 35", V2(0x21, 0x21, kTcp6Block.substr(0, 35)), S::kInvalid, "shorter"},
      {"v2 TCP6 with IPv4 block", V2(0x21, 0x21, kTcp4Block), S::kInvalid, "shorter"},
      {"v2 UNIX length 215", V2(0x21, 0x31, std::string(215, 'u')), S::kInvalid, "shorter"},
      {"v2 LOCAL TCP4 length 0", V2(0x20, 0x11, ""), S::kInvalid, "shorter"},
      {"v2 length 65535", V2Raw(0x21, 0x11, 0xFFFF, kTcp4Block), S::kInvalid, "16 KiB"},
      {"v2 just over 16 KiB", V2Raw(0x21, 0x11, kMaxProxyV2HeaderSize - 15, ""), S::kInvalid,
       "16 KiB"},
      {"v2 TLV header cut", V2(0x21, 0x11, kTcp4Block + "\x01\x00"s), S::kInvalid, "truncated"},
      {"v2 TLV one stray byte", V2(0x21, 0x00, "\x04"s), S::kInvalid, "truncated"},
      {"v2 TLV overrun", V2(0x21, 0x11, kTcp4Block + "\x01\x00\x03h2"s), S::kInvalid, "overruns"},
      {"v2 TLV length 65535", V2(0x21, 0x11, kTcp4Block + "\x01\xFF\xFFh2"s), S::kInvalid,
       "overruns"},
      {"v2 bad CRC", bad_crc, S::kInvalid, "CRC32C mismatch"},
      {"v2 payload changed under CRC", flipped_payload, S::kInvalid, "CRC32C mismatch"},
      {"v2 CRC TLV 3 bytes", V2(0x21, 0x11, kTcp4Block + Tlv(0x03, "abc")), S::kInvalid, "4 bytes"},
      {"v2 two CRC TLVs", V2(0x21, 0x11, crc_body + Tlv(0x03, std::string(4, '\0'))), S::kInvalid,
       "more than one"},
      {"v2 UNIQUE_ID 129 bytes", V2(0x21, 0x11, kTcp4Block + Tlv(0x05, std::string(129, 'i'))),
       S::kInvalid, "UNIQUE_ID"},
      {"v2 SSL TLV 4 bytes", V2(0x21, 0x11, kTcp4Block + Tlv(0x20, "\x01\x00\x00\x00"s)),
       S::kInvalid, "SSL"},
      {"v2 SSL sub-TLV overrun",
       V2(0x21, 0x11, kTcp4Block + Tlv(0x20, "\x01\x00\x00\x00\x00\x21\x00\x09TLSv1.3"s)),
       S::kInvalid, "SSL sub-TLV"},
      // Valid prefixes: wait for more.
      {"v2 truncated block", V2(0x21, 0x11, kTcp4Block).substr(0, 20), S::kNeedMore},
      {"v2 signature only", std::string(kSig), S::kNeedMore},
      {"v1 no CRLF yet", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2", S::kNeedMore},
      {"v1 CR without LF yet", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r", S::kNeedMore},
      {"empty", "", S::kNeedMore},
  };
}

TEST(ProxyDecode, HostileInputs) {
  std::vector<Hostile> cases = HostileInputs();
  ASSERT_GE(cases.size(), 30u);
  for (const Hostile& c : cases) {
    auto r = DecodeProxyHeader(c.input);
    EXPECT_EQ(r.status, c.want) << c.name << ": got " << ProxyDecodeStatusName(r.status) << " ("
                                << r.error << ")";
    EXPECT_EQ(r.consumed, 0u) << c.name;
    if (c.want == ProxyDecodeStatus::kInvalid || c.want == ProxyDecodeStatus::kNotProxy) {
      EXPECT_FALSE(r.error.empty()) << c.name;
    }
    EXPECT_NE(r.error.find(c.error_contains), std::string_view::npos)
        << c.name << ": error \"" << r.error << "\" lacks \"" << c.error_contains << "\"";
  }
}

// A verdict other than kNeedMore on a prefix is the verdict on the whole input.
TEST(ProxyDecode, VerdictOnPrefixIsFinal) {
  std::vector<std::string> inputs = ValidHeaders();
  for (const Hostile& c : HostileInputs()) inputs.push_back(c.input);
  for (const std::string& input : inputs) {
    auto whole = DecodeProxyHeader(input);
    for (size_t n = 0; n <= input.size(); ++n) {
      auto part = DecodeProxyHeader(std::string_view(input).substr(0, n));
      if (part.status == ProxyDecodeStatus::kNeedMore) continue;
      ASSERT_EQ(part.status, whole.status) << "prefix " << n << " of " << input.size();
      ASSERT_EQ(part.consumed, whole.consumed);
      ASSERT_EQ(part.error, whole.error);
      ASSERT_EQ(part.header, whole.header);
    }
  }
}

TEST(ProxyDecode, StatusNames) {
  EXPECT_EQ(ProxyDecodeStatusName(ProxyDecodeStatus::kNeedMore), "need_more");
  EXPECT_EQ(ProxyDecodeStatusName(ProxyDecodeStatus::kNotProxy), "not_proxy");
  EXPECT_EQ(ProxyDecodeStatusName(ProxyDecodeStatus::kInvalid), "invalid");
  EXPECT_EQ(ProxyDecodeStatusName(ProxyDecodeStatus::kComplete), "complete");
}

}  // namespace
}  // namespace edge::net
