#include "common/config/units.h"

#include <gtest/gtest.h>

#include <string>

namespace edge::config {
namespace {

TEST(ParseDuration, AcceptsEachUnit) {
  EXPECT_EQ(*ParseDuration("500ms"), absl::Milliseconds(500));
  EXPECT_EQ(*ParseDuration("2s"), absl::Seconds(2));
  EXPECT_EQ(*ParseDuration("5m"), absl::Minutes(5));
  EXPECT_EQ(*ParseDuration("1h"), absl::Hours(1));
  EXPECT_EQ(*ParseDuration("0s"), absl::ZeroDuration());
  EXPECT_EQ(*ParseDuration("90s"), absl::Seconds(90));
  EXPECT_EQ(*ParseDuration("007s"), absl::Seconds(7));
}

TEST(ParseDuration, AcceptsCompoundsInOrder) {
  EXPECT_EQ(*ParseDuration("1m30s"), absl::Seconds(90));
  EXPECT_EQ(*ParseDuration("1h2m3s4ms"),
            absl::Hours(1) + absl::Minutes(2) + absl::Seconds(3) + absl::Milliseconds(4));
  EXPECT_EQ(*ParseDuration("1s500ms"), absl::Milliseconds(1500));
}

TEST(ParseDuration, RefusesWithReasons) {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"",
       "invalid duration \"\": empty; want a number and a unit (h, m, s, ms), e.g. \"500ms\", "
       "\"2s\", \"5m\", \"1m30s\""},
      {"5",
       "invalid duration \"5\": missing unit (h, m, s, ms), e.g. \"500ms\", \"2s\", \"5m\", "
       "\"1m30s\""},
      {"-5s", "invalid duration \"-5s\": must not be negative"},
      {"+5s", "invalid duration \"+5s\": no sign allowed"},
      {"1.5s",
       "invalid duration \"1.5s\": fractions are not allowed; use a smaller unit, e.g. "
       "\"1500ms\""},
      {"5 s", "invalid duration \"5 s\": no spaces allowed"},
      {" 5s", "invalid duration \" 5s\": no spaces allowed"},
      {"5d",
       "invalid duration \"5d\": unknown unit \"d\" (h, m, s, ms), e.g. \"500ms\", \"2s\", "
       "\"5m\", \"1m30s\""},
      {"5S",
       "invalid duration \"5S\": unknown unit \"S\" (h, m, s, ms), e.g. \"500ms\", \"2s\", "
       "\"5m\", \"1m30s\""},
      {"1s1m",
       "invalid duration \"1s1m\": units must appear in the order h, m, s, ms, each at "
       "most once"},
      {"1s1s",
       "invalid duration \"1s1s\": units must appear in the order h, m, s, ms, each at "
       "most once"},
      {"s", "invalid duration \"s\": unexpected character \"s\" at offset 0"},
      {"1m30",
       "invalid duration \"1m30\": missing unit (h, m, s, ms), e.g. \"500ms\", \"2s\", "
       "\"5m\", \"1m30s\""},
  };
  for (const Case& c : cases) {
    auto parsed = ParseDuration(c.text);
    ASSERT_FALSE(parsed.ok()) << c.text;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(std::string(parsed.status().message()), c.message);
  }
}

TEST(ParseDuration, RefusesOverflow) {
  // int64 milliseconds hold 9223372036854775807ms; one more overflows, as do large hours.
  EXPECT_EQ(*ParseDuration("9223372036854775807ms"), absl::Milliseconds(9223372036854775807LL));
  for (const char* text : {"9223372036854775808ms", "99999999999999999999999s", "2562047788016h",
                           "2562047788015h12m55s808ms", "18446744073709551616ms"}) {
    auto parsed = ParseDuration(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(std::string(parsed.status().message()),
              std::string("invalid duration \"") + text + "\": too large");
  }
  EXPECT_TRUE(ParseDuration("2562047788015h12m55s807ms").ok());  // exactly the largest value
}

TEST(ParseSize, AcceptsUnitsAndBareBytes) {
  EXPECT_EQ(*ParseSize("512B"), 512u);
  EXPECT_EQ(*ParseSize("16KiB"), 16u * 1024);
  EXPECT_EQ(*ParseSize("10MiB"), 10u * 1024 * 1024);
  EXPECT_EQ(*ParseSize("1GiB"), uint64_t{1} << 30);
  EXPECT_EQ(*ParseSize("2TiB"), uint64_t{2} << 40);
  EXPECT_EQ(*ParseSize("16384"), 16384u);
  EXPECT_EQ(*ParseSize("0"), 0u);
  EXPECT_EQ(*ParseSize("18446744073709551615"), UINT64_MAX);
}

TEST(ParseSize, RefusesWithReasons) {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"",
       "invalid size \"\": empty; want a number and a unit (B, KiB, MiB, GiB, TiB), e.g. "
       "\"512B\", \"16KiB\", \"10MiB\""},
      {"16KB",
       "invalid size \"16KB\": unknown unit \"KB\" (B, KiB, MiB, GiB, TiB), e.g. \"512B\", "
       "\"16KiB\", \"10MiB\""},
      {"16k",
       "invalid size \"16k\": unknown unit \"k\" (B, KiB, MiB, GiB, TiB), e.g. \"512B\", "
       "\"16KiB\", \"10MiB\""},
      {"-1KiB", "invalid size \"-1KiB\": must not be negative"},
      {"1.5MiB",
       "invalid size \"1.5MiB\": fractions are not allowed; use a smaller unit, e.g. "
       "\"1536KiB\""},
      {"16 KiB", "invalid size \"16 KiB\": no spaces allowed"},
      {"KiB", "invalid size \"KiB\": unexpected character \"K\" at offset 0"},
      {"18446744073709551616", "invalid size \"18446744073709551616\": too large"},
      {"16777216TiB", "invalid size \"16777216TiB\": too large"},
      {"1KiB2",
       "invalid size \"1KiB2\": unknown unit \"KiB2\" (B, KiB, MiB, GiB, TiB), e.g. "
       "\"512B\", \"16KiB\", \"10MiB\""},
  };
  for (const Case& c : cases) {
    auto parsed = ParseSize(c.text);
    ASSERT_FALSE(parsed.ok()) << c.text;
    EXPECT_EQ(std::string(parsed.status().message()), c.message);
  }
  EXPECT_TRUE(ParseSize("16777215TiB").ok());
}

TEST(DurationToString, RoundTrips) {
  EXPECT_EQ(DurationToString(absl::ZeroDuration()), "0s");
  EXPECT_EQ(DurationToString(absl::Milliseconds(500)), "500ms");
  EXPECT_EQ(DurationToString(absl::Seconds(90)), "1m30s");
  EXPECT_EQ(DurationToString(absl::Hours(24)), "24h");
  EXPECT_EQ(DurationToString(absl::Milliseconds(3723004)), "1h2m3s4ms");
  EXPECT_EQ(DurationToString(absl::InfiniteDuration()), "inf");
  for (const char* text : {"500ms", "1m30s", "2s", "1h2m3s4ms"}) {
    EXPECT_EQ(DurationToString(*ParseDuration(text)), text);
  }
}

TEST(SizeToString, PicksTheLargestExactUnit) {
  EXPECT_EQ(SizeToString(0), "0B");
  EXPECT_EQ(SizeToString(1000), "1000B");
  EXPECT_EQ(SizeToString(16384), "16KiB");
  EXPECT_EQ(SizeToString(1536 * 1024), "1536KiB");
  EXPECT_EQ(SizeToString(uint64_t{10} << 20), "10MiB");
  EXPECT_EQ(SizeToString(uint64_t{1} << 40), "1TiB");
  EXPECT_EQ(*ParseSize(SizeToString(123456789)), 123456789u);
}

}  // namespace
}  // namespace edge::config
