// The arithmetic of health checking (common/health/health_policy.h) and the judging of http check
// responses (common/health/probe.h): no I/O, no time.

#include "common/health/health_policy.h"

#include <gtest/gtest.h>

#include <string>

#include "common/health/probe.h"

namespace edge::health {
namespace {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kSec = 1000 * kMs;

TEST(RiseFall, StartsUpAndFallsAfterFallConsecutiveFailures) {
  RiseFall rf(/*rise=*/2, /*fall=*/3);
  EXPECT_TRUE(rf.up());
  EXPECT_FALSE(rf.Record(false));
  EXPECT_FALSE(rf.Record(false));
  EXPECT_TRUE(rf.up());
  EXPECT_TRUE(rf.Record(false));  // the third in a row
  EXPECT_FALSE(rf.up());
  EXPECT_EQ(rf.failures(), 3);
  EXPECT_FALSE(rf.Record(false));  // already down: no change
  EXPECT_EQ(rf.failures(), 4);
}

TEST(RiseFall, ASuccessBreaksAFailureStreak) {
  RiseFall rf(2, 3);
  for (int round = 0; round < 10; ++round) {  // fail, fail, ok, ...: never three in a row
    EXPECT_FALSE(rf.Record(false));
    EXPECT_FALSE(rf.Record(false));
    EXPECT_FALSE(rf.Record(true));
    EXPECT_TRUE(rf.up());
  }
}

TEST(RiseFall, RisesAfterRiseConsecutiveSuccesses) {
  RiseFall rf(2, 1, /*up=*/false);
  EXPECT_FALSE(rf.Record(true));
  EXPECT_FALSE(rf.up());
  EXPECT_FALSE(rf.Record(false));  // breaks the streak
  EXPECT_FALSE(rf.Record(true));
  EXPECT_FALSE(rf.up());
  EXPECT_TRUE(rf.Record(true));
  EXPECT_TRUE(rf.up());
  EXPECT_EQ(rf.successes(), 2);
}

TEST(RiseFall, FlappingEveryCheckNeverChangesStateWithRiseAndFallAboveOne) {
  RiseFall rf(2, 2);
  int changes = 0;
  for (int i = 0; i < 100; ++i) changes += rf.Record(i % 2 == 0) ? 1 : 0;
  EXPECT_EQ(changes, 0);
  EXPECT_TRUE(rf.up());
}

TEST(RiseFall, OneAndOneFollowsEveryCheck) {
  RiseFall rf(1, 1);
  EXPECT_TRUE(rf.Record(false));
  EXPECT_FALSE(rf.up());
  EXPECT_TRUE(rf.Record(true));
  EXPECT_TRUE(rf.up());
}

TEST(RiseFall, NewThresholdsApplyToTheCurrentStreak) {
  RiseFall rf(5, 5);
  EXPECT_FALSE(rf.Record(false));
  EXPECT_FALSE(rf.Record(false));
  rf.SetThresholds(5, 3);
  EXPECT_TRUE(rf.Record(false));  // 3 in a row under the new fall
  EXPECT_FALSE(rf.up());
}

TEST(ProbeSchedule, FirstProbeIsWithinOneInterval) {
  EXPECT_EQ(FirstProbeNs(100, 10 * kMs, 0.0), 100);
  EXPECT_EQ(FirstProbeNs(100, 10 * kMs, 0.5), 100 + 5 * kMs);
  EXPECT_LT(FirstProbeNs(100, 10 * kMs, 0.999999999), 100 + 10 * kMs);
  EXPECT_LT(FirstProbeNs(100, 10 * kMs, 1.0), 100 + 10 * kMs);  // clamped below an interval
}

TEST(ProbeSchedule, NextProbeIsBetweenNinetyAndOneHundredPercentOfAnInterval) {
  const int64_t start = 50 * kSec;
  EXPECT_EQ(NextProbeNs(start, kSec, 0.0, 0), start + 900 * kMs);
  EXPECT_EQ(NextProbeNs(start, kSec, 0.5, 0), start + 950 * kMs);
  EXPECT_EQ(NextProbeNs(start, kSec, 1.0, 0), start + kSec);
  for (double f : {-1.0, 0.1, 0.7, 2.0}) {  // out-of-range fractions are clamped
    const int64_t next = NextProbeNs(start, kSec, f, 0);
    EXPECT_GE(next, start + 900 * kMs);
    EXPECT_LE(next, start + kSec);
  }
}

TEST(ProbeSchedule, NextProbeNeverStartsBeforeThePreviousEnded) {
  // A probe that took the whole timeout (interval = timeout): the next one waits for its end.
  EXPECT_EQ(NextProbeNs(0, kSec, 0.0, kSec + 5), kSec + 5);
}

TEST(ProbeSchedule, DetectionBoundIsFallIntervals) {
  // However the jitter falls, `fall` probes after a failure begin fit in fall x interval.
  const int fall = 3;
  for (double f : {0.0, 0.5, 1.0}) {
    int64_t t = 0;  // the first failing probe starts at most one interval after the failure
    t = NextProbeNs(0, kSec, f, 0);
    for (int i = 1; i < fall; ++i) t = NextProbeNs(t, kSec, f, t);
    EXPECT_LE(t, fall * kSec) << f;
  }
}

TEST(EjectionDuration, FirstIsTheBase) {
  EXPECT_EQ(EjectionDurationNs({}, 100 * kSec, 10 * kSec, 300 * kSec), 10 * kSec);
}

TEST(EjectionDuration, RepeatsDoubleUpToTheCap) {
  EjectionHistory h;
  int64_t now = 1000 * kSec;
  std::vector<int64_t> got;
  for (int i = 0; i < 8; ++i) {
    const int64_t d = EjectionDurationNs(h, now, 10 * kSec, 300 * kSec);
    got.push_back(d / kSec);
    h.last_duration_ns = d;
    h.last_end_ns = now + d;
    now = h.last_end_ns + kSec;  // fails again a second after coming back
  }
  EXPECT_EQ(got, (std::vector<int64_t>{10, 20, 40, 80, 160, 300, 300, 300}));
}

TEST(EjectionDuration, AQuietCapResetsToTheBase) {
  EjectionHistory h{.last_duration_ns = 160 * kSec, .last_end_ns = 1000 * kSec};
  EXPECT_EQ(EjectionDurationNs(h, 1000 * kSec + 299 * kSec, 10 * kSec, 300 * kSec), 300 * kSec);
  EXPECT_EQ(EjectionDurationNs(h, 1000 * kSec + 300 * kSec, 10 * kSec, 300 * kSec), 10 * kSec);
}

TEST(EjectionDuration, BaseEqualToCapStaysThere) {
  EjectionHistory h{.last_duration_ns = 5 * kSec, .last_end_ns = 0};
  EXPECT_EQ(EjectionDurationNs(h, kSec, 5 * kSec, 5 * kSec), 5 * kSec);
}

TEST(MaxEjected, IsTheShareRoundedDown) {
  EXPECT_EQ(MaxEjected(3, 50), 1u);
  EXPECT_EQ(MaxEjected(4, 50), 2u);
  EXPECT_EQ(MaxEjected(1, 50), 0u);  // a lone backend is never ejected below 100%
  EXPECT_EQ(MaxEjected(1, 100), 1u);
  EXPECT_EQ(MaxEjected(10, 10), 1u);
  EXPECT_EQ(MaxEjected(9, 10), 0u);
  EXPECT_EQ(MaxEjected(10, 0), 0u);
  EXPECT_EQ(MaxEjected(7, 100), 7u);
  EXPECT_EQ(MaxEjected(0, 50), 0u);
}

TEST(Panic, BelowTheThresholdShareOfHealthyServers) {
  EXPECT_TRUE(InPanic(0, 3, 50));
  EXPECT_TRUE(InPanic(1, 3, 50));   // 33% < 50%
  EXPECT_FALSE(InPanic(2, 3, 50));  // 67%
  EXPECT_FALSE(InPanic(1, 2, 50));  // exactly 50% is not below it
  EXPECT_TRUE(InPanic(0, 1, 50));
  EXPECT_FALSE(InPanic(1, 1, 50));
  EXPECT_TRUE(InPanic(9, 10, 100));  // 100: any unhealthy server
  EXPECT_FALSE(InPanic(10, 10, 100));
  EXPECT_TRUE(InPanic(0, 10, 1));
  EXPECT_FALSE(InPanic(1, 10, 1));
}

TEST(Panic, ZeroDisablesItAndNoServersIsNoPanic) {
  EXPECT_FALSE(InPanic(0, 3, 0));
  EXPECT_FALSE(InPanic(0, 0, 50));
}

TEST(HealthRequest, IsAMinimalHttp11GetThatClosesTheConnection) {
  EXPECT_EQ(BuildHealthRequest("/healthz", "127.0.0.1:8001", "lb4-health"),
            "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:8001\r\nUser-Agent: lb4-health\r\n"
            "Connection: close\r\n\r\n");
  EXPECT_EQ(BuildHealthRequest("/", "[::1]:80", "gw7-health-check").substr(0, 30),
            "GET / HTTP/1.1\r\nHost: [::1]:80");
}

struct JudgeCase {
  const char* name;
  std::string received;
  bool eof;
  bool decided;
  bool ok;
  std::string detail;
};

class JudgeHttpResponseTest : public ::testing::TestWithParam<JudgeCase> {};

TEST_P(JudgeHttpResponseTest, Judges) {
  const JudgeCase& c = GetParam();
  std::optional<ProbeVerdict> v = JudgeHttpResponse(c.received, c.eof);
  ASSERT_EQ(v.has_value(), c.decided);
  if (!c.decided) return;
  EXPECT_EQ(v->ok, c.ok);
  EXPECT_EQ(v->detail, c.detail);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, JudgeHttpResponseTest,
    ::testing::Values(
        JudgeCase{"Ok200", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false, true, true,
                  "HTTP 200 OK"},
        JudgeCase{"NoContent204", "HTTP/1.1 204 No Content\r\n\r\n", false, true, true,
                  "HTTP 204 No Content"},
        JudgeCase{"Http10", "HTTP/1.0 200 OK\r\n\r\n", false, true, true, "HTTP 200 OK"},
        JudgeCase{"EmptyReason", "HTTP/1.1 299\r\n\r\n", false, true, true, "HTTP 299"},
        JudgeCase{"Redirect", "HTTP/1.1 301 Moved\r\nLocation: /x\r\n\r\n", false, true, true,
                  "HTTP 301 Moved"},
        JudgeCase{"LastRedirect", "HTTP/1.1 399 Odd\r\n\r\n", false, true, true, "HTTP 399 Odd"},
        JudgeCase{"NotFound", "HTTP/1.1 404 Not Found\r\n\r\n", false, true, false,
                  "HTTP 404 Not Found"},
        JudgeCase{"ServerError", "HTTP/1.1 500 Internal Server Error\r\n\r\n", false, true, false,
                  "HTTP 500 Internal Server Error"},
        JudgeCase{"Unavailable", "HTTP/1.1 503 Service Unavailable\r\n\r\n", false, true, false,
                  "HTTP 503 Service Unavailable"},
        JudgeCase{"ContinueThenOk", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n", false,
                  true, true, "HTTP 200 OK"},
        JudgeCase{"ContinueThenMore", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 2", false, false,
                  false, ""},
        JudgeCase{"SwitchingProtocols", "HTTP/1.1 101 Switching\r\n\r\n", false, true, false,
                  "HTTP 101: the backend switched protocols"},
        JudgeCase{"Partial", "HTTP/1.1 200 OK\r\nContent-Le", false, false, false, ""},
        JudgeCase{"PartialThenEof", "HTTP/1.1 200 OK\r\nContent-Le", true, true, false,
                  "connection closed inside the response head"},
        JudgeCase{"NothingThenEof", "", true, true, false, "connection closed without a response"},
        JudgeCase{"NothingYet", "", false, false, false, ""},
        JudgeCase{"NotHttp", "SSH-2.0-OpenSSH_9.2\r\n", false, true, false,
                  "malformed response: invalid HTTP version"},
        JudgeCase{"GarbageReason", "HTTP/1.1 503 \xff\x80x\r\n\r\n", false, true, false,
                  "HTTP 503 ??x"}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace edge::health
