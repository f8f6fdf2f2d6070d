// SourceTable and SourceGuard (l4/protection/): the per-source arithmetic with an injected clock
// (every `now` is a plain number), eviction of idle entries in a full table, allow / deny.

#include "l4/protection/source_table.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "l4/config.h"
#include "l4/protection/source_guard.h"

namespace edge::l4 {
namespace {

using Verdict = SourceTable::Verdict;
constexpr int64_t kSec = 1'000'000'000;

SourceKey Key(const std::string& ip) {
  auto a = net::SocketAddress::ParseIp(ip, 1234);
  EXPECT_TRUE(a.ok()) << ip;
  return SourceKeyOf(*a);
}

TEST(SourceKey, IPv4IsItselfAndMappedIPv6IsItsIPv4) {
  EXPECT_EQ(Key("10.0.0.1"), Key("::ffff:10.0.0.1"));
  EXPECT_FALSE(Key("10.0.0.1") == Key("10.0.0.2"));
  EXPECT_FALSE(Key("0.0.0.0") == Key("::"));
}

TEST(SourceKey, IPv6IsKeyedByItsSlash64) {
  EXPECT_EQ(Key("2001:db8:1:2::1"), Key("2001:db8:1:2:ffff:ffff:ffff:ffff"));
  EXPECT_FALSE(Key("2001:db8:1:2::1") == Key("2001:db8:1:3::1"));
}

TEST(SourceTableLimits, RateArithmetic) {
  SourceTableLimits l = SourceTableLimits::Rate(0, 100, kSec, 50);
  EXPECT_EQ(l.emission_ns, 10'000'000);                              // 1s / 100
  EXPECT_EQ(l.tolerance_ns, 49 * 10'000'000);                        // (burst - 1) x emission
  EXPECT_EQ(SourceTableLimits::Rate(3, 0, kSec, 0).emission_ns, 0);  // no rate limit
  EXPECT_EQ(SourceTableLimits::Rate(0, 1000000, 1'000'000, 1).emission_ns, 1);  // never 0
  // 24h per token, a million tokens of burst: clamped instead of overflowing.
  SourceTableLimits huge = SourceTableLimits::Rate(0, 1, 86400 * kSec, 1000000);
  EXPECT_EQ(huge.tolerance_ns, int64_t{1} << 62);
}

TEST(SourceTable, ConcurrentConnectionsPerSourceAreCapped) {
  SourceTable t(16);
  const SourceTableLimits l{.max_concurrent = 2};
  auto a1 = t.Admit(Key("10.0.0.1"), l, 0);
  auto a2 = t.Admit(Key("10.0.0.1"), l, 0);
  EXPECT_EQ(a1.verdict, Verdict::kAdmitted);
  EXPECT_EQ(a2.verdict, Verdict::kAdmitted);
  EXPECT_EQ(t.Admit(Key("10.0.0.1"), l, 0).verdict, Verdict::kOverLimit);
  EXPECT_EQ(t.Admit(Key("10.0.0.2"), l, 0).verdict, Verdict::kAdmitted);  // others unaffected
  EXPECT_EQ(t.active(Key("10.0.0.1")), 2u);
  t.Release(a1.slot);
  EXPECT_EQ(t.active(Key("10.0.0.1")), 1u);
  EXPECT_EQ(t.Admit(Key("10.0.0.1"), l, 0).verdict, Verdict::kAdmitted);
  EXPECT_EQ(t.Admit(Key("10.0.0.1"), l, 0).verdict, Verdict::kOverLimit);
}

TEST(SourceTable, TokenBucketAllowsBurstThenRate) {
  SourceTable t(16);
  const SourceTableLimits l = SourceTableLimits::Rate(0, 2, kSec, 3);  // 2/s, burst 3
  const SourceKey k = Key("10.0.0.1");
  const int64_t t0 = 1000 * kSec;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(t.Admit(k, l, t0).verdict, Verdict::kAdmitted) << i;
  EXPECT_EQ(t.Admit(k, l, t0).verdict, Verdict::kOverRate);
  EXPECT_EQ(t.Admit(k, l, t0 + kSec / 2 - 1).verdict, Verdict::kOverRate);  // not yet a token
  EXPECT_EQ(t.Admit(k, l, t0 + kSec / 2).verdict, Verdict::kAdmitted);
  EXPECT_EQ(t.Admit(k, l, t0 + kSec / 2).verdict, Verdict::kOverRate);
  // Refused attempts cost nothing: after 1s more, exactly two.
  EXPECT_EQ(t.Admit(k, l, t0 + 3 * kSec / 2).verdict, Verdict::kAdmitted);
  EXPECT_EQ(t.Admit(k, l, t0 + 3 * kSec / 2).verdict, Verdict::kAdmitted);
  EXPECT_EQ(t.Admit(k, l, t0 + 3 * kSec / 2).verdict, Verdict::kOverRate);
  // A long pause refills the bucket to burst, not beyond.
  const int64_t later = t0 + 100 * kSec;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(t.Admit(k, l, later).verdict, Verdict::kAdmitted) << i;
  EXPECT_EQ(t.Admit(k, l, later).verdict, Verdict::kOverRate);
  EXPECT_EQ(t.Admit(Key("10.0.0.2"), l, later).verdict, Verdict::kAdmitted);
}

TEST(SourceTable, OverTheConnectionLimitSpendsNoToken) {
  SourceTable t(16);
  const SourceTableLimits l = SourceTableLimits::Rate(1, 1, kSec, 2);
  const SourceKey k = Key("10.0.0.1");
  auto first = t.Admit(k, l, 0);
  ASSERT_EQ(first.verdict, Verdict::kAdmitted);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(t.Admit(k, l, 0).verdict, Verdict::kOverLimit);
  t.Release(first.slot);
  EXPECT_EQ(t.Admit(k, l, 0).verdict, Verdict::kAdmitted);  // the second token was kept
}

TEST(SourceTable, AFullTableEvictsTheLeastRecentlyUsedIdleSource) {
  SourceTable t(3);
  const SourceTableLimits l = SourceTableLimits::Rate(0, 1, kSec, 1);
  for (const char* ip : {"10.0.0.1", "10.0.0.2", "10.0.0.3"}) {
    auto a = t.Admit(Key(ip), l, 0);
    ASSERT_EQ(a.verdict, Verdict::kAdmitted);
    t.Release(a.slot);
  }
  EXPECT_EQ(t.size(), 3u);
  EXPECT_EQ(t.Admit(Key("10.0.0.1"), l, 1).verdict, Verdict::kOverRate);  // touched: now newest
  EXPECT_EQ(t.Admit(Key("10.0.0.4"), l, 2).verdict, Verdict::kAdmitted);  // evicts .2
  EXPECT_EQ(t.size(), 3u);
  EXPECT_FALSE(t.contains(Key("10.0.0.2")));
  EXPECT_TRUE(t.contains(Key("10.0.0.1")));
  EXPECT_TRUE(t.contains(Key("10.0.0.3")));
  // An evicted source comes back with a full bucket (it loses its history, nothing else).
  EXPECT_EQ(t.Admit(Key("10.0.0.2"), l, 3).verdict, Verdict::kAdmitted);  // evicts .3
  EXPECT_FALSE(t.contains(Key("10.0.0.3")));
}

TEST(SourceTable, SourcesWithLiveConnectionsAreNeverEvictedAndNobodyIsRefusedForSpace) {
  SourceTable t(2);
  const SourceTableLimits l{.max_concurrent = 1};
  auto a = t.Admit(Key("10.0.0.1"), l, 0);
  auto b = t.Admit(Key("10.0.0.2"), l, 0);
  ASSERT_EQ(a.verdict, Verdict::kAdmitted);
  ASSERT_EQ(b.verdict, Verdict::kAdmitted);
  // Full of live sources: a newcomer is served, untracked, and no live count is lost.
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(t.Admit(Key("10.0.1." + std::to_string(i)), l, 0).verdict, Verdict::kUntracked);
  }
  EXPECT_EQ(t.active(Key("10.0.0.1")), 1u);
  EXPECT_EQ(t.Admit(Key("10.0.0.1"), l, 0).verdict, Verdict::kOverLimit);
  t.Release(a.slot);
  EXPECT_EQ(t.Admit(Key("10.0.1.0"), l, 0).verdict, Verdict::kAdmitted);  // took .1's entry
  EXPECT_FALSE(t.contains(Key("10.0.0.1")));
  EXPECT_EQ(t.active(Key("10.0.0.2")), 1u);
}

// Churn through a small table against a plain model: every lookup after thousands of evictions
// (backward-shift deletions in the index) still finds exactly the live sources.
TEST(SourceTable, ChurnKeepsTheIndexExact) {
  SourceTable t(64);
  const SourceTableLimits l{.max_concurrent = 1000};
  std::mt19937 rng(7);
  std::map<std::string, std::vector<uint32_t>> live;  // ip -> slots of its live connections
  for (int step = 0; step < 20000; ++step) {
    const std::string ip = "10.0." + std::to_string(rng() % 4) + "." + std::to_string(rng() % 64);
    if (rng() % 2 == 0 && !live[ip].empty()) {
      t.Release(live[ip].back());
      live[ip].pop_back();
      continue;
    }
    auto a = t.Admit(Key(ip), l, step);
    if (a.verdict == Verdict::kAdmitted) live[ip].push_back(a.slot);
    size_t live_sources = 0;
    for (const auto& [k, slots] : live) live_sources += slots.empty() ? 0 : 1;
    if (a.verdict == Verdict::kUntracked) {
      EXPECT_GE(live_sources, 64u);
    }
    ASSERT_LE(t.size(), 64u);
  }
  for (const auto& [ip, slots] : live) {
    EXPECT_EQ(t.active(Key(ip)), slots.size()) << ip;
  }
}

ListenerConfig Listener(std::vector<std::string> allow, std::vector<std::string> deny) {
  ListenerConfig c;
  for (const auto& a : allow) c.allow.push_back(*net::Cidr::Parse(a));
  for (const auto& d : deny) c.deny.push_back(*net::Cidr::Parse(d));
  return c;
}

std::optional<Refusal> Access(const SourceGuard& g, const std::string& ip) {
  return g.CheckAccess(*net::SocketAddress::ParseIp(ip, 1));
}

TEST(SourceGuard, DenyWinsAndAllowExcludesEverythingElse) {
  SourceGuard g(Listener({"10.0.0.0/8", "2001:db8::/32"}, {"10.9.0.0/16"}));
  EXPECT_EQ(Access(g, "10.1.2.3"), std::nullopt);
  EXPECT_EQ(Access(g, "::ffff:10.1.2.3"), std::nullopt);  // a dual-stack socket's IPv4 peer
  EXPECT_EQ(Access(g, "2001:db8::5"), std::nullopt);
  EXPECT_EQ(Access(g, "10.9.0.1"), Refusal::kDeny);
  EXPECT_EQ(Access(g, "192.0.2.1"), Refusal::kNotAllowed);
  EXPECT_EQ(Access(g, "2001:db9::5"), Refusal::kNotAllowed);
  SourceGuard deny_only(Listener({}, {"192.0.2.0/24"}));
  EXPECT_EQ(Access(deny_only, "192.0.2.9"), Refusal::kDeny);
  EXPECT_EQ(Access(deny_only, "198.51.100.1"), std::nullopt);  // no allow list: all others in
}

TEST(SourceGuard, ScreenChecksAccessBeforeThePerSourceLimits) {
  ListenerConfig c = Listener({}, {"10.9.0.0/16"});
  c.max_connections_per_source = 1;
  SourceGuard g(c);
  ASSERT_TRUE(g.per_source());
  SourceTable t(g.table_size());
  const auto denied = g.Screen(*net::SocketAddress::ParseIp("10.9.0.1", 1), &t, 0);
  EXPECT_EQ(denied.refusal, Refusal::kDeny);
  EXPECT_EQ(t.size(), 0u);  // a denied client takes no entry
  const auto first = g.Screen(*net::SocketAddress::ParseIp("10.1.0.1", 1), &t, 0);
  EXPECT_EQ(first.refusal, std::nullopt);
  EXPECT_EQ(first.verdict, Verdict::kAdmitted);
  EXPECT_EQ(g.Screen(*net::SocketAddress::ParseIp("10.1.0.1", 2), &t, 0).refusal,
            Refusal::kPerSourceLimit);
  EXPECT_EQ(RefusalName(Refusal::kPerSourceRate), "per_source_rate");
  EXPECT_EQ(RefusalName(Refusal::kNotAllowed), "not_allowed");
}

}  // namespace
}  // namespace edge::l4
