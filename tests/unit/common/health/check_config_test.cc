// The one reader of health-check keys (common/health/check_config.h) that lb4's [pool.health]
// and gw7's [[upstream]] health = {...} both use: values, defaults kept, positioned errors.

#include "common/health/check_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "common/config/toml.h"

namespace edge::health {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

class CheckConfigTest : public ::testing::Test {
 protected:
  // Reads `text` (valid TOML, as file "h.toml") with both readers, as lb4 does.
  void Read(std::string_view text) {
    auto parsed = config::ParseToml(text, "h.toml");
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    table_ = std::move(*parsed);
    config::TableReader r(
        table_, errors_, "pool \"p\"",
        {"check", "path", "port", "interval", "timeout", "rise", "fall", "expect_status",
         "passive_failures", "ejection_time", "max_ejection_time", "max_ejection_percent"},
        "health.");
    ReadActiveCheck(r, &active_);
    ReadEjection(r, &ejection_);
  }

  config::ConfigErrors errors_{"h.toml"};
  toml::table table_;
  ActiveCheckConfig active_;
  EjectionConfig ejection_;
};

TEST_F(CheckConfigTest, ReadsEveryKey) {
  Read(
      "check = \"http\"\npath = \"/healthz?deep=1\"\nport = 9911\ninterval = \"2s\"\n"
      "timeout = \"1s\"\nrise = 1\nfall = 4\nexpect_status = \"2xx\"\npassive_failures = 3\n"
      "ejection_time = \"1s\"\nmax_ejection_time = \"8s\"\nmax_ejection_percent = 34\n");
  EXPECT_THAT(errors_.Messages(), IsEmpty());
  EXPECT_EQ(active_.check, CheckKind::kHttp);
  EXPECT_EQ(active_.path, "/healthz?deep=1");
  EXPECT_EQ(active_.port, 9911);
  EXPECT_EQ(active_.interval, absl::Seconds(2));
  EXPECT_EQ(active_.timeout, absl::Seconds(1));
  EXPECT_EQ(active_.rise, 1);
  EXPECT_EQ(active_.fall, 4);
  EXPECT_EQ(active_.expect_status.ToString(), "200-299");
  EXPECT_EQ(ejection_.passive_failures, 3);
  EXPECT_EQ(ejection_.ejection_time, absl::Seconds(1));
  EXPECT_EQ(ejection_.max_ejection_time, absl::Seconds(8));
  EXPECT_EQ(ejection_.max_ejection_percent, 34);
}

TEST_F(CheckConfigTest, AbsentKeysKeepTheCallersDefaults) {
  active_.check = CheckKind::kHttp;  // gw7's defaults
  active_.path = "/health";
  active_.interval = absl::Seconds(2);
  active_.timeout = absl::Seconds(1);
  ejection_.passive_failures = 5;
  Read("rise = 3\n");
  EXPECT_THAT(errors_.Messages(), IsEmpty());
  EXPECT_EQ(active_.check, CheckKind::kHttp);
  EXPECT_EQ(active_.path, "/health");
  EXPECT_EQ(active_.interval, absl::Seconds(2));
  EXPECT_EQ(active_.timeout, absl::Seconds(1));
  EXPECT_EQ(active_.rise, 3);
  EXPECT_EQ(active_.fall, 3);
  EXPECT_EQ(active_.expect_status.ToString(), "200-399");
  EXPECT_EQ(ejection_.passive_failures, 5);
  EXPECT_EQ(ejection_.ejection_time, absl::Seconds(10));
  EXPECT_EQ(ejection_.max_ejection_time, absl::Minutes(5));
  EXPECT_EQ(ejection_.max_ejection_percent, 50);
}

TEST_F(CheckConfigTest, BadValuesAreReportedWithPositionAndKey) {
  Read(
      "check = \"icmp\"\npath = \"healthz\"\nrise = 0\nexpect_status = \"2x\"\n"
      "max_ejection_percent = 101\n");
  EXPECT_THAT(
      errors_.Messages(),
      ElementsAre("h.toml:1:9: pool \"p\": health.check: unknown value \"icmp\" (tcp|http|none)",
                  "h.toml:2:8: pool \"p\": health.path: must start with '/' and hold only visible "
                  "ASCII, got \"healthz\"",
                  "h.toml:3:8: pool \"p\": health.rise: must be between 1 and 100, got 0",
                  "h.toml:4:17: pool \"p\": health.expect_status: \"2x\": expected a code "
                  "(\"200\"), a class (\"2xx\") or a range (\"200-399\"), codes in 100..599",
                  "h.toml:5:24: pool \"p\": health.max_ejection_percent: must be between 0 and "
                  "100, got 101"));
}

TEST_F(CheckConfigTest, TimeoutAboveIntervalNamesTheKeyWritten) {
  Read("timeout = \"2s\"\n");
  EXPECT_THAT(errors_.Messages(),
              ElementsAre("h.toml:1:11: pool \"p\": health.timeout: must not exceed interval (1s, "
                          "the default), got \"2s\""));
}

TEST_F(CheckConfigTest, IntervalBelowTheDefaultTimeoutNamesInterval) {
  Read("interval = \"100ms\"\n");
  EXPECT_THAT(errors_.Messages(),
              ElementsAre("h.toml:1:12: pool \"p\": health.interval: must be at least timeout "
                          "(500ms, the default), got \"100ms\""));
}

TEST_F(CheckConfigTest, MaxEjectionTimeBelowEjectionTimeIsRefused) {
  Read("ejection_time = \"10m\"\n");
  EXPECT_THAT(errors_.Messages(),
              ElementsAre("h.toml:1:17: pool \"p\": health.ejection_time: must not exceed "
                          "max_ejection_time (5m, the default), got \"10m\""));
}

// gw7's ejection_time had no cap before the back-off: an old config's "1h" still loads there.
TEST_F(CheckConfigTest, CapFollowsBaseRaisesTheDefaultCapOnlyWhenAsked) {
  auto parsed = config::ParseToml("ejection_time = \"1h\"\n", "h.toml");
  ASSERT_TRUE(parsed.ok());
  config::TableReader r(*parsed, errors_, "upstream \"u\"", {"ejection_time", "max_ejection_time"});
  ReadEjection(r, &ejection_, /*cap_follows_base=*/true);
  EXPECT_THAT(errors_.Messages(), IsEmpty());
  EXPECT_EQ(ejection_.ejection_time, absl::Hours(1));
  EXPECT_EQ(ejection_.max_ejection_time, absl::Hours(1));

  auto written =
      config::ParseToml("ejection_time = \"1h\"\nmax_ejection_time = \"30m\"\n", "h.toml");
  ASSERT_TRUE(written.ok());
  EjectionConfig e;
  config::TableReader w(*written, errors_, "upstream \"u\"",
                        {"ejection_time", "max_ejection_time"});
  ReadEjection(w, &e, /*cap_follows_base=*/true);  // a cap written out is still checked
  EXPECT_THAT(errors_.Messages(),
              ElementsAre("h.toml:2:21: upstream \"u\": max_ejection_time: must be at least "
                          "ejection_time (1h), got \"30m\""));
}

TEST(CheckKindName, NamesEveryKind) {
  EXPECT_EQ(CheckKindName(CheckKind::kNone), "none");
  EXPECT_EQ(CheckKindName(CheckKind::kTcp), "tcp");
  EXPECT_EQ(CheckKindName(CheckKind::kHttp), "http");
}

}  // namespace
}  // namespace edge::health
