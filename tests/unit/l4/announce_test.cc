// [lb4.announce]: the config keys and their errors, and when lb4 may be announced
// (WhyNotServing). The routes themselves (rtnetlink, bird2) are tested in namespaces by
// tests/integration/test_scale_bgp.py.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "l4/announce/vip_announcer.h"
#include "l4/config.h"
#include "l4/runtime.h"

namespace edge::l4 {
namespace {

using ::testing::HasSubstr;

constexpr std::string_view kPools = R"(
[[listener]]
name = "web"
bind = "127.0.0.1:8080"
pool = "gw7"

[[pool]]
name = "gw7"
backends = [{ address = "127.0.0.1:8001" }, { address = "127.0.0.1:8002" }]
[pool.health]
check = "tcp"

[[pool]]
name = "spare"
backends = [{ address = "127.0.0.1:8101" }]
)";

absl::StatusOr<Lb4Config> Parse(std::string_view announce) {
  return ParseLb4Config(
      std::string("[lb4]\n[lb4.announce]\n") + std::string(announce) + std::string(kPools),
      "edge.toml");
}

std::string ErrorOf(std::string_view announce) {
  auto parsed = Parse(announce);
  if (parsed.ok()) return "(parsed fine)";
  return std::string(parsed.status().message());
}

TEST(AnnounceConfig, OffWithoutTheSection) {
  auto config = ParseLb4Config(std::string(kPools), "edge.toml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_FALSE(config->announce.enabled());
}

TEST(AnnounceConfig, ReadsEveryKey) {
  auto config = Parse(
      "vips = [\"10.99.0.1\", \"2001:db8::1\"]\ntable = 100\npools = [\"gw7\"]\n"
      "drain_delay = \"3s\"\n");
  ASSERT_TRUE(config.ok()) << config.status();
  const AnnounceConfig& a = config->announce;
  EXPECT_TRUE(a.enabled());
  ASSERT_EQ(a.vips.size(), 2u);
  EXPECT_EQ(a.vips[0].IpString(), "10.99.0.1");
  EXPECT_EQ(a.vips[1].IpString(), "2001:db8::1");
  EXPECT_EQ(a.table, 100u);
  EXPECT_EQ(a.pools, std::vector<std::string>{"gw7"});
  EXPECT_EQ(a.drain_delay, absl::Seconds(3));
}

TEST(AnnounceConfig, DefaultsAndLargeTables) {
  auto config = Parse("vips = [\"10.99.0.1\"]\ntable = 4000000000\n");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->announce.table, 4000000000u);
  EXPECT_TRUE(config->announce.pools.empty());
  EXPECT_EQ(config->announce.drain_delay, absl::Seconds(2));
}

TEST(AnnounceConfig, RefusesWhatItCannotAnnounce) {
  EXPECT_EQ(ErrorOf("table = 100\n"), "edge.toml:2:1: lb4: announce.vips: missing required key");
  EXPECT_EQ(ErrorOf("vips = [\"10.99.0.1\"]\n"),
            "edge.toml:2:1: lb4: announce.table: missing required key");
  EXPECT_THAT(ErrorOf("vips = []\ntable = 100\n"), HasSubstr("must name at least one IP address"));
  EXPECT_THAT(ErrorOf("vips = [\"vip.example.com\"]\ntable = 100\n"),
              HasSubstr("announce.vips: not an IP address: \"vip.example.com\""));
  EXPECT_THAT(ErrorOf("vips = [\"10.99.0.1:80\"]\ntable = 100\n"),
              HasSubstr("not an IP address: \"10.99.0.1:80\""));
  EXPECT_THAT(ErrorOf("vips = [\"10.99.0.1\", \"10.99.0.1\"]\ntable = 100\n"),
              HasSubstr("\"10.99.0.1\" is listed twice"));
  EXPECT_THAT(ErrorOf("vips = [\"10.99.0.1\"]\ntable = 254\n"),
              HasSubstr("announce.table: 254 is the kernel's main table: use a table of its own"));
  EXPECT_THAT(ErrorOf("vips = [\"10.99.0.1\"]\ntable = 0\n"), HasSubstr("announce.table"));
  EXPECT_THAT(ErrorOf("vips = [\"10.99.0.1\"]\ntable = 100\npools = [\"gw8\"]\n"),
              HasSubstr("lb4: announce.pools: unknown pool \"gw8\" (defined: gw7, spare)"));
  EXPECT_THAT(ErrorOf("vips = [\"10.99.0.1\"]\ntable = 100\ndrain_delay = \"1h\"\n"),
              HasSubstr("announce.drain_delay"));
  EXPECT_THAT(ErrorOf("vips = [\"10.99.0.1\"]\ntable = 100\nvip = \"10.99.0.2\"\n"),
              HasSubstr("announce.vip"));
}

class WhyNotServingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto config = Parse("vips = [\"10.99.0.1\"]\ntable = 100\n");
    ASSERT_TRUE(config.ok()) << config.status();
    auto runtime = BuildRuntime(*config);
    ASSERT_TRUE(runtime.ok()) << runtime.status();
    runtime_ = *runtime;
  }
  Backend& backend(size_t pool, size_t i) { return *runtime_->pools[pool]->backends[i]; }

  std::shared_ptr<const Runtime> runtime_;
};

TEST_F(WhyNotServingTest, WaitsForABackendToPassACheck) {
  // Backends start healthy (lb4 never starts with an empty pool) but none has answered yet.
  EXPECT_EQ(WhyNotServing(*runtime_, {}), "no healthy backend in pool \"gw7\"");
  backend(0, 1).checks_ok = 1;
  EXPECT_EQ(WhyNotServing(*runtime_, {}), "");
}

TEST_F(WhyNotServingTest, WithdrawsWhenNoBackendIsEligible) {
  backend(0, 0).checks_ok = 1;
  backend(0, 1).checks_ok = 1;
  backend(0, 0).healthy = false;
  EXPECT_EQ(WhyNotServing(*runtime_, {}), "");
  backend(0, 1).admin_drained = true;  // runtime control counts like health
  EXPECT_EQ(WhyNotServing(*runtime_, {}), "no healthy backend in pool \"gw7\"");
  backend(0, 0).healthy = true;
  EXPECT_EQ(WhyNotServing(*runtime_, {}), "");
}

TEST_F(WhyNotServingTest, GatesOnTheNamedPoolsOnly) {
  // "spare" has no checks: an eligible backend is enough. No listener uses it, so by default it
  // does not gate; named, it does.
  EXPECT_EQ(WhyNotServing(*runtime_, {"spare"}), "");
  backend(1, 0).healthy = false;
  EXPECT_EQ(WhyNotServing(*runtime_, {"spare"}), "no healthy backend in pool \"spare\"");
  backend(0, 0).checks_ok = 1;
  EXPECT_EQ(WhyNotServing(*runtime_, {}), "");
  EXPECT_EQ(WhyNotServing(*runtime_, {"gone"}), "no pool \"gone\" in the config in force");
}

}  // namespace
}  // namespace edge::l4
