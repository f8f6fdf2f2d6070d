// HealthChecker (l4/health/health_checker.h) on its own thread against real sockets on loopback.
// Waits are bounded polls of the backends' state, never sleeps that decide an order.

#include "l4/health/health_checker.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "l4/config.h"
#include "l4/runtime.h"

namespace edge::l4 {
namespace {

constexpr int64_t kMs = 1'000'000;

// A socket on 127.0.0.1 with a kernel-chosen port, bound; Listen() makes it accept connections
// (the kernel completes handshakes; nothing is ever accepted), until then connects are refused.
class Port {
 public:
  explicit Port(bool listening) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
    socklen_t len = sizeof(sa);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len);
    address_ = net::SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&sa), len).ToString();
    if (listening) Listen();
  }
  ~Port() { close(fd_); }
  void Listen() { EXPECT_EQ(listen(fd_, 64), 0); }
  const std::string& address() const { return address_; }

 private:
  int fd_ = -1;
  std::string address_;
};

std::shared_ptr<const Runtime> Build(const std::vector<std::string>& backends,
                                     const std::string& health, const Runtime* previous = nullptr) {
  std::string list;
  for (const std::string& b : backends) {
    absl::StrAppendFormat(&list, "%s{ address = \"%s\" }", list.empty() ? "" : ", ", b);
  }
  std::string text = absl::StrFormat(
      "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:0\"\npool = \"p\"\n\n"
      "[[pool]]\nname = \"p\"\nbackends = [%s]\n[pool.health]\n%s\n",
      list, health);
  auto config = ParseLb4Config(text, "test.toml");
  EXPECT_TRUE(config.ok()) << config.status();
  ReusableBackends reusable;
  if (previous != nullptr) {
    for (const auto& pool : previous->pools) {
      for (const auto& b : pool->backends) reusable.emplace_back(pool->config.name, b);
    }
  }
  auto runtime = BuildRuntime(*config, reusable);
  EXPECT_TRUE(runtime.ok()) << runtime.status();
  return *runtime;
}

// Polls `predicate` every millisecond for up to `seconds`.
bool WaitFor(const std::function<bool()>& predicate, double seconds = 10) {
  const absl::Time deadline = absl::Now() + absl::Seconds(seconds);
  while (absl::Now() < deadline) {
    if (predicate()) return true;
    absl::SleepFor(absl::Milliseconds(1));
  }
  return predicate();
}

std::unique_ptr<HealthChecker> StartChecker(std::shared_ptr<const Runtime> runtime,
                                            int64_t sweep_ns = 10 * kMs) {
  auto checker = HealthChecker::Start(std::move(runtime), {.sweep_ns = sweep_ns, .seed = 42});
  EXPECT_TRUE(checker.ok()) << checker.status();
  return checker.ok() ? std::move(*checker) : nullptr;
}

const Backend& B(const std::shared_ptr<const Runtime>& r, size_t i) {
  return *r->pools[0]->backends[i];
}
Backend& MutableB(const std::shared_ptr<const Runtime>& r, size_t i) {
  return *r->pools[0]->backends[i];
}

TEST(HealthChecker, TakesADeadBackendDownAndKeepsTheLiveOneUp) {
  Port live(true), dead(false);
  auto r = Build({live.address(), dead.address()},
                 "check = \"tcp\"\ninterval = \"50ms\"\ntimeout = \"50ms\"\nrise = 2\nfall = 2");
  auto checker = StartChecker(r);
  EXPECT_TRUE(B(r, 1).healthy.load());  // starts up
  ASSERT_TRUE(WaitFor([&] { return !B(r, 1).healthy.load(); }));
  EXPECT_FALSE(B(r, 1).check_up.load());
  EXPECT_GE(B(r, 1).checks_failed.load(), 2u);
  EXPECT_EQ(B(r, 1).last_check().detail, "connect refused");
  EXPECT_FALSE(B(r, 1).last_check().ok);
  ASSERT_TRUE(WaitFor([&] { return B(r, 0).checks_ok.load() >= 2; }));
  EXPECT_TRUE(B(r, 0).healthy.load());
  EXPECT_EQ(B(r, 0).checks_failed.load(), 0u);
  EXPECT_EQ(B(r, 0).last_check().detail, "connected");
}

TEST(HealthChecker, ABackendComesBackAfterRiseGoodChecks) {
  Port flaky(false);
  auto r = Build({flaky.address()},
                 "check = \"tcp\"\ninterval = \"30ms\"\ntimeout = \"30ms\"\nrise = 3\nfall = 1");
  auto checker = StartChecker(r);
  ASSERT_TRUE(WaitFor([&] { return !B(r, 0).healthy.load(); }));
  const uint64_t ok_before = B(r, 0).checks_ok.load();
  EXPECT_EQ(ok_before, 0u);
  flaky.Listen();
  // Sampled together: never up while fewer than `rise` good checks are counted (the count
  // follows the state change by an instant, so up with 2 counted is the most that can be seen).
  ASSERT_TRUE(WaitFor([&] {
    const uint64_t ok = B(r, 0).checks_ok.load();
    const bool up = B(r, 0).healthy.load();
    EXPECT_TRUE(!up || ok >= 2) << ok;
    return up;
  }));
  ASSERT_TRUE(WaitFor([&] { return B(r, 0).checks_ok.load() >= 3; }));
  EXPECT_TRUE(B(r, 0).last_check().ok);
}

// The port of "127.0.0.1:N".
int PortOf(const std::string& address) { return std::stoi(address.substr(address.rfind(':') + 1)); }

std::shared_ptr<const Runtime> BuildRaw(const std::string& pool_body) {
  auto config = ParseLb4Config(
      "[[listener]]\nname = \"web\"\nbind = \"127.0.0.1:0\"\npool = \"p\"\n\n[[pool]]\n"
      "name = \"p\"\n" +
          pool_body,
      "test.toml");
  EXPECT_TRUE(config.ok()) << config.status();
  auto runtime = BuildRuntime(*config);
  EXPECT_TRUE(runtime.ok()) << runtime.status();
  return *runtime;
}

// [pool.health] port: only the health port's answer decides. Backend 0's traffic port refuses
// but its health port listens: it stays up. Backend 1's traffic port listens but its health
// port refuses: it goes down.
TEST(HealthChecker, PoolHealthPortDecidesInsteadOfTheTrafficPort) {
  Port traffic_dead(false), traffic_live(true);
  Port health_live(true);
  Port health_dead(false);
  // Both backends share the pool's health port on 127.0.0.1, so give backend 1 another IP of
  // loopback, where nothing listens on that port.
  const std::string b1 = absl::StrFormat("127.0.0.2:%d", PortOf(traffic_live.address()));
  auto r = BuildRaw(absl::StrFormat(
      "backends = [{ address = \"%s\" }, { address = \"%s\" }]\n[pool.health]\n"
      "check = \"tcp\"\nport = %d\ninterval = \"30ms\"\ntimeout = \"30ms\"\nrise = 1\n"
      "fall = 2\n",
      traffic_dead.address(), b1, PortOf(health_live.address())));
  auto checker = StartChecker(r);
  ASSERT_TRUE(WaitFor([&] { return !B(r, 1).healthy.load(); }));
  EXPECT_EQ(B(r, 1).last_check().detail, "connect refused");
  ASSERT_TRUE(WaitFor([&] { return B(r, 0).checks_ok.load() >= 3; }));
  EXPECT_TRUE(B(r, 0).healthy.load());
  EXPECT_EQ(B(r, 0).checks_failed.load(), 0u);
}

// A backend's health_port overrides the pool's port.
TEST(HealthChecker, BackendHealthPortOverridesThePoolPort) {
  Port traffic(false), own_health(true), pool_health(false);
  Port other_traffic(false);
  auto r = BuildRaw(absl::StrFormat(
      "backends = [{ address = \"%s\", health_port = %d }, { address = \"%s\" }]\n"
      "[pool.health]\ncheck = \"tcp\"\nport = %d\ninterval = \"30ms\"\ntimeout = \"30ms\"\n"
      "rise = 1\nfall = 2\n",
      traffic.address(), PortOf(own_health.address()), other_traffic.address(),
      PortOf(pool_health.address())));
  auto checker = StartChecker(r);
  ASSERT_TRUE(WaitFor([&] { return !B(r, 1).healthy.load(); }));  // the pool's port refuses
  ASSERT_TRUE(WaitFor([&] { return B(r, 0).checks_ok.load() >= 3; }));
  EXPECT_TRUE(B(r, 0).healthy.load());
  EXPECT_EQ(B(r, 0).checks_failed.load(), 0u);
}

TEST(HealthChecker, ChecksEachBackendAboutOncePerInterval) {
  Port a(true), b(true);
  auto r = Build({a.address(), b.address()},
                 "check = \"tcp\"\ninterval = \"100ms\"\ntimeout = \"100ms\"");
  const absl::Time t0 = absl::Now();
  auto checker = StartChecker(r);
  absl::SleepFor(absl::Seconds(1));
  checker->Stop();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - t0);
  for (size_t i = 0; i < 2; ++i) {
    const uint64_t checks = B(r, i).checks_ok.load() + B(r, i).checks_failed.load();
    // At most one per 0.9 interval (plus the first, at a random offset); never one per thread.
    EXPECT_LE(checks, static_cast<uint64_t>(seconds / 0.09) + 1) << i;
    EXPECT_GE(checks, 3u) << i;
  }
}

TEST(HealthChecker, PassiveEjectionNeverExceedsMaxEjectionPercent) {
  Port p0(true), p1(true), p2(true), p3(true);
  auto r = Build({p0.address(), p1.address(), p2.address(), p3.address()},
                 "check = \"none\"\npassive_failures = 3\nejection_time = \"100ms\"\n"
                 "max_ejection_time = \"100ms\"\nmax_ejection_percent = 50");
  auto checker = StartChecker(r);
  auto ejected = [&] {
    int n = 0;
    for (size_t i = 0; i < 4; ++i) n += B(r, i).ejected.load() ? 1 : 0;
    return n;
  };
  auto fail_all = [&] {
    for (size_t i = 0; i < 4; ++i) {
      if (!B(r, i).ejected.load()) {
        for (int k = 0; k < 3; ++k) MutableB(r, i).RecordFailure(PassiveFailure::kConnectRefused);
      }
    }
  };
  fail_all();
  ASSERT_TRUE(WaitFor([&] { return ejected() == 2; }));
  // Every backend keeps failing: they take turns, never more than 2 out at once.
  int most = 0;
  ASSERT_TRUE(WaitFor([&] {
    fail_all();
    most = std::max(most, ejected());
    // Which backends take the turns depends on the sweep's timing: wait until all four have.
    bool everyone = true;
    for (size_t i = 0; i < 4; ++i) everyone = everyone && B(r, i).ejections.load() >= 1;
    return everyone;
  }));
  EXPECT_LE(most, 2);
  for (size_t i = 0; i < 4; ++i) EXPECT_GE(B(r, i).ejections.load(), 1u) << i;
}

TEST(HealthChecker, RepeatedEjectionsDoubleUpToTheCapAndEnd) {
  Port p0(true), p1(true);
  auto r = Build({p0.address(), p1.address()},
                 "check = \"none\"\npassive_failures = 2\nejection_time = \"50ms\"\n"
                 "max_ejection_time = \"150ms\"\nmax_ejection_percent = 50");
  auto checker = StartChecker(r);
  std::vector<int64_t> lengths;
  for (int round = 0; round < 4; ++round) {
    MutableB(r, 0).RecordFailure(PassiveFailure::kReset);
    MutableB(r, 0).RecordFailure(PassiveFailure::kReset);
    ASSERT_TRUE(WaitFor([&] { return B(r, 0).ejections.load() == uint64_t(round + 1); }));
    EXPECT_FALSE(B(r, 0).healthy.load());
    EXPECT_EQ(B(r, 0).consecutive_failures.load(), 0u);  // a fresh count after the ejection
    lengths.push_back(B(r, 0).ejection_ns.load() / kMs);
    ASSERT_TRUE(WaitFor([&] { return B(r, 0).healthy.load(); }));
    EXPECT_FALSE(B(r, 0).ejected.load());
  }
  EXPECT_EQ(lengths, (std::vector<int64_t>{50, 100, 150, 150}));
  EXPECT_TRUE(B(r, 1).healthy.load());
}

TEST(HealthChecker, ASuccessfulConnectClearsTheCount) {
  Port p0(true), p1(true);
  auto r = Build({p0.address(), p1.address()},
                 "check = \"none\"\npassive_failures = 3\nmax_ejection_percent = 100");
  auto checker = StartChecker(r);
  Backend& b = MutableB(r, 0);
  for (int i = 0; i < 20; ++i) {
    b.RecordFailure(PassiveFailure::kConnectTimeout);
    b.RecordFailure(PassiveFailure::kConnectTimeout);
    b.RecordConnectSuccess();
  }
  EXPECT_EQ(b.consecutive_failures.load(), 0u);
  b.RecordFailure(PassiveFailure::kConnectTimeout);
  b.RecordFailure(PassiveFailure::kConnectTimeout);
  b.RecordFailure(PassiveFailure::kConnectTimeout);
  ASSERT_TRUE(WaitFor([&] { return b.ejected.load(); }));
  EXPECT_EQ(b.ejections.load(), 1u);
}

TEST(HealthChecker, PassiveIsOffWithCheckNoneUnlessSet) {
  Port p0(true), p1(true);
  auto r = Build({p0.address(), p1.address()}, "check = \"none\"");
  EXPECT_EQ(r->pools[0]->config.health.passive_failures, 0);
  auto checker = StartChecker(r);
  for (int i = 0; i < 100; ++i) MutableB(r, 0).RecordFailure(PassiveFailure::kConnectRefused);
  absl::SleepFor(absl::Milliseconds(100));  // ten sweeps would have ejected it
  EXPECT_FALSE(B(r, 0).ejected.load());
  EXPECT_TRUE(B(r, 0).healthy.load());
}

TEST(HealthChecker, AllBackendsDownLeavesTheBalancerNothingToPick) {
  Port d0(false), d1(false);
  auto r = Build({d0.address(), d1.address()},
                 "check = \"tcp\"\ninterval = \"30ms\"\ntimeout = \"30ms\"\nfall = 1");
  auto checker = StartChecker(r);
  ASSERT_TRUE(WaitFor([&] { return !B(r, 0).healthy.load() && !B(r, 1).healthy.load(); }));
  auto client = net::SocketAddress::Parse("192.0.2.1:5555");
  for (int port = 0; port < 50; ++port) {
    EXPECT_EQ(r->pools[0]->balancer->Pick(*client, {}), -1);
  }
}

TEST(HealthChecker, UpdateKeepsStateOfKeptBackendsAndTurningChecksOffRestoresThem) {
  Port live(true), dead(false);
  const std::string checks =
      "check = \"tcp\"\ninterval = \"30ms\"\ntimeout = \"30ms\"\nfall = 1\nrise = 50";
  auto r1 = Build({live.address(), dead.address()}, checks);
  auto checker = StartChecker(r1);
  ASSERT_TRUE(WaitFor([&] { return !B(r1, 1).healthy.load(); }));
  // Same config again: the Backend objects are kept, and so is their state.
  auto r2 = Build({live.address(), dead.address()}, checks, r1.get());
  ASSERT_EQ(&B(r2, 1), &B(r1, 1));
  checker->Update(r2);
  const uint64_t failed = B(r2, 1).checks_failed.load();
  ASSERT_TRUE(WaitFor([&] { return B(r2, 1).checks_failed.load() >= failed + 3; }));
  EXPECT_FALSE(B(r2, 1).healthy.load());
  // Checks off: everyone is up again, at once.
  auto r3 = Build({live.address(), dead.address()}, "check = \"none\"", r2.get());
  checker->Update(r3);
  ASSERT_TRUE(WaitFor([&] { return B(r3, 1).healthy.load(); }));
  EXPECT_TRUE(B(r3, 1).check_up.load());
}

TEST(HealthChecker, UpdateDropsRemovedBackendsAndChecksNewOnes) {
  Port a(true), b(false), c(false);
  const std::string checks = "check = \"tcp\"\ninterval = \"30ms\"\ntimeout = \"30ms\"\nfall = 1";
  auto r1 = Build({a.address(), b.address()}, checks);
  auto checker = StartChecker(r1);
  ASSERT_TRUE(WaitFor([&] { return !B(r1, 1).healthy.load(); }));
  auto r2 = Build({a.address(), c.address()}, checks, r1.get());
  checker->Update(r2);
  ASSERT_TRUE(WaitFor([&] { return !B(r2, 1).healthy.load(); }));  // the new one is checked
  const uint64_t b_checks = B(r1, 1).checks_failed.load();
  absl::SleepFor(absl::Milliseconds(150));
  EXPECT_LE(B(r1, 1).checks_failed.load(), b_checks + 1);  // at most the one in flight
}

TEST(HealthChecker, StopCancelsProbesInFlightPromptly) {
  Port silent(true);  // handshakes complete, no http answer ever comes
  auto r = Build({silent.address()}, "check = \"http\"\ninterval = \"10s\"\ntimeout = \"10s\"");
  auto checker = StartChecker(r);
  absl::SleepFor(absl::Milliseconds(50));
  const absl::Time t0 = absl::Now();
  checker->Stop();
  EXPECT_LT(absl::Now() - t0, absl::Seconds(3));
  checker.reset();
}

}  // namespace
}  // namespace edge::l4
