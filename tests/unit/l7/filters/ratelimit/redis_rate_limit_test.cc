// The Redis store against a real redis-server started on a free loopback port: RESP pipelining,
// the GCRA script's counts, one limit shared by two event loops, a flushed script cache, Redis
// stopped mid-test (failure open / closed, then reconnect), and a slow Redis (frozen with SIGSTOP)
// hitting the per-request timeout.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_format.h"
#include "common/config/toml.h"
#include "l7/filters/ratelimit/rate_limit_filter.h"
#include "l7/filters/ratelimit/rate_limit_filter_factory.h"
#include "l7/filters/ratelimit/redis_client.h"
#include "l7/filters/ratelimit/redis_rate_limiter.h"
#include "tests/unit/l7/filters/auth/fake_request.h"
#include "tests/unit/l7/filters/ratelimit/redis_test_support.h"

namespace edge::l7 {
namespace {

using testing::Collector;
using testing::LoopThread;
using testing::RedisServer;

class RedisStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.Start()) << "redis-server did not start"; }

  RedisClient::Options Options(absl::Duration timeout = absl::Milliseconds(500)) {
    RedisClient::Options o;
    o.address = net::SocketAddress::Parse(server_.address()).value();
    o.timeout = timeout;
    o.min_backoff = absl::Milliseconds(20);
    o.max_backoff = absl::Milliseconds(100);
    return o;
  }

  // Runs `checks` limiter checks on `thread`, returning the decisions (or errors) in order.
  std::vector<absl::StatusOr<GcraDecision>> Checks(LoopThread& thread, RedisRateLimiter& limiter,
                                                   const GcraPolicy& policy, const std::string& key,
                                                   int checks) {
    auto results = std::make_shared<Collector<absl::StatusOr<GcraDecision>>>();
    thread.Call([&] {
      for (int i = 0; i < checks; ++i) {
        bool taken = limiter.Check(policy, key,
                                   [results](absl::StatusOr<GcraDecision> d) { results->Add(d); });
        if (!taken) results->Add(absl::UnavailableError("refused at once"));
      }
    });
    return results->WaitFor(static_cast<size_t>(checks));
  }

  // Destroys the limiters on their loop and waits until their clients have no I/O in flight.
  void Release(LoopThread& thread, std::shared_ptr<RedisRateLimiter>& limiter) {
    std::weak_ptr<RedisClient> client;
    thread.Call([&] {
      client = limiter->client().weak_from_this();
      limiter.reset();  // shuts the client down; it lives on until its I/O has completed
    });
    ASSERT_TRUE(thread.WaitUntil([&] { return client.expired(); }, std::chrono::seconds(5)));
  }

  RedisServer server_;
};

TEST_F(RedisStoreTest, PipelinedRepliesMatchTheirCommands) {
  LoopThread thread;
  std::shared_ptr<RedisClient> client;
  auto replies = std::make_shared<Collector<RedisReply>>();
  thread.Call([&] {
    client = RedisClient::Create(thread.loop(), Options());
    // Queued while connecting, written in one batch once connected.
    for (int i = 0; i < 500; ++i) {
      ASSERT_TRUE(client->Command({"INCR", "counter"}, [replies](absl::StatusOr<RedisReply> r) {
        replies->Add(r.ok() ? *r : RedisReply{});
      }));
    }
    client->Command({"PING"}, [replies](absl::StatusOr<RedisReply> r) {
      replies->Add(r.ok() ? *r : RedisReply{});
    });
    client->Command({"SET", "bin\r\nkey", std::string("a\0b", 3)},
                    [replies](absl::StatusOr<RedisReply> r) { replies->Add(*r); });
    client->Command({"GET", "bin\r\nkey"},
                    [replies](absl::StatusOr<RedisReply> r) { replies->Add(*r); });
    client->Command({"NOSUCHCOMMAND"},
                    [replies](absl::StatusOr<RedisReply> r) { replies->Add(*r); });
  });
  auto all = replies->WaitFor(504);
  ASSERT_EQ(all.size(), 504u);
  for (int i = 0; i < 500; ++i) {
    ASSERT_EQ(all[i].type, RedisReply::Type::kInteger);
    EXPECT_EQ(all[i].integer, i + 1);
  }
  EXPECT_EQ(all[500].type, RedisReply::Type::kStatus);
  EXPECT_EQ(all[500].str, "PONG");
  EXPECT_EQ(all[502].str, std::string("a\0b", 3));
  EXPECT_EQ(all[503].type, RedisReply::Type::kError);
  thread.Call([&] {
    EXPECT_TRUE(client->connected());
    EXPECT_EQ(client->stats().replies, 504u);
    client->Shutdown();
  });
  ASSERT_TRUE(thread.WaitUntil([&] { return client->idle(); }, std::chrono::seconds(5)));
  thread.Call([&] { client.reset(); });
}

TEST_F(RedisStoreTest, ScriptHoldsTheLimitExactly) {
  LoopThread thread;
  std::shared_ptr<RedisRateLimiter> limiter;
  thread.Call([&] {
    limiter =
        std::make_shared<RedisRateLimiter>(RedisClient::Create(thread.loop(), Options()), "t1:");
  });
  const GcraPolicy policy = GcraPolicy::Make(10, absl::Minutes(1), 2);
  auto results = Checks(thread, *limiter, policy, "alice", 20);
  ASSERT_EQ(results.size(), 20u);
  int allowed = 0;
  for (size_t i = 0; i < results.size(); ++i) {
    ASSERT_TRUE(results[i].ok()) << results[i].status();
    if (results[i]->allowed) {
      EXPECT_EQ(results[i]->remaining, 11 - allowed) << i;
      ++allowed;
    } else {
      EXPECT_GT(results[i]->retry_after_ns, 0);
      EXPECT_LE(results[i]->retry_after_ns, 6'000'000'000);
    }
  }
  EXPECT_EQ(allowed, 12);  // limit + burst, none refilled within the test (one per 6 s)
  // The key expires by itself once its bucket is full again (PX set by the script).
  const std::string ttl = server_.Send("PTTL t1:alice");
  ASSERT_EQ(ttl[0], ':');
  EXPECT_GT(std::stoll(ttl.substr(1)), 60'000);
  EXPECT_LE(std::stoll(ttl.substr(1)), 72'001);
  Release(thread, limiter);
}

TEST_F(RedisStoreTest, TwoLoopsShareOneLimit) {
  LoopThread a, b;
  std::shared_ptr<RedisRateLimiter> la, lb;
  a.Call([&] {
    la = std::make_shared<RedisRateLimiter>(RedisClient::Create(a.loop(), Options()), "t2:");
  });
  b.Call([&] {
    lb = std::make_shared<RedisRateLimiter>(RedisClient::Create(b.loop(), Options()), "t2:");
  });
  const GcraPolicy policy = GcraPolicy::Make(30, absl::Minutes(1), 0);
  auto ra = std::make_shared<Collector<bool>>();
  auto rb = std::make_shared<Collector<bool>>();
  // Both loops fire 40 checks at the same key concurrently.
  std::thread ta([&] {
    a.Call([&] {
      for (int i = 0; i < 40; ++i)
        la->Check(policy, "shared",
                  [ra](absl::StatusOr<GcraDecision> d) { ra->Add(d.ok() && d->allowed); });
    });
  });
  std::thread tb([&] {
    b.Call([&] {
      for (int i = 0; i < 40; ++i)
        lb->Check(policy, "shared",
                  [rb](absl::StatusOr<GcraDecision> d) { rb->Add(d.ok() && d->allowed); });
    });
  });
  ta.join();
  tb.join();
  auto va = ra->WaitFor(40);
  auto vb = rb->WaitFor(40);
  ASSERT_EQ(va.size() + vb.size(), 80u);
  int allowed = 0;
  for (bool x : va) allowed += x;
  for (bool x : vb) allowed += x;
  EXPECT_EQ(allowed, 30);
  Release(a, la);
  Release(b, lb);
}

TEST_F(RedisStoreTest, FlushedScriptIsLoadedAgain) {
  LoopThread thread;
  std::shared_ptr<RedisRateLimiter> limiter;
  thread.Call([&] {
    limiter =
        std::make_shared<RedisRateLimiter>(RedisClient::Create(thread.loop(), Options()), "t3:");
  });
  const GcraPolicy policy = GcraPolicy::Make(100, absl::Minutes(1), 0);
  ASSERT_TRUE(Checks(thread, *limiter, policy, "k", 1)[0].ok());
  EXPECT_EQ(server_.Send("SCRIPT FLUSH"), "+OK");
  auto after = Checks(thread, *limiter, policy, "k", 3);
  for (const auto& d : after) {
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_TRUE(d->allowed);
  }
  EXPECT_EQ(after.back()->remaining, 96);
  EXPECT_EQ(server_.Send("SCRIPT EXISTS " + RedisRateLimiter::ScriptSha1()), "*1");
  Release(thread, limiter);
}

class RecordingResumer : public Resumer {
 public:
  explicit RecordingResumer(std::shared_ptr<Collector<FilterStatus>> out) : out_(std::move(out)) {}
  void Resume(FilterStatus status) override { out_->Add(status); }

 private:
  std::shared_ptr<Collector<FilterStatus>> out_;
};

// One request through a filter on the loop: the filter's immediate answer or, if it suspended,
// the resumed one.
struct FilterRun {
  FilterStatus status;
  bool suspended;
  std::vector<std::pair<std::string, std::string>> headers;
  int stop_status;
};

FilterRun RunFilter(LoopThread& thread, Filter& filter) {
  auto resumed = std::make_shared<Collector<FilterStatus>>();
  auto request = std::make_shared<testing::FakeRequest>();
  auto ctx = std::make_shared<FilterContext>(*request);
  auto resumer = std::make_shared<RecordingResumer>(resumed);
  FilterStatus first = FilterStatus::kContinue;
  thread.Call([&] { first = filter.OnRequest(*ctx, resumer.get()); });
  FilterRun run{first, first == FilterStatus::kSuspend, {}, 0};
  if (run.suspended) {
    auto v = resumed->WaitFor(1);
    run.status = v.empty() ? FilterStatus::kSuspend : v[0];
  }
  thread.Call([&] {
    run.headers = ctx->response_headers;
    run.stop_status = ctx->stop_status;
  });
  return run;
}

TEST_F(RedisStoreTest, RedisStoppedMidTestFollowsTheFailurePolicyThenRecovers) {
  LoopThread thread;
  const std::string text = absl::StrFormat(R"(
[[rate_limit]]
name = "open"
key = "client_ip"
limit = 100
per = "1m"
store = "redis"
failure = "open"
[[rate_limit]]
name = "closed"
key = "client_ip"
limit = 100
per = "1m"
store = "redis"
failure = "closed"
[redis]
address = "%s"
timeout = "200ms"
)",
                                           server_.address());
  std::shared_ptr<RateLimitRegistry> registry;
  std::vector<std::unique_ptr<Filter>> open, closed;
  thread.Call([&] {
    auto doc = config::ParseToml(text, "gateway.toml");
    registry = *BuildRateLimitRegistry(*doc, "gateway.toml", thread.loop());
    RouteConfig route;
    route.name = "r";
    route.rate_limit = "open";
    open = *MakeRateLimitFilters(*registry, route);
    route.rate_limit = "closed";
    closed = *MakeRateLimitFilters(*registry, route);
  });
  FilterRun up = RunFilter(thread, *open[0]);
  EXPECT_TRUE(up.suspended);
  EXPECT_EQ(up.status, FilterStatus::kContinue);
  EXPECT_EQ(testing::FindHeader(up.headers, "RateLimit-Remaining"), "99");

  server_.Stop();
  FilterRun open_down = RunFilter(thread, *open[0]);
  EXPECT_EQ(open_down.status, FilterStatus::kContinue);
  EXPECT_EQ(testing::FindHeader(open_down.headers, "RateLimit-Limit"), "");
  FilterRun closed_down = RunFilter(thread, *closed[0]);
  EXPECT_EQ(closed_down.status, FilterStatus::kStop);
  EXPECT_EQ(closed_down.stop_status, 503);
  EXPECT_EQ(testing::FindHeader(closed_down.headers, "Retry-After"), "1");
  thread.Call([&] {
    EXPECT_EQ(registry->policies.at("open")->counters.failed_open.load(), 1u);
    EXPECT_EQ(registry->policies.at("closed")->counters.failed_closed.load(), 1u);
    EXPECT_GE(registry->redis->client().stats().disconnects, 1u);
    metrics::PrometheusText metrics;
    WriteRateLimitMetrics(*registry, &metrics);
    EXPECT_THAT(metrics.text(), ::testing::HasSubstr("gw7_redis_connected 0"));
  });

  // Redis comes back on the same port: the client reconnects by itself (back-off <= 2 s).
  ASSERT_TRUE(server_.Start());
  ASSERT_TRUE(thread.WaitUntil([&] { return registry->redis->client().connected(); },
                               std::chrono::seconds(10)));
  FilterRun back = RunFilter(thread, *closed[0]);
  EXPECT_EQ(back.status, FilterStatus::kContinue);
  EXPECT_EQ(testing::FindHeader(back.headers, "RateLimit-Remaining"), "99");  // a fresh Redis

  std::weak_ptr<RedisClient> client;
  thread.Call([&] {
    client = registry->redis->client().weak_from_this();
    open.clear();
    closed.clear();
    registry.reset();
  });
  ASSERT_TRUE(thread.WaitUntil([&] { return client.expired(); }, std::chrono::seconds(5)));
}

TEST_F(RedisStoreTest, SlowRedisTimesOutAndTheConnectionSurvives) {
  LoopThread thread;
  std::shared_ptr<RedisRateLimiter> limiter;
  thread.Call([&] {
    limiter = std::make_shared<RedisRateLimiter>(
        RedisClient::Create(thread.loop(), Options(absl::Milliseconds(50))), "t5:");
  });
  const GcraPolicy policy = GcraPolicy::Make(100, absl::Hours(1), 0);  // no refill during the test
  ASSERT_TRUE(Checks(thread, *limiter, policy, "k", 1)[0].ok());
  server_.Pause();
  const auto start = std::chrono::steady_clock::now();
  auto slow = Checks(thread, *limiter, policy, "k", 1);
  const auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(slow[0].ok());
  EXPECT_EQ(slow[0].status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_LT(waited, std::chrono::milliseconds(1000));  // the 50 ms timeout, not a hang
  // Once Redis wakes up the late reply is dropped and the same connection serves again.
  server_.Resume();
  auto again = Checks(thread, *limiter, policy, "k", 1);
  ASSERT_TRUE(again[0].ok()) << again[0].status();
  EXPECT_EQ(again[0]->remaining, 97);  // the timed-out check still counted in Redis
  thread.Call([&] {
    EXPECT_EQ(limiter->client().stats().timeouts, 1u);
    EXPECT_EQ(limiter->client().stats().disconnects, 0u);
  });
  Release(thread, limiter);
}

TEST(RedisClientTest, NothingListeningFailsFast) {
  LoopThread thread;
  std::shared_ptr<RedisClient> client;
  auto results = std::make_shared<Collector<absl::Status>>();
  thread.Call([&] {
    RedisClient::Options o;
    o.address =
        net::SocketAddress::Parse("127.0.0.1:" + std::to_string(testing::FreeLoopbackPort()))
            .value();
    o.timeout = absl::Seconds(5);
    client = RedisClient::Create(thread.loop(), o);
    ASSERT_TRUE(client->Command(
        {"PING"}, [results](absl::StatusOr<RedisReply> r) { results->Add(r.status()); }));
  });
  auto v = results->WaitFor(1, std::chrono::seconds(2));  // refused: well before the 5 s timeout
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].code(), absl::StatusCode::kUnavailable);
  thread.Call([&] {
    EXPECT_FALSE(client->accepting());  // backing off: callers fail at once
    EXPECT_FALSE(client->Command({"PING"}, [](absl::StatusOr<RedisReply>) {}));
    client->Shutdown();
  });
  ASSERT_TRUE(thread.WaitUntil([&] { return client->idle(); }, std::chrono::seconds(5)));
  thread.Call([&] { client.reset(); });
}

TEST(RespTest, Encoding) {
  std::string out;
  AppendRespCommand({"SET", "k", std::string("\r\n", 2)}, &out);
  EXPECT_EQ(out, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n\r\n\r\n");
}

}  // namespace
}  // namespace edge::l7
