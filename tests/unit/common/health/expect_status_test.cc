// The pass rule of http health checks (common/health/expect_status.h): HAProxy's default and the
// `expect_status` forms, parsed strictly.

#include "common/health/expect_status.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace edge::health {
namespace {

using ::testing::HasSubstr;

TEST(ExpectStatus, DefaultIsHaproxys2xxAnd3xx) {
  ExpectStatus e;
  EXPECT_FALSE(e.Matches(100));
  EXPECT_FALSE(e.Matches(199));
  EXPECT_TRUE(e.Matches(200));
  EXPECT_TRUE(e.Matches(204));
  EXPECT_TRUE(e.Matches(301));
  EXPECT_TRUE(e.Matches(399));
  EXPECT_FALSE(e.Matches(400));
  EXPECT_FALSE(e.Matches(503));
  EXPECT_EQ(e.ToString(), "200-399");
}

TEST(ExpectStatus, ClassOnly2xxRefusesRedirects) {
  auto e = ExpectStatus::Parse("2xx");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_TRUE(e->Matches(200));
  EXPECT_TRUE(e->Matches(299));
  EXPECT_FALSE(e->Matches(301));
  EXPECT_EQ(e->ToString(), "200-299");
}

TEST(ExpectStatus, ListOfCodesClassesAndRangesIsMergedAndCanonical) {
  auto e = ExpectStatus::Parse(" 204 , 200,302, 2XX ,500-502");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->ToString(), "200-299,302,500-502");
  EXPECT_TRUE(e->Matches(302));
  EXPECT_FALSE(e->Matches(301));
  EXPECT_TRUE(e->Matches(501));
  EXPECT_FALSE(e->Matches(503));
  auto adjacent = ExpectStatus::Parse("200-299,300-399");
  ASSERT_TRUE(adjacent.ok());
  EXPECT_EQ(adjacent->ToString(), "200-399");
}

TEST(ExpectStatus, OneXxNeverPassesEvenWhenListed) {
  auto e = ExpectStatus::Parse("1xx,200");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_FALSE(e->Matches(100));
  EXPECT_TRUE(e->Matches(200));
  EXPECT_THAT(ExpectStatus::Parse("1xx").status().message(), HasSubstr("only 1xx"));
}

TEST(ExpectStatus, RefusesWhatIsNotACodeClassOrRange) {
  for (const char* bad : {"", "ok", "2x", "6xx", "0xx", "99", "600", "2000", "+200", "200-", "-399",
                          "399-200", "200,,204", "200-399-400", "20 0", "xx"}) {
    EXPECT_FALSE(ExpectStatus::Parse(bad).ok()) << "\"" << bad << "\"";
  }
  EXPECT_THAT(ExpectStatus::Parse("399-200").status().message(), HasSubstr("low end is above"));
  EXPECT_THAT(ExpectStatus::Parse("2x").status().message(),
              HasSubstr("expected a code (\"200\"), a class (\"2xx\") or a range"));
}

}  // namespace
}  // namespace edge::health
