#include "l7/observe/traceparent.h"

#include <set>

#include "gtest/gtest.h"

namespace edge::l7 {
namespace {

constexpr char kValid[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(TraceparentTest, ParsesTheSpecExample) {
  auto c = ParseTraceparent(kValid);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->TraceIdHex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(c->ParentIdHex(), "00f067aa0ba902b7");
  EXPECT_TRUE(c->sampled());
  EXPECT_EQ(c->Format(), kValid);
  EXPECT_EQ(c->TraceKey(), 0x4bf92f3577b34da6ULL);
}

TEST(TraceparentTest, FormatToReplacesAndIdsSitWhereDeclared) {
  auto c = ParseTraceparent(kValid);
  ASSERT_TRUE(c);
  std::string out = "an older, longer value that FormatTo must replace entirely: 0123456789";
  c->FormatTo(&out);
  EXPECT_EQ(out, kValid);
  EXPECT_EQ(out.substr(TraceContext::kTraceIdAt, TraceContext::kTraceIdLength), c->TraceIdHex());
  EXPECT_EQ(out.substr(TraceContext::kParentIdAt, TraceContext::kParentIdLength), c->ParentIdHex());
  std::string empty;
  c->FormatTo(&empty);
  EXPECT_EQ(empty, kValid);
}

TEST(TraceparentTest, RefusesWhatVersion00Forbids) {
  const char* bad[] = {
      "",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",    // short
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",  // 00 is exactly 55
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01",  // upper case
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A",
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  // zero trace id
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  // zero parent id
      "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // forbidden version
      "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // separators
      "00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01",
      "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",  // shifted dash
      " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 ",
      "00-+bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
  };
  for (const char* v : bad) EXPECT_FALSE(ParseTraceparent(v)) << v;
}

TEST(TraceparentTest, FutureVersionsParseTheirVersion00Prefix) {
  auto c = ParseTraceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->flags, 0x01);       // unknown flag bits are cleared
  EXPECT_EQ(c->Format(), kValid);  // what goes on is version 00
  EXPECT_TRUE(
      ParseTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-what-ever"));
  EXPECT_FALSE(ParseTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00what"));
  EXPECT_FALSE(ParseTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0"));
}

TEST(TraceparentTest, NewIdsAreNonZeroAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    TraceContext c;
    c.trace_id = NewTraceId();
    c.parent_id = NewSpanId();
    ASSERT_TRUE(ParseTraceparent(c.Format())) << c.Format();
    seen.insert(c.TraceIdHex());
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(TraceparentTest, DecisionKeepsAValidTraceWithANewParent) {
  std::string_view fields[] = {kValid};
  TraceDecision d = DecideTrace(fields, false);
  ASSERT_TRUE(d.incoming);
  EXPECT_FALSE(d.invalid);
  EXPECT_EQ(d.outgoing.TraceIdHex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_NE(d.outgoing.ParentIdHex(), "00f067aa0ba902b7");
  EXPECT_TRUE(d.outgoing.sampled());
}

TEST(TraceparentTest, DecisionStartsANewTraceWhenAbsentInvalidOrRepeated) {
  TraceDecision absent = DecideTrace({}, true);
  EXPECT_FALSE(absent.incoming);
  EXPECT_FALSE(absent.invalid);
  EXPECT_TRUE(absent.outgoing.sampled());

  std::string_view bad[] = {"00-xyz"};
  TraceDecision invalid = DecideTrace(bad, false);
  EXPECT_FALSE(invalid.incoming);
  EXPECT_TRUE(invalid.invalid);
  EXPECT_FALSE(invalid.outgoing.sampled());
  EXPECT_TRUE(ParseTraceparent(invalid.outgoing.Format()));

  std::string_view twice[] = {kValid, kValid};
  TraceDecision repeated = DecideTrace(twice, false);
  EXPECT_FALSE(repeated.incoming);
  EXPECT_TRUE(repeated.invalid);
  EXPECT_NE(repeated.outgoing.TraceIdHex(), "4bf92f3577b34da6a3ce929d0e0e4736");
}

}  // namespace
}  // namespace edge::l7
