#include "l4/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace edge::l4 {
namespace {

using ::testing::ElementsAre;

// The example of DESIGN.md ("Config contract"), verbatim.
constexpr std::string_view kDesignExample = R"(# conf/edge.toml — lb4
[lb4]
workers = 0                  # io_uring worker threads; 0 = one per CPU
max_connections = 100000     # beyond it new connections are refused and counted
admin = "127.0.0.1:9900"     # GET /healthz /metrics /status; omit to disable
drain_timeout = "30s"        # SIGTERM: stop accepting, let connections finish, then close

[[listener]]
name = "web"
bind = "0.0.0.0:8080"        # "[::]:8080" for IPv6
mode = "tcp"                 # tcp | tls (terminate) | tls_passthrough
pool = "gateways"            # default pool
proxy_protocol = "v2"        # header sent to the backend: off | v1 | v2
idle_timeout = "5m"
# mode = "tls":          tls = { certificates = [{ cert = "...", key = "..." }], alpn = ["h2","http/1.1"], min_version = "1.2" }
# mode = "tls_passthrough": routes = [{ sni = "api.example.com", pool = "api" }, { sni = "*.example.com", pool = "web" }]

[[pool]]
name = "gateways"
balance = "maglev"           # maglev | round_robin | least_conn | random_two
hash = "source_ip"           # maglev key: source_ip | source_ip_port
table_size = 65537           # maglev; must be prime
connect_timeout = "2s"
connect_retries = 2          # try the next backend when a connect fails
backends = [ { address = "127.0.0.1:8001", weight = 1 }, { address = "127.0.0.1:8002" } ]
[pool.health]                # applies to the pool above
check = "http"               # tcp | http | none
path = "/healthz"
interval = "1s"
timeout = "500ms"
rise = 2
fall = 3
)";

// The smallest valid config; cases below edit copies of it.
constexpr std::string_view kMinimal = R"([[listener]]
name = "web"
bind = "127.0.0.1:8080"
pool = "gateways"

[[pool]]
name = "gateways"
backends = [{ address = "127.0.0.1:8001" }]
)";

std::string ErrorOf(std::string_view text) {
  auto parsed = ParseLb4Config(text, "edge.toml");
  if (parsed.ok()) return "(parsed fine)";
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(parsed.status().message());
}

TEST(Lb4Config, ParsesTheDesignExample) {
  auto parsed = ParseLb4Config(kDesignExample, "conf/edge.toml");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const Lb4Config& c = *parsed;
  EXPECT_EQ(c.source, "conf/edge.toml");
  EXPECT_EQ(c.workers, 0);
  EXPECT_EQ(c.max_connections, 100000u);
  ASSERT_TRUE(c.admin.has_value());
  EXPECT_EQ(c.admin->ToString(), "127.0.0.1:9900");
  EXPECT_EQ(c.drain_timeout, absl::Seconds(30));

  ASSERT_EQ(c.listeners.size(), 1u);
  const ListenerConfig& l = c.listeners[0];
  EXPECT_EQ(l.name, "web");
  EXPECT_EQ(l.bind.ToString(), "0.0.0.0:8080");
  EXPECT_EQ(l.mode, ListenerMode::kTcp);
  EXPECT_EQ(l.pool, "gateways");
  EXPECT_EQ(l.proxy_protocol, ProxyProtocolMode::kV2);
  EXPECT_EQ(l.idle_timeout, absl::Minutes(5));

  ASSERT_EQ(c.pools.size(), 1u);
  const PoolConfig& p = c.pools[0];
  EXPECT_EQ(p.name, "gateways");
  EXPECT_EQ(p.balancer.kind, BalanceKind::kMaglev);
  EXPECT_EQ(p.balancer.hash, HashKey::kSourceIp);
  EXPECT_EQ(p.balancer.table_size, 65537u);
  EXPECT_EQ(p.connect_timeout, absl::Seconds(2));
  EXPECT_EQ(p.connect_retries, 2);
  ASSERT_EQ(p.backends.size(), 2u);
  EXPECT_EQ(p.backends[0].address.ToString(), "127.0.0.1:8001");
  EXPECT_EQ(p.backends[0].weight, 1u);
  EXPECT_EQ(p.backends[1].address.ToString(), "127.0.0.1:8002");
  EXPECT_EQ(p.backends[1].weight, 1u);
  EXPECT_EQ(p.health.check, HealthConfig::Check::kHttp);
  EXPECT_EQ(p.health.path, "/healthz");
  EXPECT_EQ(p.health.interval, absl::Seconds(1));
  EXPECT_EQ(p.health.timeout, absl::Milliseconds(500));
  EXPECT_EQ(p.health.rise, 2);
  EXPECT_EQ(p.health.fall, 3);
  EXPECT_EQ(p.health.passive_failures, 5);  // on by default next to active checks
  EXPECT_EQ(p.health.ejection_time, absl::Seconds(10));
  EXPECT_EQ(p.health.max_ejection_time, absl::Minutes(5));
  EXPECT_EQ(p.health.max_ejection_percent, 50);

  EXPECT_EQ(c.FindPool("gateways"), &c.pools[0]);
  EXPECT_EQ(c.FindPool("nope"), nullptr);
  EXPECT_EQ(c.FindListener("web"), &c.listeners[0]);
  EXPECT_EQ(c.FindListener("nope"), nullptr);
}

TEST(Lb4Config, LoadsTheShippedExample) {
  const char* root = std::getenv("EDGE_SOURCE_ROOT");
  ASSERT_NE(root, nullptr) << "EDGE_SOURCE_ROOT is set by tests/unit/l4/meson.build";
  const std::string path = std::string(root) + "/conf/edge.toml";
  auto loaded = LoadLb4Config(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->source, path);
  ASSERT_EQ(loaded->listeners.size(), 1u);
  EXPECT_EQ(loaded->listeners[0].name, "web");
  EXPECT_EQ(loaded->listeners[0].bind.ToString(), "127.0.0.1:8080");
  EXPECT_EQ(loaded->listeners[0].mode, ListenerMode::kTcp);
  EXPECT_EQ(loaded->listeners[0].proxy_protocol, ProxyProtocolMode::kV2);
  ASSERT_TRUE(loaded->admin.has_value());
  EXPECT_EQ(loaded->admin->ToString(), "127.0.0.1:9900");
  const PoolConfig* pool = loaded->FindPool("gateways");
  ASSERT_NE(pool, nullptr);
  EXPECT_EQ(pool->balancer.kind, BalanceKind::kMaglev);
  ASSERT_EQ(pool->backends.size(), 2u);
  EXPECT_EQ(pool->backends[0].address.ToString(), "127.0.0.1:8001");
  EXPECT_EQ(pool->backends[1].address.ToString(), "127.0.0.1:8002");
  // gw7's /healthz is on each instance's admin port (scripts/demo.sh: 9911, 9912).
  EXPECT_EQ(pool->health.check, HealthConfig::Check::kHttp);
  EXPECT_EQ(pool->health.path, "/healthz");
  EXPECT_EQ(HealthCheckAddress(pool->backends[0], pool->health).ToString(), "127.0.0.1:9911");
  EXPECT_EQ(HealthCheckAddress(pool->backends[1], pool->health).ToString(), "127.0.0.1:9912");
  EXPECT_FALSE(loaded->listeners[0].has_protection());  // documented, commented out
  EXPECT_EQ(loaded->buffer_size, 16384u);
  EXPECT_EQ(loaded->buffers_per_worker, 4096u);
}

TEST(Lb4Config, AppliesDefaults) {
  auto parsed = ParseLb4Config(kMinimal, "edge.toml");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const Lb4Config& c = *parsed;
  EXPECT_EQ(c.workers, 0);
  EXPECT_EQ(c.max_connections, 100000u);
  EXPECT_FALSE(c.admin.has_value());
  EXPECT_EQ(c.drain_timeout, absl::Seconds(30));
  EXPECT_EQ(c.buffer_size, 16384u);
  EXPECT_EQ(c.buffers_per_worker, 4096u);
  EXPECT_TRUE(c.splice);
  EXPECT_EQ(c.max_pipes, 1024u);
  EXPECT_EQ(c.splice_pipe_size, 256u * 1024);
  const ListenerConfig& l = c.listeners.at(0);
  EXPECT_EQ(l.mode, ListenerMode::kTcp);
  EXPECT_EQ(l.proxy_protocol, ProxyProtocolMode::kOff);
  EXPECT_EQ(l.idle_timeout, absl::Minutes(5));
  const PoolConfig& p = c.pools.at(0);
  EXPECT_EQ(p.balancer.kind, BalanceKind::kMaglev);
  EXPECT_EQ(p.balancer.hash, HashKey::kSourceIp);
  EXPECT_EQ(p.balancer.table_size, 65537u);
  EXPECT_EQ(p.connect_timeout, absl::Seconds(2));
  EXPECT_EQ(p.connect_retries, 2);
  EXPECT_EQ(p.backends.at(0).weight, 1u);
  EXPECT_EQ(p.health.check, HealthConfig::Check::kNone);
  EXPECT_EQ(p.health.path, "/healthz");
  EXPECT_EQ(p.health.interval, absl::Seconds(1));
  EXPECT_EQ(p.health.timeout, absl::Milliseconds(500));
  EXPECT_EQ(p.health.rise, 2);
  EXPECT_EQ(p.health.fall, 3);
  EXPECT_EQ(p.health.passive_failures, 0);  // no checks: passive ejection is opt-in
  EXPECT_EQ(p.health.ejection_time, absl::Seconds(10));
  EXPECT_EQ(p.health.max_ejection_time, absl::Minutes(5));
  EXPECT_EQ(p.health.max_ejection_percent, 50);
}

TEST(Lb4Config, ReadsThePassiveHealthKeys) {
  auto parsed = ParseLb4Config(std::string(kMinimal) + R"([pool.health]
check = "none"
passive_failures = 1000
ejection_time = "1ms"
max_ejection_time = "24h"
max_ejection_percent = 100
)",
                               "edge.toml");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const HealthConfig& h = parsed->pools.at(0).health;
  EXPECT_EQ(h.check, HealthConfig::Check::kNone);
  EXPECT_EQ(h.passive_failures, 1000);
  EXPECT_EQ(h.ejection_time, absl::Milliseconds(1));
  EXPECT_EQ(h.max_ejection_time, absl::Hours(24));
  EXPECT_EQ(h.max_ejection_percent, 100);
}

TEST(Lb4Config, PassiveFailuresDefaultsToFiveOnlyNextToActiveChecks) {
  auto passive = [](const std::string& health) {
    auto parsed = ParseLb4Config(std::string(kMinimal) + "[pool.health]\n" + health, "edge.toml");
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    return parsed.ok() ? parsed->pools.at(0).health.passive_failures : -1;
  };
  EXPECT_EQ(passive("check = \"tcp\"\n"), 5);
  EXPECT_EQ(passive("check = \"http\"\n"), 5);
  EXPECT_EQ(passive("check = \"none\"\n"), 0);
  EXPECT_EQ(passive("rise = 3\n"), 0);  // check defaults to none
  EXPECT_EQ(passive("check = \"none\"\npassive_failures = 7\n"), 7);
  EXPECT_EQ(passive("check = \"tcp\"\npassive_failures = 0\n"), 0);  // explicitly off
  EXPECT_EQ(passive("ejection_time = \"5m\"\n"), 0);  // equal to the default cap: fine
}

TEST(Lb4Config, ReadsEveryValueOfEveryEnumAndSection) {
  auto parsed = ParseLb4Config(R"([lb4]
workers = 8
max_connections = 5
admin = "[::1]:9900"
drain_timeout = "1m30s"
buffer_size = 65536
buffers_per_worker = 32768
splice = false
max_pipes = 7
splice_pipe_size = "1MiB"

[[listener]]
name = "a"
bind = "[::]:8080"
pool = "p1"
proxy_protocol = "v1"
idle_timeout = "24h"

[[listener]]
name = "b.2"
bind = "127.0.0.1:0"
pool = "p2"

[[listener]]
name = "c-3"
bind = "127.0.0.1:0"
pool = "p2"

[[pool]]
name = "p1"
balance = "round_robin"
connect_retries = 0
backends = [{ address = "10.0.0.1:80", weight = 10000 }, { address = "[2001:db8::1]:80" }]

[[pool]]
name = "p2"
balance = "least_conn"
hash = "source_ip_port"
table_size = 2
backends = [{ address = "10.0.0.1:80" }, { address = "10.0.0.2:80" }]
[pool.health]
check = "tcp"
interval = "100ms"
timeout = "100ms"
rise = 1
fall = 100

[[pool]]
name = "p_3"
balance = "random_two"
backends = [{ address = "10.0.0.1:80" }]
)",
                               "edge.toml");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const Lb4Config& c = *parsed;
  EXPECT_EQ(c.workers, 8);
  EXPECT_EQ(c.max_connections, 5u);
  EXPECT_EQ(c.admin->ToString(), "[::1]:9900");
  EXPECT_EQ(c.drain_timeout, absl::Seconds(90));
  EXPECT_EQ(c.buffer_size, 65536u);
  EXPECT_EQ(c.buffers_per_worker, 32768u);
  EXPECT_FALSE(c.splice);
  EXPECT_EQ(c.max_pipes, 7u);
  EXPECT_EQ(c.splice_pipe_size, 1u << 20);
  ASSERT_EQ(c.listeners.size(), 3u);  // two binds on port 0 do not collide
  EXPECT_EQ(c.listeners[0].proxy_protocol, ProxyProtocolMode::kV1);
  EXPECT_EQ(c.listeners[0].idle_timeout, absl::Hours(24));
  ASSERT_EQ(c.pools.size(), 3u);
  EXPECT_EQ(c.pools[0].balancer.kind, BalanceKind::kRoundRobin);
  EXPECT_EQ(c.pools[0].connect_retries, 0);
  EXPECT_EQ(c.pools[0].backends[0].weight, 10000u);
  EXPECT_EQ(c.pools[0].backends[1].address.ToString(), "[2001:db8::1]:80");
  EXPECT_EQ(c.pools[0].health.check, HealthConfig::Check::kNone);  // [pool.health] was for p2
  EXPECT_EQ(c.pools[1].balancer.kind, BalanceKind::kLeastConn);
  EXPECT_EQ(c.pools[1].balancer.hash, HashKey::kSourceIpPort);
  EXPECT_EQ(c.pools[1].balancer.table_size, 2u);
  EXPECT_EQ(c.pools[1].health.check, HealthConfig::Check::kTcp);
  EXPECT_EQ(c.pools[1].health.interval, absl::Milliseconds(100));
  EXPECT_EQ(c.pools[1].health.rise, 1);
  EXPECT_EQ(c.pools[1].health.fall, 100);
  EXPECT_EQ(c.pools[2].balancer.kind, BalanceKind::kRandomTwo);
  EXPECT_EQ(c.pools[2].health.check, HealthConfig::Check::kNone);
}

struct ErrorCase {
  const char* name;
  const char* toml;
  const char* error;
};

// One mistake per document, and the exact line a user sees for it.
const ErrorCase kErrorCases[] = {
    {"UnknownBalance",
     "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = \"gateways\"\n\n"
     "[[pool]]\nname = \"gateways\"\nbalance = \"magelv\"\nbackends = [{ address = "
     "\"127.0.0.1:8001\" }]\n",
     "edge.toml:8:11: pool \"gateways\": balance: unknown value \"magelv\" "
     "(maglev|round_robin|least_conn|random_two)"},
    {"UnknownKeyInPool",
     "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = \"gateways\"\n\n"
     "[[pool]]\nname = \"gateways\"\nblance = \"maglev\"\nbackends = [{ address = "
     "\"127.0.0.1:8001\" }]\n",
     "edge.toml:8:1: pool \"gateways\": blance: unknown key; did you mean \"balance\"? (allowed: "
     "name, balance, hash, table_size, connect_timeout, connect_retries, backends, health, tls)"},
    {"UnknownTopLevelTable",
     "[lb]\nworkers = 1\n[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n"
     "[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\" }]\n",
     "edge.toml:1:2: lb: unknown key; did you mean \"lb4\"? (allowed: lb4, listener, pool, dns)"},
    {"UnknownKeyInLb4",
     "[lb4]\nworker = 1\n[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n"
     "[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\" }]\n",
     "edge.toml:2:1: lb4: worker: unknown key; did you mean \"workers\"? (allowed: workers, "
     "max_connections, admin, drain_timeout, buffer_size, buffers_per_worker, batch_wait_us, "
     "splice, max_pipes, splice_pipe_size, access_log, "
     "admin_token_file, announce)"},
    {"UnknownKeyInBackend",
     "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n"
     "[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\", wieght = 2 }]\n",
     "edge.toml:7:43: pool \"g\": backends[0].wieght: unknown key; did you mean \"weight\"? "
     "(allowed: address, weight, health_port, srv)"},
    {"UnknownKeyInHealth",
     "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n"
     "[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\" }]\n[pool.health]\n"
     "intervall = \"1s\"\n",
     "edge.toml:9:1: pool \"g\": health.intervall: unknown key; did you mean \"interval\"? "
     "(allowed: check, path, port, interval, timeout, rise, fall, expect_status, "
     "passive_failures, ejection_time, max_ejection_time, max_ejection_percent)"},
    {"WorkersOutOfRange",
     "[lb4]\nworkers = 2000\n[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = "
     "\"g\"\n"
     "[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\" }]\n",
     "edge.toml:2:11: lb4: workers: must be between 0 and 1024, got 2000"},
    {"MaxConnectionsZero",
     "[lb4]\nmax_connections = 0\n[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\n"
     "pool = \"g\"\n[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\" }]\n",
     "edge.toml:2:19: lb4: max_connections: must be at least 1, got 0"},
    {"AdminNotAnAddress",
     "[lb4]\nadmin = \"localhost:9900\"\n[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\n"
     "pool = \"g\"\n[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\" }]\n",
     "edge.toml:2:9: lb4: admin: bad address \"localhost:9900\": not an IP address: "
     "\"localhost\""},
    {"DrainTimeoutZero",
     "[lb4]\ndrain_timeout = \"0s\"\n[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\n"
     "pool = \"g\"\n[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\" }]\n",
     "edge.toml:2:17: lb4: drain_timeout: must be between 1ms and 24h, got \"0s\""},
    {"DrainTimeoutWithoutUnit",
     "[lb4]\ndrain_timeout = 30\n[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\n"
     "pool = \"g\"\n[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\" }]\n",
     "edge.toml:2:17: lb4: drain_timeout: expected a duration string with a unit such as "
     "\"500ms\", \"2s\" or \"5m\", got integer"},
    {"BufferSizeTooSmall",
     "[lb4]\nbuffer_size = \"512B\"\n[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\n"
     "pool = \"g\"\n[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\" }]\n",
     "edge.toml:2:15: lb4: buffer_size: must be between 1KiB and 1MiB, got \"512B\""},
    {"SplicePipeSizeTooSmall",
     "[lb4]\nsplice_pipe_size = \"16KiB\"\n[[listener]]\nname = \"web\"\nbind = "
     "\"127.0.0.1:8080\"\npool = \"g\"\n[[pool]]\nname = \"g\"\nbackends = [{ address = "
     "\"127.0.0.1:8001\" }]\n",
     "edge.toml:2:20: lb4: splice_pipe_size: must be between 64KiB and 1MiB, got \"16KiB\""},
    {"BufferSizeBadUnit",
     "[lb4]\nbuffer_size = \"16KB\"\n[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\n"
     "pool = \"g\"\n[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\" }]\n",
     "edge.toml:2:15: lb4: buffer_size: invalid size \"16KB\": unknown unit \"KB\" (B, KiB, MiB, "
     "GiB, TiB), e.g. \"512B\", \"16KiB\", \"10MiB\""},
    {"BuffersPerWorkerNotPowerOfTwo",
     "[lb4]\nbuffers_per_worker = 1000\n[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\n"
     "pool = \"g\"\n[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\" }]\n",
     "edge.toml:2:22: lb4: buffers_per_worker: must be a power of two (io_uring buffer ring "
     "entries), got 1000 (nearest: 512, 1024)"},
    {"BuffersPerWorkerTooMany",
     "[lb4]\nbuffers_per_worker = 65536\n[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\n"
     "pool = \"g\"\n[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\" }]\n",
     "edge.toml:2:22: lb4: buffers_per_worker: must be between 1 and 32768, got 65536"},
    {"NoListener", "[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\" }]\n",
     "edge.toml:1:1: listener: at least one [[listener]] is required"},
    {"ListenerIsNotAnArray",
     "[listener]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n"
     "[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\" }]\n",
     "edge.toml:1:1: listener: expected an array of tables ([[listener]] or listener = [{...}]), "
     "got table"},
    {"ListenerMissingName",
     "[[listener]]\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n"
     "[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\" }]\n",
     "edge.toml:1:1: listener[0]: name: missing required key"},
    {"ListenerEmptyName",
     "[[listener]]\nname = \"\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n"
     "[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\" }]\n",
     "edge.toml:2:8: listener[0]: name: must be 1-64 characters of A-Z a-z 0-9 _ - ., got \"\""},
    {"ListenerNameWithSpace",
     "[[listener]]\nname = \"my web\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n"
     "[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\" }]\n",
     "edge.toml:2:8: listener[0]: name: must be 1-64 characters of A-Z a-z 0-9 _ - ., got "
     "\"my web\""},
    {"ListenerMissingBind",
     "[[listener]]\nname = \"web\"\npool = \"g\"\n"
     "[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\" }]\n",
     "edge.toml:1:1: listener \"web\": bind: missing required key"},
    {"ListenerBindWithoutPort",
     "[[listener]]\nname = \"web\"\nbind = \"0.0.0.0\"\npool = \"g\"\n"
     "[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\" }]\n",
     "edge.toml:3:8: listener \"web\": bind: bad address \"0.0.0.0\": want \"IPv4:port\" or "
     "\"[IPv6]:port\""},
    {"ListenerMissingPool",
     "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\n"
     "[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\" }]\n",
     "edge.toml:1:1: listener \"web\": pool: missing required key"},
    {"ListenerUnknownPool",
     "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = \"gatways\"\n"
     "[[pool]]\nname = \"gateways\"\nbackends = [{ address = \"127.0.0.1:8001\" }]\n"
     "[[pool]]\nname = \"other\"\nbackends = [{ address = \"127.0.0.1:8001\" }]\n",
     "edge.toml:4:8: listener \"web\": pool: unknown pool \"gatways\" (defined: gateways, other)"},
    {"ListenerPoolWithoutPools",
     "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n",
     "edge.toml:4:8: listener \"web\": pool: unknown pool \"g\" (no [[pool]] is defined)"},
    {"ModeUnknown",
     "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\nmode = \"udp\"\npool = \"g\"\n"
     "[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\" }]\n",
     "edge.toml:4:8: listener \"web\": mode: unknown value \"udp\" (tcp|tls|tls_passthrough)"},
    {"ModeTlsWithoutTls",
     "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\nmode = \"tls\"\npool = \"g\"\n"
     "[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\" }]\n",
     "edge.toml:1:1: listener \"web\": tls: missing required key"},
    {"ProxyProtocolUnknown",
     "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n"
     "proxy_protocol = \"v3\"\n"
     "[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\" }]\n",
     "edge.toml:5:18: listener \"web\": proxy_protocol: unknown value \"v3\" (off|v1|v2)"},
    {"ProxyProtocolBoolean",
     "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n"
     "proxy_protocol = true\n"
     "[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\" }]\n",
     "edge.toml:5:18: listener \"web\": proxy_protocol: expected a string (off|v1|v2), got "
     "boolean"},
    {"IdleTimeoutTooLong",
     "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n"
     "idle_timeout = \"25h\"\n"
     "[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\" }]\n",
     "edge.toml:5:16: listener \"web\": idle_timeout: must be between 1ms and 24h, got \"25h\""},
    {"DuplicateListenerName",
     "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n"
     "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8081\"\npool = \"g\"\n"
     "[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\" }]\n",
     "edge.toml:6:8: listener \"web\": name: duplicate listener name, first defined at "
     "edge.toml:2:8"},
    {"DuplicateBind",
     "[[listener]]\nname = \"a\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n"
     "[[listener]]\nname = \"b\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n"
     "[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\" }]\n",
     "edge.toml:7:8: listener \"b\": bind: address 127.0.0.1:8080 is already used by listener "
     "\"a\" at edge.toml:3:8"},
    {"BindSameAsAdmin",
     "[lb4]\nadmin = \"127.0.0.1:8080\"\n"
     "[[listener]]\nname = \"a\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n"
     "[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\" }]\n",
     "edge.toml:5:8: listener \"a\": bind: address 127.0.0.1:8080 is already used by lb4.admin "
     "at edge.toml:2:9"},
    {"DuplicatePoolName",
     "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n"
     "[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\" }]\n"
     "[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8002\" }]\n",
     "edge.toml:9:8: pool \"g\": name: duplicate pool name, first defined at edge.toml:6:8"},
    {"PoolMissingName",
     "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n"
     "[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\" }]\n"
     "[[pool]]\nbackends = [{ address = \"127.0.0.1:8002\" }]\n",
     "edge.toml:8:1: pool[1]: name: missing required key"},
    {"UnknownHash",
     "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n"
     "[[pool]]\nname = \"g\"\nhash = \"destination\"\n"
     "backends = [{ address = \"127.0.0.1:8001\" }]\n",
     "edge.toml:7:8: pool \"g\": hash: unknown value \"destination\" (source_ip|source_ip_port)"},
    {"TableSizeNotPrime",
     "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n"
     "[[pool]]\nname = \"g\"\ntable_size = 65536\n"
     "backends = [{ address = \"127.0.0.1:8001\" }]\n",
     "edge.toml:7:14: pool \"g\": table_size: must be prime, got 65536 (nearest primes: 65521, "
     "65537)"},
    {"TableSizeBelowBackends",
     "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n"
     "[[pool]]\nname = \"g\"\ntable_size = 2\n"
     "backends = [{ address = \"127.0.0.1:8001\" }, { address = \"127.0.0.1:8002\" }, "
     "{ address = \"127.0.0.1:8003\" }]\n",
     "edge.toml:7:14: pool \"g\": table_size: must be at least the number of backends (3) for "
     "maglev, got 2"},
    {"TableSizeTooLarge",
     "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n"
     "[[pool]]\nname = \"g\"\ntable_size = 4294967311\n"
     "backends = [{ address = \"127.0.0.1:8001\" }]\n",
     "edge.toml:7:14: pool \"g\": table_size: must be between 2 and 16777216, got 4294967311"},
    {"ConnectTimeoutNegative",
     "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n"
     "[[pool]]\nname = \"g\"\nconnect_timeout = \"-2s\"\n"
     "backends = [{ address = \"127.0.0.1:8001\" }]\n",
     "edge.toml:7:19: pool \"g\": connect_timeout: invalid duration \"-2s\": must not be "
     "negative"},
    {"ConnectRetriesOutOfRange",
     "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n"
     "[[pool]]\nname = \"g\"\nconnect_retries = 17\n"
     "backends = [{ address = \"127.0.0.1:8001\" }]\n",
     "edge.toml:7:19: pool \"g\": connect_retries: must be between 0 and 16, got 17"},
    {"BackendsMissing",
     "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n"
     "[[pool]]\nname = \"g\"\n",
     "edge.toml:5:1: pool \"g\": backends: missing required key"},
    {"BackendsEmpty",
     "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n"
     "[[pool]]\nname = \"g\"\nbackends = []\n",
     "edge.toml:7:12: pool \"g\": backends: must list at least one backend, e.g. [{ address = "
     "\"10.0.0.1:80\" }]"},
    {"BackendIsAString",
     "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n"
     "[[pool]]\nname = \"g\"\nbackends = [\"127.0.0.1:8001\"]\n",
     "edge.toml:7:13: pool \"g\": backends[0]: expected a table, got string"},
    {"BackendMissingAddress",
     "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n"
     "[[pool]]\nname = \"g\"\nbackends = [{ weight = 2 }]\n",
     "edge.toml:7:13: pool \"g\": backends[0].address: missing required key"},
    {"BackendPortZero",
     "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n"
     "[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:0\" }]\n",
     "edge.toml:7:25: pool \"g\": backends[0].address: port 0 is not a valid backend port, got "
     "\"127.0.0.1:0\""},
    {"BackendWeightZero",
     "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n"
     "[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\", weight = 0 }]\n",
     "edge.toml:7:52: pool \"g\": backends[0].weight: must be between 1 and 10000, got 0"},
    {"BackendWeightTooLarge",
     "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n"
     "[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\", weight = 10001 }]\n",
     "edge.toml:7:52: pool \"g\": backends[0].weight: must be between 1 and 10000, got 10001"},
    {"DuplicateBackend",
     "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n"
     "[[pool]]\nname = \"g\"\nbackends = [\n  { address = \"127.0.0.1:8001\" },\n"
     "  { address = \"127.0.0.1:8001\", weight = 3 },\n]\n",
     "edge.toml:9:15: pool \"g\": backends[1].address: duplicate backend 127.0.0.1:8001 (also "
     "backends[0])"},
    {"HealthUnknownCheck",
     "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n"
     "[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\" }]\n"
     "[pool.health]\ncheck = \"icmp\"\n",
     "edge.toml:9:9: pool \"g\": health.check: unknown value \"icmp\" (tcp|http|none)"},
    {"HealthPathWithoutSlash",
     "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n"
     "[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\" }]\n"
     "[pool.health]\ncheck = \"http\"\npath = \"healthz\"\n",
     "edge.toml:10:8: pool \"g\": health.path: must start with '/' and hold only visible ASCII, "
     "got \"healthz\""},
    {"HealthPathWithSpace",
     "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n"
     "[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\" }]\n"
     "[pool.health]\ncheck = \"http\"\npath = \"/a b\"\n",
     "edge.toml:10:8: pool \"g\": health.path: must start with '/' and hold only visible ASCII, "
     "got \"/a b\""},
    {"HealthTimeoutAboveInterval",
     "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n"
     "[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\" }]\n"
     "[pool.health]\ninterval = \"1s\"\ntimeout = \"2s\"\n",
     "edge.toml:10:11: pool \"g\": health.timeout: must not exceed interval (1s), got \"2s\""},
    {"HealthIntervalBelowDefaultTimeout",
     "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n"
     "[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\" }]\n"
     "[pool.health]\ninterval = \"100ms\"\n",
     "edge.toml:9:12: pool \"g\": health.interval: must be at least timeout (500ms, the "
     "default), got \"100ms\""},
    {"HealthRiseZero",
     "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n"
     "[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\" }]\n"
     "[pool.health]\nrise = 0\n",
     "edge.toml:9:8: pool \"g\": health.rise: must be between 1 and 100, got 0"},
    {"HealthFallTooLarge",
     "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n"
     "[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\" }]\n"
     "[pool.health]\nfall = 101\n",
     "edge.toml:9:8: pool \"g\": health.fall: must be between 1 and 100, got 101"},
    {"HealthPassiveFailuresTooLarge",
     "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n"
     "[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\" }]\n"
     "[pool.health]\npassive_failures = 1001\n",
     "edge.toml:9:20: pool \"g\": health.passive_failures: must be between 0 and 1000, got 1001"},
    {"HealthPassiveFailuresNegative",
     "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n"
     "[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\" }]\n"
     "[pool.health]\ncheck = \"tcp\"\npassive_failures = -1\n",
     "edge.toml:10:20: pool \"g\": health.passive_failures: must be between 0 and 1000, got -1"},
    {"HealthPassiveFailuresNotAnInteger",
     "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n"
     "[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\" }]\n"
     "[pool.health]\npassive_failures = \"5\"\n",
     "edge.toml:9:20: pool \"g\": health.passive_failures: expected an integer, got string"},
    {"HealthEjectionTimeAboveDefaultMax",
     "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n"
     "[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\" }]\n"
     "[pool.health]\nejection_time = \"10m\"\n",
     "edge.toml:9:17: pool \"g\": health.ejection_time: must not exceed max_ejection_time (5m, "
     "the default), got \"10m\""},
    {"HealthMaxEjectionTimeBelowDefaultEjectionTime",
     "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n"
     "[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\" }]\n"
     "[pool.health]\nmax_ejection_time = \"5s\"\n",
     "edge.toml:9:21: pool \"g\": health.max_ejection_time: must be at least ejection_time (10s, "
     "the default), got \"5s\""},
    {"HealthMaxEjectionTimeBelowEjectionTime",
     "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n"
     "[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\" }]\n"
     "[pool.health]\nejection_time = \"1m\"\nmax_ejection_time = \"30s\"\n",
     "edge.toml:10:21: pool \"g\": health.max_ejection_time: must be at least ejection_time (1m), "
     "got \"30s\""},
    {"HealthEjectionTimeZero",
     "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n"
     "[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\" }]\n"
     "[pool.health]\nejection_time = \"0s\"\n",
     "edge.toml:9:17: pool \"g\": health.ejection_time: must be between 1ms and 24h, got \"0s\""},
    {"HealthMaxEjectionPercentAbove100",
     "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n"
     "[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\" }]\n"
     "[pool.health]\nmax_ejection_percent = 101\n",
     "edge.toml:9:24: pool \"g\": health.max_ejection_percent: must be between 0 and 100, got 101"},
    {"HealthNotATable",
     "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n"
     "[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\" }]\nhealth = \"tcp\"\n",
     "edge.toml:8:10: pool \"g\": health: expected a table, got string"},
    {"TlsKeyOnlyForModeTls",
     "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n"
     "tls = { alpn = [\"h2\"] }\n"
     "[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\" }]\n",
     "edge.toml:5:7: listener \"web\": tls: only for mode = \"tls\""},
    {"InvalidToml", "[[listener]\nname = \"web\"\n",
     "edge.toml:1:12: invalid TOML: Error while parsing table header: expected ']', saw '\\n'"},
};

void PrintTo(const ErrorCase& c, std::ostream* out) { *out << c.name; }

class Lb4ConfigErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(Lb4ConfigErrorTest, ReportsFileLineColumnKeyAndAllowedValues) {
  EXPECT_EQ(ErrorOf(GetParam().toml), GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(Cases, Lb4ConfigErrorTest, ::testing::ValuesIn(kErrorCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Lb4Config, ReportsEveryErrorInFileOrder) {
  EXPECT_EQ(
      ErrorOf("[lb4]\nworkers = -1\nadmin = \"x\"\n\n"
              "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = \"nope\"\n"
              "mode = \"udp\"\n\n"
              "[[pool]]\nname = \"g\"\nbalance = \"magelv\"\nbackends = []\n"),
      "edge.toml:2:11: lb4: workers: must be between 0 and 1024, got -1\n"
      "edge.toml:3:9: lb4: admin: bad address \"x\": want \"IPv4:port\" or "
      "\"[IPv6]:port\"\n"
      "edge.toml:8:8: listener \"web\": pool: unknown pool \"nope\" (defined: g)\n"
      "edge.toml:9:8: listener \"web\": mode: unknown value \"udp\" (tcp|tls|tls_passthrough)\n"
      "edge.toml:13:11: pool \"g\": balance: unknown value \"magelv\" "
      "(maglev|round_robin|least_conn|random_two)\n"
      "edge.toml:14:12: pool \"g\": backends: must list at least one backend, e.g. "
      "[{ address = \"10.0.0.1:80\" }]");
}

TEST(Lb4Config, RefusesEmptyAndGarbageInput) {
  EXPECT_EQ(ErrorOf(""), "edge.toml:1:1: listener: at least one [[listener]] is required");
  EXPECT_EQ(ErrorOf(std::string_view("\x00\xff\xfe", 3)),
            "edge.toml:1:2: invalid TOML: non-ASCII character outside a string or comment");
  EXPECT_EQ(ErrorOf(std::string_view("a\x00", 2)).rfind("edge.toml:1:2: invalid TOML: ", 0), 0u);
}

TEST(Lb4Config, LoadNamesAMissingFile) {
  auto loaded = LoadLb4Config("/nonexistent/edge.toml");
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(loaded.status().message()),
            "cannot read /nonexistent/edge.toml: No such file or directory");
}

// [pool.health] port and a backend's health_port (issue 17): where active checks go.
TEST(Lb4Config, HealthPortsChooseTheCheckAddress) {
  auto parsed = ParseLb4Config(
      "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n"
      "[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\", health_port = 9911 },"
      " { address = \"[::1]:8002\" }]\n[pool.health]\ncheck = \"http\"\nport = 9900\n",
      "edge.toml");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const PoolConfig& p = parsed->pools[0];
  EXPECT_EQ(p.health.port, 9900);
  EXPECT_EQ(p.backends[0].health_port, 9911);
  EXPECT_EQ(p.backends[1].health_port, 0);
  EXPECT_EQ(HealthCheckAddress(p.backends[0], p.health).ToString(), "127.0.0.1:9911");
  EXPECT_EQ(HealthCheckAddress(p.backends[1], p.health).ToString(), "[::1]:9900");
  HealthConfig no_port;
  EXPECT_EQ(HealthCheckAddress(p.backends[1], no_port).ToString(), "[::1]:8002");
}

TEST(Lb4Config, HealthPortsOutOfRangeAreErrors) {
  const std::string head =
      "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n[[pool]]\n"
      "name = \"g\"\n";
  EXPECT_EQ(ErrorOf(head + "backends = [{ address = \"127.0.0.1:8001\" }]\n[pool.health]\n"
                           "check = \"tcp\"\nport = 0\n"),
            "edge.toml:10:8: pool \"g\": health.port: must be between 1 and 65535, got 0");
  EXPECT_EQ(ErrorOf(head + "backends = [{ address = \"127.0.0.1:8001\" }]\n[pool.health]\n"
                           "port = 65536\n"),
            "edge.toml:9:8: pool \"g\": health.port: must be between 1 and 65535, got 65536");
  EXPECT_EQ(ErrorOf(head + "backends = [{ address = \"127.0.0.1:8001\", health_port = \"x\" }]\n"),
            "edge.toml:7:57: pool \"g\": backends[0].health_port: expected an integer, got string");
  EXPECT_EQ(ErrorOf(head + "backends = [{ address = \"127.0.0.1:8001\", health_port = -1 }]\n"),
            "edge.toml:7:57: pool \"g\": backends[0].health_port: must be between 1 and 65535, "
            "got -1");
}

// Per-listener protection keys (issue 17).
TEST(Lb4Config, ParsesListenerProtection) {
  auto parsed = ParseLb4Config(
      "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n"
      "allow = [\"10.0.0.0/8\", \"::1\"]\ndeny = [\"10.1.0.0/16\"]\n"
      "max_connections_per_source = 20\n"
      "new_connections_per_source = { rate = 100, per = \"1s\", burst = 50 }\n"
      "source_table_size = 1024\n"
      "[[listener]]\nname = \"b\"\nbind = \"127.0.0.1:8081\"\npool = \"g\"\n"
      "new_connections_per_source = { rate = 5, per = \"1m\" }\n"
      "[[listener]]\nname = \"c\"\nbind = \"127.0.0.1:8082\"\npool = \"g\"\n"
      "[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\" }]\n",
      "edge.toml");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const ListenerConfig& a = parsed->listeners[0];
  ASSERT_EQ(a.allow.size(), 2u);
  EXPECT_EQ(a.allow[0].ToString(), "10.0.0.0/8");
  EXPECT_EQ(a.allow[1].ToString(), "::1/128");
  ASSERT_EQ(a.deny.size(), 1u);
  EXPECT_EQ(a.deny[0].ToString(), "10.1.0.0/16");
  EXPECT_EQ(a.max_connections_per_source, 20u);
  EXPECT_EQ(a.new_connections_per_source.rate, 100u);
  EXPECT_EQ(a.new_connections_per_source.per, absl::Seconds(1));
  EXPECT_EQ(a.new_connections_per_source.burst, 50u);
  EXPECT_EQ(a.source_table_size, 1024u);
  EXPECT_TRUE(a.has_protection());
  const ListenerConfig& b = parsed->listeners[1];
  EXPECT_EQ(b.new_connections_per_source.burst, 5u);  // defaults to rate
  EXPECT_EQ(b.new_connections_per_source.per, absl::Minutes(1));
  EXPECT_EQ(b.max_connections_per_source, 0u);
  EXPECT_TRUE(b.has_per_source_limits());
  const ListenerConfig& c = parsed->listeners[2];
  EXPECT_FALSE(c.has_protection());  // defaults: nothing on the accept path
  EXPECT_EQ(c.source_table_size, 16384u);
}

TEST(Lb4Config, ListenerProtectionErrors) {
  const std::string head =
      "[[pool]]\nname = \"g\"\nbackends = [{ address = \"127.0.0.1:8001\" }]\n"
      "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:8080\"\npool = \"g\"\n";
  EXPECT_EQ(ErrorOf(head + "allow = [\"10.0.0.1/8\"]\n"),
            "edge.toml:8:10: listener \"web\": allow: invalid CIDR \"10.0.0.1/8\": host bits are "
            "set (did you mean 10.0.0.0/8?)");
  EXPECT_EQ(ErrorOf(head + "deny = [\"10.0.0.0/8\", 7]\n"),
            "edge.toml:8:23: listener \"web\": deny: must be CIDR strings such as \"10.0.0.0/8\", "
            "got integer");
  EXPECT_EQ(ErrorOf(head + "deny = \"10.0.0.0/8\"\n"),
            "edge.toml:8:8: listener \"web\": deny: expected an array, got string");
  EXPECT_EQ(ErrorOf(head + "max_connections_per_source = 0\n"),
            "edge.toml:8:30: listener \"web\": max_connections_per_source: must be between 1 and "
            "1000000, got 0");
  EXPECT_EQ(ErrorOf(head + "new_connections_per_source = { per = \"1s\" }\n"),
            "edge.toml:8:30: listener \"web\": new_connections_per_source.rate: missing required "
            "key");
  EXPECT_EQ(ErrorOf(head + "new_connections_per_source = { rate = 10, per = \"0s\", brust = 1 }\n"),
            "edge.toml:8:49: listener \"web\": new_connections_per_source.per: must be between "
            "1ms and 24h, got \"0s\"\n"
            "edge.toml:8:55: listener \"web\": new_connections_per_source.brust: unknown key; did "
            "you mean \"burst\"? (allowed: rate, per, burst)");
  EXPECT_EQ(ErrorOf(head + "new_connections_per_source = { rate = 10, burst = 0 }\n"),
            "edge.toml:8:51: listener \"web\": new_connections_per_source.burst: must be between 1 "
            "and 1000000, got 0");
  EXPECT_EQ(ErrorOf(head + "source_table_size = 100\n"),
            "edge.toml:8:21: listener \"web\": source_table_size: only with "
            "max_connections_per_source or new_connections_per_source");
  EXPECT_EQ(ErrorOf(head + "max_connections_per_source = 1\nsource_table_size = 8\n"),
            "edge.toml:9:21: listener \"web\": source_table_size: must be between 16 and 4194304, "
            "got 8");
}

TEST(Lb4Config, NamesMatchTheConfigSpellings) {
  EXPECT_EQ(ConfigName(ListenerMode::kTlsPassthrough), "tls_passthrough");
  EXPECT_EQ(ConfigName(ProxyProtocolMode::kV2), "v2");
  EXPECT_EQ(ConfigName(BalanceKind::kRandomTwo), "random_two");
  EXPECT_EQ(ConfigName(HashKey::kSourceIpPort), "source_ip_port");
  EXPECT_EQ(ConfigName(HealthConfig::Check::kHttp), "http");
}

}  // namespace
}  // namespace edge::l4
