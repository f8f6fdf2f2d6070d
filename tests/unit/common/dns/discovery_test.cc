// Discovery against a DNS server this test owns (fake_dns_server.h): an answer is refreshed after
// its TTL (floored by refresh_min), a change is reported once, the same answer is not reported,
// and a server that stops answering keeps the last answer in force and counts the failures.
// Waits are for events (a bounded loop run), never sleeps for ordering.
#include "common/dns/discovery.h"

#include <gtest/gtest.h>

#include "tests/unit/common/dns/fake_dns_server.h"

namespace edge::dns {
namespace {

using testing::FakeDnsServer;

class DiscoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loop = uring::EventLoop::Create(uring::RingOptions{64, 256});
    ASSERT_TRUE(loop.ok()) << loop.status();
    loop_ = std::move(*loop);
  }

  // Runs the loop once (EventLoop::Stop is final), calling `step()` every 10ms until it returns
  // true (the scenario is done) or 5s pass. True when the scenario finished.
  bool Run(const std::function<bool()>& step) {
    struct Check {
      DiscoveryTest* test;
      const std::function<bool()>* step;
      int64_t deadline;
      bool finished = false;
      uring::Timer timer{&Fire, this};
      static void Fire(void* self) {
        auto* c = static_cast<Check*>(self);
        c->finished = (*c->step)();
        if (c->finished || uring::MonotonicNowNs() > c->deadline) {
          c->test->loop_->Stop();
          return;
        }
        c->test->loop_->timers().Schedule(&c->timer, uring::MonotonicNowNs() + 10'000'000);
      }
    } check{this, &step, uring::MonotonicNowNs() + 5'000'000'000};
    loop_->timers().Schedule(&check.timer, uring::MonotonicNowNs());
    EXPECT_TRUE(loop_->Run().ok());
    loop_->timers().Cancel(&check.timer);
    return check.finished;
  }

  std::unique_ptr<Discovery> Make(FakeDnsServer& dns, RefreshBounds bounds) {
    auto resolver = Resolver::Create(loop_.get(), dns.Config());
    EXPECT_TRUE(resolver.ok());
    return std::make_unique<Discovery>(
        loop_.get(), std::move(*resolver), bounds,
        [this](const AnswerMap& answers) { changes_.push_back(answers); }, &stats_);
  }

  std::unique_ptr<uring::EventLoop> loop_;
  std::vector<AnswerMap> changes_;
  DnsStats stats_;
};

TEST_F(DiscoveryTest, ReportsAChangeOnceAndRefreshesByTtl) {
  FakeDnsServer dns;
  {
    std::lock_guard<std::mutex> lock(dns.mu);
    dns.a["api.internal"] = {"127.0.0.2"};
    dns.ttl = 0;  // refreshed at refresh_min
  }
  dns.Start();
  auto discovery = Make(dns, {absl::Milliseconds(100), absl::Seconds(1)});
  discovery->Watch({*ParseHostTarget("api.internal:80")}, {});
  int phase = 0;
  const bool finished = Run([&] {
    if (phase == 0 && changes_.size() == 1) {
      EXPECT_EQ(DescribeEndpoints(changes_[0].at("api.internal:80").endpoints), "127.0.0.2:80");
      phase = 1;
    }
    // The same answer refreshed several times (TTL 0: every refresh_min) is not a change.
    if (phase == 1 && stats_.resolutions_ok.load() >= 4) {
      EXPECT_EQ(changes_.size(), 1u);
      std::lock_guard<std::mutex> lock(dns.mu);
      dns.a["api.internal"] = {"127.0.0.2", "127.0.0.3"};
      phase = 2;
    }
    return phase == 2 && changes_.size() == 2;
  });
  ASSERT_TRUE(finished) << "phase " << phase;
  EXPECT_EQ(DescribeEndpoints(changes_[1].at("api.internal:80").endpoints),
            "127.0.0.2:80 127.0.0.3:80");
  EXPECT_EQ(stats_.changes.load(), 2u);
  discovery->LoopStopped();
}

TEST_F(DiscoveryTest, AFailureKeepsTheLastAnswerAndRetries) {
  FakeDnsServer dns;
  {
    std::lock_guard<std::mutex> lock(dns.mu);
    dns.a["api.internal"] = {"127.0.0.2"};
  }
  dns.Start();
  auto discovery = Make(dns, {absl::Milliseconds(100), absl::Milliseconds(200)});
  // Known at start (as after lb4's/gw7's startup resolution): TTL 30, but refresh_max is 200ms.
  AnswerMap known;
  known["api.internal:80"].endpoints = {{*net::SocketAddress::Parse("127.0.0.2:80"), 1}};
  known["api.internal:80"].ttl_s = 30;
  discovery->Watch({*ParseHostTarget("api.internal:80")}, known);
  int phase = 0;
  const bool finished = Run([&] {
    if (phase == 0 && stats_.resolutions_ok.load() >= 1) {  // refreshed within refresh_max
      std::lock_guard<std::mutex> lock(dns.mu);
      dns.silent = true;
      phase = 1;
    }
    return phase == 1 && stats_.resolutions_failed.load() >= 2;
  });
  ASSERT_TRUE(finished) << "phase " << phase;
  EXPECT_TRUE(changes_.empty());  // the known answer was confirmed, then kept
  EXPECT_EQ(DescribeEndpoints(discovery->answers().at("api.internal:80").endpoints),
            "127.0.0.2:80");
  auto targets = stats_.targets();
  EXPECT_TRUE(targets.at("api.internal:80").failing);
  EXPECT_EQ(targets.at("api.internal:80").endpoints, 1u);
  discovery->LoopStopped();
}

}  // namespace
}  // namespace edge::dns
