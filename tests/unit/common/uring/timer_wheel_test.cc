#include "common/uring/timer_wheel.h"

#include <gtest/gtest.h>

#include <vector>

namespace edge::uring {
namespace {

constexpr int64_t kMs = 1'000'000;

struct Recorder {
  std::vector<int>* fired;
  int id;
  static void Fire(void* self) {
    auto* r = static_cast<Recorder*>(self);
    r->fired->push_back(r->id);
  }
};

TEST(TimerWheel, FiresAtOrAfterDeadlineInOrderOfTicks) {
  std::vector<int> fired;
  TimerWheel wheel(0);
  Recorder a{&fired, 1}, b{&fired, 2};
  Timer ta(&Recorder::Fire, &a), tb(&Recorder::Fire, &b);
  wheel.Schedule(&ta, 50 * kMs);
  wheel.Schedule(&tb, 20 * kMs);
  wheel.Advance(19 * kMs);
  EXPECT_TRUE(fired.empty());
  wheel.Advance(20 * kMs);
  EXPECT_EQ(fired, std::vector<int>({2}));
  wheel.Advance(49 * kMs);
  EXPECT_EQ(fired, std::vector<int>({2}));
  wheel.Advance(60 * kMs);
  EXPECT_EQ(fired, std::vector<int>({2, 1}));
  EXPECT_EQ(wheel.armed_count(), 0u);
  EXPECT_EQ(wheel.NextTimeoutNs(60 * kMs), -1);
}

TEST(TimerWheel, CancelAndRescheduleAreHonoured) {
  std::vector<int> fired;
  TimerWheel wheel(0);
  Recorder a{&fired, 1};
  Timer ta(&Recorder::Fire, &a);
  wheel.Schedule(&ta, 10 * kMs);
  wheel.Cancel(&ta);
  wheel.Advance(100 * kMs);
  EXPECT_TRUE(fired.empty());
  wheel.Schedule(&ta, 200 * kMs);
  wheel.Schedule(&ta, 300 * kMs);  // re-arming moves it
  wheel.Advance(250 * kMs);
  EXPECT_TRUE(fired.empty());
  wheel.Advance(300 * kMs);
  EXPECT_EQ(fired.size(), 1u);
}

TEST(TimerWheel, DeadlinesBeyondTheWheelSpanFireOnTime) {
  std::vector<int> fired;
  TimerWheel wheel(0, 10 * kMs, 16);  // spans 160 ms
  Recorder a{&fired, 1};
  Timer ta(&Recorder::Fire, &a);
  wheel.Schedule(&ta, 5000 * kMs);
  for (int64_t t = 0; t < 5000 * kMs; t += 7 * kMs) wheel.Advance(t);
  EXPECT_TRUE(fired.empty());
  wheel.Advance(5000 * kMs);
  EXPECT_EQ(fired.size(), 1u);
}

// A callback may cancel or destroy another timer due in the same tick: it must not fire.
struct Canceller {
  TimerWheel* wheel;
  Timer* victim;
  int calls = 0;
  static void Fire(void* self) {
    auto* c = static_cast<Canceller*>(self);
    ++c->calls;
    c->wheel->Cancel(c->victim);
  }
};

TEST(TimerWheel, CallbackCancellingASiblingInTheSameSlot) {
  TimerWheel wheel(0);
  Canceller c1{&wheel, nullptr}, c2{&wheel, nullptr};
  Timer t1(&Canceller::Fire, &c1), t2(&Canceller::Fire, &c2);
  c1.victim = &t2;
  c2.victim = &t1;
  wheel.Schedule(&t1, 10 * kMs);
  wheel.Schedule(&t2, 10 * kMs);
  wheel.Advance(10 * kMs);
  EXPECT_EQ(c1.calls + c2.calls, 1);
}

// A callback that re-arms its own timer for "now" must not loop forever within one Advance.
struct Rearmer {
  TimerWheel* wheel;
  Timer* self_timer;
  int64_t when;
  int calls = 0;
  static void Fire(void* self) {
    auto* r = static_cast<Rearmer*>(self);
    ++r->calls;
    r->wheel->Schedule(r->self_timer, r->when);
  }
};

TEST(TimerWheel, RearmingForNowWaitsForTheNextTick) {
  TimerWheel wheel(0);
  Rearmer r{&wheel, nullptr, 10 * kMs};
  Timer t(&Rearmer::Fire, &r);
  r.self_timer = &t;
  wheel.Schedule(&t, 10 * kMs);
  wheel.Advance(10 * kMs);
  EXPECT_EQ(r.calls, 1);
  wheel.Advance(20 * kMs);
  EXPECT_EQ(r.calls, 2);
}

TEST(TimerWheel, NextTimeoutPointsAtTheFirstArmedTick) {
  TimerWheel wheel(0);
  std::vector<int> fired;
  Recorder a{&fired, 1};
  Timer ta(&Recorder::Fire, &a);
  wheel.Schedule(&ta, 95 * kMs);
  int64_t wait = wheel.NextTimeoutNs(0);
  EXPECT_GE(wait, 95 * kMs);
  EXPECT_LE(wait, 100 * kMs);
}

TEST(TimerWheel, NextTimeoutWrapsAroundTheWheel) {
  const int64_t start = 500 * 10 * kMs;  // current slot 500 of 512
  TimerWheel wheel(start);
  std::vector<int> fired;
  Recorder a{&fired, 1}, b{&fired, 2};
  Timer ta(&Recorder::Fire, &a), tb(&Recorder::Fire, &b);
  wheel.Schedule(&ta, start + 300 * kMs);  // slot 18, past the end of the slot array
  EXPECT_EQ(wheel.NextTimeoutNs(start), 300 * kMs);
  wheel.Schedule(&tb, start + 70 * kMs);  // slot 507, before the wrap
  EXPECT_EQ(wheel.NextTimeoutNs(start), 70 * kMs);
  wheel.Cancel(&tb);
  EXPECT_EQ(wheel.NextTimeoutNs(start + 5 * kMs), 295 * kMs);
}

TEST(TimerWheel, DestroyingAnArmedTimerUnlinksIt) {
  TimerWheel wheel(0);
  std::vector<int> fired;
  Recorder a{&fired, 1};
  {
    Timer ta(&Recorder::Fire, &a);
    wheel.Schedule(&ta, 10 * kMs);
  }
  EXPECT_EQ(wheel.armed_count(), 0u);
  wheel.Advance(20 * kMs);
  EXPECT_TRUE(fired.empty());
}

}  // namespace
}  // namespace edge::uring
