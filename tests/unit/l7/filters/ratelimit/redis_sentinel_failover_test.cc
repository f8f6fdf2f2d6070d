// RedisSentinel's state machine against scripted sentinels (fake_sentinel.h) and real
// redis-server processes on free loopback ports: a sentinel that refuses is skipped, a named
// server that is a replica is not used until ROLE says master, +switch-master moves the limiter
// to the new primary (counts land there), a primary demoted under us (READONLY or a dropped
// connection) sends gw7 back to the sentinels, and while no primary is known Check() refuses at
// once so that the failure policy answers.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "l7/filters/ratelimit/redis_rate_limiter.h"
#include "l7/filters/ratelimit/redis_sentinel.h"
#include "tests/unit/l7/filters/ratelimit/fake_sentinel.h"
#include "tests/unit/l7/filters/ratelimit/redis_test_support.h"

namespace edge::l7 {
namespace {

using testing::Collector;
using testing::FakeSentinel;
using testing::LoopThread;
using testing::RedisServer;

constexpr char kMaster[] = "edge";

class RedisSentinelFailoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(a_.Start()) << "redis-server did not start";
    ASSERT_TRUE(b_.Start()) << "redis-server did not start";
  }
  void TearDown() override {
    thread_.Call([&] { limiter_.reset(); });
    // The clients live on until their I/O has completed; the loop must outlive them.
    ASSERT_TRUE(
        thread_.WaitUntil([] { return RedisClient::live_count() == 0; }, std::chrono::seconds(5)));
  }

  void Start(std::vector<std::string> sentinels) {
    RedisSentinel::Options o;
    for (const std::string& s : sentinels) {
      o.sentinels.push_back(net::SocketAddress::Parse(s).value());
    }
    o.master = kMaster;
    o.timeout = absl::Milliseconds(500);
    o.retry_interval = absl::Milliseconds(20);
    o.recheck_interval = absl::Seconds(60);  // every switch here has another cause
    thread_.Call([&] { limiter_ = std::make_unique<RedisRateLimiter>(thread_.loop(), o, "t:"); });
  }

  std::string Primary() {
    std::string p;
    thread_.Call([&] { p = limiter_->sentinel()->primary_address(); });
    return p;
  }
  RedisSentinelStats Stats() {
    RedisSentinelStats s;
    thread_.Call([&] { s = limiter_->sentinel()->stats(); });
    return s;
  }
  bool WaitPrimary(const std::string& address) {
    return thread_.WaitUntil([&] { return limiter_->sentinel()->primary_address() == address; },
                             std::chrono::seconds(10));
  }

  // One check of `key`: the decision, or an error; "refused" when Check() did not take it.
  absl::StatusOr<GcraDecision> CheckOnce(const std::string& key) {
    auto results = std::make_shared<Collector<absl::StatusOr<GcraDecision>>>();
    const GcraPolicy policy = GcraPolicy::Make(3, absl::Hours(1), 0);
    thread_.Call([&] {
      if (!limiter_->Check(policy, key,
                           [results](absl::StatusOr<GcraDecision> d) { results->Add(d); })) {
        results->Add(absl::UnavailableError("refused"));
      }
    });
    auto got = results->WaitFor(1);
    if (got.empty()) return absl::DeadlineExceededError("no callback");
    return got[0];
  }

  RedisServer a_;
  RedisServer b_;
  LoopThread thread_;
  std::unique_ptr<RedisRateLimiter> limiter_;
};

TEST_F(RedisSentinelFailoverTest, FindsVerifiesAndFollowsThePrimary) {
  ASSERT_EQ(b_.Send("REPLICAOF 127.0.0.1 " + std::to_string(a_.port())), "+OK");
  FakeSentinel sentinel(kMaster);
  sentinel.SetMaster(b_.address());  // a stale view: it names the replica
  const std::string refusing = "127.0.0.1:" + std::to_string(testing::FreeLoopbackPort());
  Start({refusing, sentinel.address()});

  // The refusing sentinel is counted and skipped; the replica fails ROLE and is never used.
  ASSERT_TRUE(thread_.WaitUntil([&] { return limiter_->sentinel()->stats().stale_candidates >= 2; },
                                std::chrono::seconds(10)));
  EXPECT_GE(Stats().sentinel_errors, 1u);
  EXPECT_EQ(Primary(), "");
  auto refused = CheckOnce("k");
  EXPECT_EQ(refused.status().message(), "refused");  // the failure policy answers at once

  sentinel.SetMaster(a_.address());
  ASSERT_TRUE(WaitPrimary(a_.address()));
  EXPECT_EQ(Stats().failovers, 0u);
  ASSERT_TRUE(
      thread_.WaitUntil([&] { return sentinel.subscribers() == 1; }, std::chrono::seconds(10)));
  auto d = CheckOnce("before");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_TRUE(d->allowed);
  EXPECT_EQ(a_.Send("EXISTS t:before"), ":1");

  // Failover: B promoted, the sentinel announces it.
  ASSERT_EQ(b_.Send("REPLICAOF NO ONE"), "+OK");
  sentinel.SetMaster(b_.address());
  sentinel.PublishSwitch(a_.address(), b_.address());
  ASSERT_TRUE(WaitPrimary(b_.address()));
  EXPECT_EQ(Stats().failovers, 1u);
  EXPECT_EQ(Stats().switch_messages, 1u);
  d = CheckOnce("after");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(b_.Send("EXISTS t:after"), ":1");
  EXPECT_EQ(a_.Send("EXISTS t:after"), ":0");

  // B is demoted behind our back (no message): its READONLY answer sends us back to the
  // sentinel, which names A again.
  sentinel.SetMaster(a_.address());
  ASSERT_EQ(b_.Send("REPLICAOF 127.0.0.1 " + std::to_string(a_.port())), "+OK");
  // No periodic re-check in these tests (recheck_interval 60 s): the probe's answer does it.
  auto probe = CheckOnce("probe");
  ASSERT_FALSE(probe.ok());
  EXPECT_THAT(std::string(probe.status().message()), ::testing::HasSubstr("READONLY"));
  ASSERT_TRUE(WaitPrimary(a_.address()));
  EXPECT_EQ(Stats().failovers, 2u);
  d = CheckOnce("again");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(a_.Send("EXISTS t:again"), ":1");
}

TEST_F(RedisSentinelFailoverTest, PrimaryKilledIsLetGoAndTheNextOneFollowed) {
  FakeSentinel sentinel(kMaster);
  sentinel.SetMaster(a_.address());
  Start({sentinel.address()});
  ASSERT_TRUE(WaitPrimary(a_.address()));
  a_.Stop();
  // The lost connection lets the primary go at once; the sentinel still names the dead one, so
  // nothing is used and checks are refused until it names B.
  ASSERT_TRUE(thread_.WaitUntil([&] { return limiter_->sentinel()->primary_address().empty(); },
                                std::chrono::seconds(5)));
  EXPECT_EQ(CheckOnce("k").status().message(), "refused");
  sentinel.SetMaster(b_.address());
  ASSERT_TRUE(WaitPrimary(b_.address()));
  EXPECT_EQ(Stats().failovers, 1u);
  auto d = CheckOnce("k");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(b_.Send("EXISTS t:k"), ":1");
}

TEST_F(RedisSentinelFailoverTest, UnknownMasterIsASentinelError) {
  FakeSentinel sentinel(kMaster);  // names nothing: nil
  Start({sentinel.address()});
  ASSERT_TRUE(thread_.WaitUntil([&] { return limiter_->sentinel()->stats().sentinel_errors >= 2; },
                                std::chrono::seconds(5)));
  EXPECT_EQ(Primary(), "");
  EXPECT_GE(sentinel.questions(), 2);
}

}  // namespace
}  // namespace edge::l7
