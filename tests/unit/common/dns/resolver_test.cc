// The Resolver on a real ring against a DNS server this test owns (a UDP socket on loopback,
// answered by a thread from a fixed table): answers, TTLs, SRV, NXDOMAIN, a silent server, and a
// resolver destroyed with a query in flight. No external network, no fixed ports.
#include "common/dns/resolver.h"

#include <gtest/gtest.h>

#include <optional>

#include "tests/unit/common/dns/fake_dns_server.h"

namespace edge::dns {
namespace {

using testing::FakeDnsServer;

class ResolverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loop = uring::EventLoop::Create(uring::RingOptions{64, 256});
    ASSERT_TRUE(loop.ok()) << loop.status();
    loop_ = std::move(*loop);
  }

  // Resolves `target` and runs the loop until the answer (or 5s: a failure).
  absl::StatusOr<Answer> ResolveOnce(const DnsConfig& config, const DnsTarget& target) {
    auto resolver = Resolver::Create(loop_.get(), config);
    if (!resolver.ok()) return resolver.status();
    std::optional<absl::StatusOr<Answer>> result;
    (*resolver)->Resolve(target, [&](absl::StatusOr<Answer> a) {
      result = std::move(a);
      loop_->Stop();
    });
    uring::Timer guard([](void* l) { static_cast<uring::EventLoop*>(l)->Stop(); }, loop_.get());
    loop_->timers().Schedule(&guard, uring::MonotonicNowNs() + 5'000'000'000);
    if (!result) {
      EXPECT_TRUE(loop_->Run().ok());
    }
    loop_->timers().Cancel(&guard);
    EXPECT_EQ((*resolver)->pending(), 0u);
    (*resolver)->LoopStopped();
    if (!result) return absl::DeadlineExceededError("no answer within 5s");
    return *std::move(result);
  }

  std::unique_ptr<uring::EventLoop> loop_;
};

TEST_F(ResolverTest, HostNameGivesEveryAddressOnThePortWithTheTtl) {
  FakeDnsServer dns;
  dns.a["api.internal"] = {"127.0.0.3", "127.0.0.2"};
  dns.ttl = 7;
  dns.Start();
  auto answer = ResolveOnce(dns.Config(), *ParseHostTarget("api.internal:8080"));
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(DescribeEndpoints(answer->endpoints), "127.0.0.2:8080 127.0.0.3:8080");
  EXPECT_EQ(answer->ttl_s, 7u);
}

TEST_F(ResolverTest, SrvGivesTargetsPortsAndWeights) {
  FakeDnsServer dns;
  dns.srv["_http._tcp.api.internal"] = {
      {0, 3, 9001, "a.internal"}, {0, 1, 9002, "b.internal"}, {5, 1, 9003, "c.internal"}};
  dns.a["a.internal"] = {"127.0.0.5"};
  dns.a["b.internal"] = {"127.0.0.6"};
  dns.a["c.internal"] = {"127.0.0.7"};
  dns.Start();
  auto answer = ResolveOnce(dns.Config(), *ParseSrvTarget("_http._tcp.api.internal"));
  ASSERT_TRUE(answer.ok()) << answer.status();
  EXPECT_EQ(DescribeEndpoints(answer->endpoints), "127.0.0.5:9001(w=3) 127.0.0.6:9002");
  EXPECT_EQ(answer->ttl_s, 30u);
}

TEST_F(ResolverTest, UnknownNameIsNotFound) {
  FakeDnsServer dns;
  dns.Start();
  auto answer = ResolveOnce(dns.Config(), *ParseHostTarget("missing.internal:80"));
  EXPECT_TRUE(absl::IsNotFound(answer.status())) << answer.status();
  EXPECT_NE(answer.status().message().find("missing.internal"), std::string_view::npos);
}

TEST_F(ResolverTest, SilentServerIsUnavailableAfterTheTimeout) {
  FakeDnsServer dns;
  dns.silent = true;
  dns.Start();
  const int64_t start = uring::MonotonicNowNs();
  auto answer = ResolveOnce(dns.Config(), *ParseHostTarget("api.internal:80"));
  EXPECT_TRUE(absl::IsUnavailable(answer.status())) << answer.status();
  EXPECT_GE(uring::MonotonicNowNs() - start, 90'000'000);  // the 100ms timeout, from the wheel
  EXPECT_GE(dns.queries.load(), 1);
}

TEST_F(ResolverTest, DestroyedWithAQueryInFlightCallsNothing) {
  FakeDnsServer dns;
  dns.silent = true;
  dns.Start();
  auto resolver = Resolver::Create(loop_.get(), dns.Config());
  ASSERT_TRUE(resolver.ok());
  bool called = false;
  (*resolver)->Resolve(*ParseHostTarget("api.internal:80"),
                       [&](absl::StatusOr<Answer>) { called = true; });
  // Let the query go out (its socket's POLL_ADD is in the ring), then destroy the resolver with
  // the loop still running, as a server does: the cancelled poll's completion frees the watcher
  // (LeakSanitizer checks it).
  uring::Timer destroy([](void* r) { static_cast<std::unique_ptr<Resolver>*>(r)->reset(); },
                       &*resolver);
  uring::Timer stop([](void* l) { static_cast<uring::EventLoop*>(l)->Stop(); }, loop_.get());
  loop_->timers().Schedule(&destroy, uring::MonotonicNowNs() + 20'000'000);
  loop_->timers().Schedule(&stop, uring::MonotonicNowNs() + 60'000'000);
  ASSERT_TRUE(loop_->Run().ok());
  EXPECT_FALSE(called);
}

}  // namespace
}  // namespace edge::dns
