#include "l4/connection_log.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "l4/config.h"

namespace edge::l4 {
namespace {

constexpr char kBase[] = R"(
[[listener]]
name = "web"
bind = "127.0.0.1:8080"
pool = "p"

[[pool]]
name = "p"
backends = [{ address = "127.0.0.1:8001" }]
)";

TEST(ConnectionLogTest, FormatsATlsConnection) {
  const net::SocketAddress client = *net::SocketAddress::Parse("10.0.0.7:51234");
  ConnectionRecord r;
  r.start_unix_ns = 1796230964123456789;
  r.duration_ns = 51'234'999;
  r.listener = "web";
  r.mode = "tls";
  r.client = &client;
  r.pool = "gateways";
  r.backend = "127.0.0.1:8001";
  r.bytes_from_client = 517;
  r.bytes_from_backend = 3120;
  r.close = "client closed";
  r.tls_version = "TLSv1.3";
  r.tls_cipher = "TLS_AES_128_GCM_SHA256";
  r.sni = "api.example.com";
  r.alpn = "http/1.1";
  r.tls_resumed = false;
  EXPECT_EQ(FormatConnectionRecord(r),
            R"({"time":"2026-12-02T17:02:44.123456Z","listener":"web","mode":"tls",)"
            R"("client":"10.0.0.7:51234","pool":"gateways","backend":"127.0.0.1:8001",)"
            R"("bytes_in":517,"bytes_out":3120,"duration_us":51234,"close":"client closed",)"
            R"("tls_version":"TLSv1.3","tls_cipher":"TLS_AES_128_GCM_SHA256",)"
            R"("sni":"api.example.com","alpn":"http/1.1","tls_resumed":false})");
}

TEST(ConnectionLogTest, AbsentDetailsAreNullAndAHostileSniStaysOneLine) {
  ConnectionRecord r;
  r.listener = "web";
  r.mode = "tls_passthrough";
  r.sni = "evil\"\n.example";
  const std::string line = FormatConnectionRecord(r);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_THAT(line, testing::HasSubstr(R"("client":null,"pool":null,"backend":null)"));
  EXPECT_THAT(line, testing::HasSubstr(R"("sni":"evil\"\n.example")"));
  EXPECT_THAT(line, testing::HasSubstr(R"("tls_resumed":null)"));
}

TEST(ConnectionLogTest, ConfigReadsPathAndSampleButNotRedact) {
  auto c = ParseLb4Config(
      std::string("[lb4]\naccess_log = { path = \"stdout\", sample = 0.5 }\n") + kBase,
      "edge.toml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->access_log.path, "stdout");
  EXPECT_EQ(c->access_log.sample, 0.5);
  auto off = ParseLb4Config(kBase, "edge.toml");
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->access_log.enabled());
  auto bad = ParseLb4Config(
      std::string("[lb4]\naccess_log = { path = \"x\", redact = [\"a\"] }\n") + kBase, "edge.toml");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), testing::HasSubstr("edge.toml:2:"));
  EXPECT_THAT(std::string(bad.status().message()),
              testing::HasSubstr("lb4: access_log.redact: unknown key"));
}

}  // namespace
}  // namespace edge::l4
