#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "l7/observe/access_log.h"
#include "l7/report/access_log_scanner.h"
#include "l7/report/report_builder.h"
#include "l7/report/report_render.h"

namespace edge::l7::report {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kT0 = 1'796'230'960'000'000;  // 2026-12-02T17:02:40Z in us

TEST(AccessLogScannerTest, ReadsWhatTheAccessLogWrites) {
  AccessRecord r;
  r.start_unix_ns = kT0 * 1000 + 123'456'000;
  r.consumer = "al\"ice\n";
  r.route = "products";
  r.method = "GET";
  r.target = "/p";
  r.status = 429;
  r.bytes_in = 12;
  r.bytes_out = 345;
  r.duration_ns = 6'789'000;
  r.rate_limit = "limited";
  r.end = RequestEnd::kRefused;
  const std::string line = FormatAccessRecord(r, QueryRedactor());
  LogRow row;
  std::string scratch;
  ASSERT_TRUE(ParseLogRow(line, &row, &scratch)) << line;
  EXPECT_EQ(row.time_us, kT0 + 123'456);
  EXPECT_EQ(row.consumer, "al\"ice\n");
  EXPECT_EQ(row.route, "products");
  EXPECT_EQ(row.status, 429);
  EXPECT_EQ(row.bytes_in, 12);
  EXPECT_EQ(row.bytes_out, 345);
  EXPECT_EQ(row.duration_us, 6789);
  EXPECT_TRUE(row.rate_limited);
  EXPECT_TRUE(row.refused);
}

TEST(AccessLogScannerTest, OrderAndUnknownFieldsDoNotMatterEscapesDecode) {
  LogRow row;
  std::string scratch;
  ASSERT_TRUE(ParseLogRow(R"( { "extra" : [1] } )", &row, &scratch) ==
              false);  // nested values are refused
  ASSERT_TRUE(ParseLogRow(
      R"({"new":true,"route":"r\u00e9\ud83d\ude00","status":200.0,"time":"2026-12-02T17:02:40Z","consumer":null})",
      &row, &scratch));
  EXPECT_EQ(row.route, "r\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_EQ(row.status, 200);
  EXPECT_EQ(row.time_us, kT0);
  EXPECT_EQ(row.consumer, "");
}

TEST(AccessLogScannerTest, MalformedLinesAreRefused) {
  const char* bad[] = {
      "",
      "{}",
      "not json",
      R"({"time":"2026-12-02T17:02:40Z")",  // unterminated
      R"({"time":"2026-12-02T17:02:40Z"} trailing)",
      R"({"time":"2026-12-02 17:02:40"})",  // not the timestamp format
      R"({"time":"2026-13-02T17:02:40Z"})",
      R"({"time":"2026-12-02T17:02:40Z","a":"\x"})",      // bad escape
      R"({"time":"2026-12-02T17:02:40Z","a":"\ud800"})",  // lone surrogate
      R"({"time":"2026-12-02T17:02:40Z","a":1,})",
      R"({"status":200})",                                   // no time
      "{\"time\":\"2026-12-02T17:02:40Z\",\"a\":\"\x01\"}",  // raw control character
  };
  LogRow row;
  std::string scratch;
  for (const char* line : bad) EXPECT_FALSE(ParseLogRow(line, &row, &scratch)) << line;
}

TEST(AccessLogScannerTest, Timestamps) {
  EXPECT_EQ(ParseTimestamp("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(ParseTimestamp("2000-02-29T12:00:00.5Z"), 951825600'500'000);
  EXPECT_EQ(ParseTimestamp("2026-12-02T17:02:40.123456789Z"), kT0 + 123'456);
  EXPECT_FALSE(ParseTimestamp("2026-12-02T17:02:40.Z"));
  EXPECT_FALSE(ParseTimestamp("2026-12-02T17:02:40+01:00"));
}

TEST(ReportBuilderTest, BucketsAndTotals) {
  EXPECT_EQ(NiceBucketUs(0, 600'000'000, 60), 10'000'000);
  EXPECT_EQ(NiceBucketUs(0, 3'600'000'000, 60), 60'000'000);
  EXPECT_EQ(NiceBucketUs(0, 5'000'000, 60), 1'000'000);
  ReportBuilder b(kT0, kT0 + 60'000'000, 6);
  LogRow row;
  row.consumer = "alice";
  row.route = "products";
  row.status = 200;
  row.duration_us = 1000;
  for (int i = 0; i < 60; ++i) {
    row.time_us = kT0 + i * 1'000'000;
    row.rate_limited = i % 10 == 0;
    b.Add(row);
  }
  row.time_us = kT0 + 60'000'000;  // == to: outside
  b.Add(row);
  const ReportData& d = b.data();
  EXPECT_EQ(d.rows, 60u);
  EXPECT_EQ(d.out_of_range, 1u);
  EXPECT_EQ(d.consumers.at("alice").per_bucket, std::vector<uint64_t>(6, 10));
  EXPECT_EQ(d.consumers.at("alice").rate_limited, 6u);
  EXPECT_EQ(d.status_per_bucket[3][2], 10u);
  const std::string json = RenderReportJson(d);
  EXPECT_THAT(json, HasSubstr(R"("bucket_seconds":10,"requests":60)"));
  EXPECT_THAT(json, HasSubstr(R"("rate_limited":6,"rate_limited_share":0.1000)"));
  const std::string html = RenderReportHtml(d, "a.log");
  EXPECT_THAT(html, HasSubstr("<svg"));
  // Nothing fetched: no script, no external reference.
  EXPECT_THAT(html, testing::Not(HasSubstr("<script")));
  EXPECT_THAT(html, testing::Not(HasSubstr("src=")));
  EXPECT_THAT(html, testing::Not(HasSubstr("href=")));
}

}  // namespace
}  // namespace edge::l7::report
