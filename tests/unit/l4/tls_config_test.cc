// The TLS keys of lb4's config: tls_passthrough routes and mode = "tls" settings, and the runtime
// built from them (SNI route table, OpenSSL contexts).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "l4/config.h"
#include "l4/runtime.h"

namespace edge::l4 {
namespace {

using ::testing::HasSubstr;

constexpr std::string_view kPools = R"(
[[pool]]
name = "default"
backends = [{ address = "127.0.0.1:8001" }]
[[pool]]
name = "api"
backends = [{ address = "127.0.0.1:8002" }]
[[pool]]
name = "web"
backends = [{ address = "127.0.0.1:8003" }]
)";

std::string Listener(std::string_view extra) {
  return "[[listener]]\nname = \"l\"\nbind = \"127.0.0.1:8443\"\npool = \"default\"\n" +
         std::string(extra) + "\n" + std::string(kPools);
}

std::string ErrorOf(const std::string& text) {
  auto config = ParseLb4Config(text, "t.toml");
  return config.ok() ? "" : std::string(config.status().message());
}

TEST(TlsConfigTest, PassthroughRoutesParseLowercasedAndRoute) {
  auto config = ParseLb4Config(Listener(R"(mode = "tls_passthrough"
handshake_timeout = "3s"
max_client_hello = "8KiB"
routes = [{ sni = "API.example.com", pool = "api" }, { sni = "*.example.com", pool = "web" }])"),
                               "t.toml");
  ASSERT_TRUE(config.ok()) << config.status();
  const ListenerConfig& l = config->listeners[0];
  EXPECT_EQ(l.mode, ListenerMode::kTlsPassthrough);
  EXPECT_EQ(l.handshake_timeout, absl::Seconds(3));
  EXPECT_EQ(l.max_client_hello, 8192u);
  ASSERT_EQ(l.routes.size(), 2u);
  EXPECT_EQ(l.routes[0].sni, "api.example.com");
  auto runtime = BuildRuntime(*config);
  ASSERT_TRUE(runtime.ok()) << runtime.status();
  const SniRouteTable& routes = (*runtime)->listeners[0]->routes;
  auto pool_name = [&](std::string_view sni) {
    Pool* p = routes.Find(sni);
    return p == nullptr ? std::string("-") : p->config.name;
  };
  EXPECT_EQ(pool_name("api.example.com"), "api");
  EXPECT_EQ(pool_name("www.example.com"), "web");
  EXPECT_EQ(pool_name("a.b.example.com"), "-");
  EXPECT_EQ(pool_name("example.com"), "-");
  EXPECT_EQ(pool_name("other.org"), "-");
  EXPECT_EQ(pool_name(""), "-");
}

TEST(TlsConfigTest, PassthroughErrors) {
  EXPECT_THAT(ErrorOf(Listener(R"(mode = "tls_passthrough"
routes = [{ sni = "api.example.com", pool = "nope" }])")),
              HasSubstr("routes[0].pool: unknown pool \"nope\""));
  EXPECT_THAT(ErrorOf(Listener(R"(mode = "tls_passthrough"
routes = [{ sni = "bad name!", pool = "api" }])")),
              HasSubstr("must be a host name"));
  EXPECT_THAT(ErrorOf(Listener(R"(mode = "tls_passthrough"
routes = [{ sni = "a.test", pool = "api" }, { sni = "A.test", pool = "web" }])")),
              HasSubstr("duplicate route"));
  EXPECT_THAT(ErrorOf(Listener(R"(mode = "tls_passthrough"
routes = [{ sni = "*.*.test", pool = "api" }])")),
              HasSubstr("must be a host name"));
  EXPECT_THAT(ErrorOf(Listener(R"(mode = "tcp"
routes = [{ sni = "a.test", pool = "api" }])")),
              HasSubstr("only for mode = \"tls_passthrough\""));
  EXPECT_THAT(ErrorOf(Listener(R"(mode = "tls_passthrough"
max_client_hello = "1MiB")")),
              HasSubstr("max_client_hello"));
  EXPECT_THAT(ErrorOf(Listener(R"(mode = "tls_passthrough"
routes = [{ sni = "a.test", pool = "api", weight = 2 }])")),
              HasSubstr("weight"));
}

TEST(TlsConfigTest, TerminationKeys) {
  auto config = ParseLb4Config(Listener(R"(mode = "tls"
tls = { certificates = [{ cert = "a.crt", key = "a.key" }, { cert = "b.crt", key = "b.key" }], alpn = ["h2", "http/1.1"], min_version = "1.3", ciphers = "ECDHE+AESGCM", client_ca = "ca.crt", client_auth = "optional", session_tickets = false, ticket_key_rotation = "10m" })"),
                               "t.toml");
  ASSERT_TRUE(config.ok()) << config.status();
  const TlsListenerConfig& tls = config->listeners[0].tls;
  ASSERT_EQ(tls.certificates.size(), 2u);
  EXPECT_EQ(tls.certificates[1].key, "b.key");
  EXPECT_THAT(tls.alpn, ::testing::ElementsAre("h2", "http/1.1"));
  EXPECT_EQ(tls.min_version, 0x0304);
  EXPECT_EQ(tls.client_auth, TlsListenerConfig::ClientAuth::kOptional);
  EXPECT_FALSE(tls.session_tickets);
  EXPECT_EQ(tls.ticket_key_rotation, absl::Minutes(10));
  // The files do not exist: the runtime (what lb4 --check and a reload build) says which.
  auto runtime = BuildRuntime(*config);
  ASSERT_FALSE(runtime.ok());
  EXPECT_THAT(runtime.status().message(), HasSubstr("listener \"l\": tls: certificate \"a.crt\""));
}

TEST(TlsConfigTest, TerminationErrors) {
  EXPECT_THAT(ErrorOf(Listener(R"(mode = "tls")")), HasSubstr("tls"));
  EXPECT_THAT(ErrorOf(Listener(R"(mode = "tls"
tls = { certificates = [] })")),
              HasSubstr("at least one"));
  EXPECT_THAT(ErrorOf(Listener(R"(mode = "tls"
tls = { certificates = [{ cert = "a" }] })")),
              HasSubstr("key"));
  EXPECT_THAT(ErrorOf(Listener(R"(mode = "tls"
tls = { certificates = [{ cert = "a", key = "b" }], min_version = "1.1" })")),
              HasSubstr("unknown value \"1.1\" (1.2|1.3)"));
  EXPECT_THAT(ErrorOf(Listener(R"(mode = "tls"
tls = { certificates = [{ cert = "a", key = "b" }], alpn = ["h2", "h2"] })")),
              HasSubstr("duplicate protocol"));
  EXPECT_THAT(ErrorOf(Listener(R"(mode = "tls"
tls = { certificates = [{ cert = "a", key = "b" }], client_auth = "required" })")),
              HasSubstr("needs client_ca"));
  EXPECT_THAT(ErrorOf(Listener(R"(mode = "tls"
tls = { certificates = [{ cert = "a", key = "b" }], sessions = true })")),
              HasSubstr("sessions"));
  EXPECT_THAT(ErrorOf(Listener(R"(mode = "tcp"
tls = { certificates = [{ cert = "a", key = "b" }] })")),
              HasSubstr("only for mode = \"tls\""));
}

// [pool.tls]: TLS from lb4 to the backends, for mode = "tls" and "tcp" listeners.
std::string TlsPool(std::string_view tls, std::string_view mode = "tls") {
  std::string text = "[[listener]]\nname = \"l\"\nbind = \"127.0.0.1:8443\"\nmode = \"";
  text += std::string(mode) + "\"\npool = \"p\"\n";
  if (mode == "tls") text += "tls = { certificates = [{ cert = \"a\", key = \"b\" }] }\n";
  text += "[[pool]]\nname = \"p\"\nbackends = [{ address = \"127.0.0.1:9443\" }]\n[pool.tls]\n";
  return text + std::string(tls) + "\n";
}

TEST(TlsConfigTest, PoolTlsKeys) {
  auto config = ParseLb4Config(TlsPool(R"(ca_file = "ca.pem"
sni = "Origin.Example.com"
alpn = ["http/1.1"]
min_version = "1.3"
session_reuse = false)"),
                               "t.toml");
  ASSERT_TRUE(config.ok()) << config.status();
  const PoolTlsConfig& tls = config->pools[0].tls;
  EXPECT_TRUE(tls.enabled);
  EXPECT_TRUE(tls.verify);
  EXPECT_EQ(tls.ca_file, "ca.pem");
  EXPECT_EQ(tls.sni, "origin.example.com");
  EXPECT_THAT(tls.alpn, ::testing::ElementsAre("http/1.1"));
  EXPECT_EQ(tls.min_version, 0x0304);
  EXPECT_FALSE(tls.session_reuse);
  // The CA file does not exist: the runtime names it with the pool.
  auto runtime = BuildRuntime(*config);
  ASSERT_FALSE(runtime.ok());
  EXPECT_THAT(runtime.status().message(), HasSubstr("pool \"p\": tls: ca_file \"ca.pem\""));
}

TEST(TlsConfigTest, PoolTlsDefaultsAndOff) {
  auto plain = ParseLb4Config(Listener(""), "t.toml");
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_FALSE(plain->pools[0].tls.enabled);

  auto unverified = ParseLb4Config(TlsPool("verify = false"), "t.toml");
  ASSERT_TRUE(unverified.ok()) << unverified.status();
  EXPECT_TRUE(unverified->pools[0].tls.enabled);
  EXPECT_FALSE(unverified->pools[0].tls.verify);
  EXPECT_EQ(unverified->pools[0].tls.sni, "");
  EXPECT_TRUE(unverified->pools[0].tls.session_reuse);
  EXPECT_EQ(unverified->pools[0].tls.min_version, 0x0303);

  // enabled = false keeps the section (and its checks off) without TLS; any listener may use it.
  auto off = ParseLb4Config(TlsPool("enabled = false", "tcp"), "t.toml");
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_FALSE(off->pools[0].tls.enabled);
}

TEST(TlsConfigTest, PoolTlsErrorsNameFileLineColumn) {
  // No CA and verification not explicitly off: refused, pointing at the [pool.tls] table.
  EXPECT_THAT(ErrorOf(TlsPool("sni = \"a.test\"")),
              HasSubstr("t.toml:10:1: pool \"p\": tls.ca_file: required to verify"));
  EXPECT_THAT(ErrorOf(TlsPool("verify = false\nsni = \"*.test\"")),
              HasSubstr("t.toml:12:7: pool \"p\": tls.sni: must be a host name, got \"*.test\""));
  EXPECT_THAT(ErrorOf(TlsPool("verify = false\nmin_version = \"1.0\"")),
              HasSubstr("tls.min_version: unknown value \"1.0\" (1.2|1.3)"));
  EXPECT_THAT(ErrorOf(TlsPool("verify = false\nalpn = [\"h2\", \"h2\"]")),
              HasSubstr("tls.alpn: duplicate protocol \"h2\""));
  EXPECT_THAT(ErrorOf(TlsPool("verify = \"no\"")), HasSubstr("tls.verify: expected true or false"));
  EXPECT_THAT(ErrorOf(TlsPool("verify = false\ncafile = \"x\"")), HasSubstr("cafile"));
}

// A tcp listener takes [pool.tls] (plain clients, TLS to the backends, as HAProxy's
// `mode tcp` + `server ... ssl`); its runtime's pool has the client context its relays use.
TEST(TlsConfigTest, PoolTlsAcceptedByTcpListener) {
  auto config = ParseLb4Config(TlsPool("verify = false\nsni = \"origin.test\"", "tcp"), "t.toml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->listeners[0].mode, ListenerMode::kTcp);
  EXPECT_TRUE(config->pools[0].tls.enabled);
  auto runtime = BuildRuntime(*config);
  ASSERT_TRUE(runtime.ok()) << runtime.status();
  EXPECT_NE((*runtime)->listeners[0]->pool->tls, nullptr);
  // Without [pool.tls] none: the relay keeps the zero-copy path.
  auto plain = ParseLb4Config(TlsPool("enabled = false", "tcp"), "t.toml");
  ASSERT_TRUE(plain.ok()) << plain.status();
  auto plain_runtime = BuildRuntime(*plain);
  ASSERT_TRUE(plain_runtime.ok()) << plain_runtime.status();
  EXPECT_EQ((*plain_runtime)->listeners[0]->pool->tls, nullptr);
}

// A tls_passthrough listener takes [pool.tls] too, on its default pool and on routed ones: the
// client's TLS (sniffed hello included) is carried inside lb4's own session to the backend.
TEST(TlsConfigTest, PoolTlsAcceptedByPassthroughListener) {
  auto config =
      ParseLb4Config(TlsPool("verify = false\nsni = \"origin.test\"", "tls_passthrough"), "t.toml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->listeners[0].mode, ListenerMode::kTlsPassthrough);
  auto runtime = BuildRuntime(*config);
  ASSERT_TRUE(runtime.ok()) << runtime.status();
  EXPECT_NE((*runtime)->listeners[0]->pool->tls, nullptr);
}

}  // namespace
}  // namespace edge::l4
