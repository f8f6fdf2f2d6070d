// The merged answer: keys and flat, optional parts failing into "_errors", a required part's
// 502 body, and part bodies that are not what they claim.

#include "l7/filters/aggregate/part_merge.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace edge::l7 {
namespace {

AggregateConfig Parts(AggregateMerge merge, bool second_required) {
  AggregateConfig c;
  c.merge = merge;
  c.parts.resize(2);
  c.parts[0].name = "product";
  c.parts[1].name = "reviews";
  c.parts[1].required = second_required;
  return c;
}

std::vector<PartResult> Results(std::string a, PartOutcome b_outcome, std::string b = "") {
  return {{PartOutcome::kOk, std::move(a)}, {b_outcome, std::move(b)}};
}

TEST(PartMerge, KeysPutsEachBodyUnderItsName) {
  auto r = Results("{\"id\": 1}", PartOutcome::kOk, " [1, 2]\n");
  const MergedAnswer m = MergeParts(Parts(AggregateMerge::kKeys, true), &r, "rid");
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(m.body, "{\"product\":{\"id\":1},\"reviews\":[1,2]}\n");
}

TEST(PartMerge, FlatMergesMembersLaterPartWins) {
  auto r = Results("{\"id\": 1, \"name\": \"a\"}", PartOutcome::kOk, "{\"name\": \"b\", \"n\": 2}");
  const MergedAnswer m = MergeParts(Parts(AggregateMerge::kFlat, true), &r, "rid");
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(m.body, "{\"id\":1,\"name\":\"b\",\"n\":2}\n");
}

TEST(PartMerge, OptionalFailureIsNullAndNamedInErrors) {
  auto r = Results("{\"id\":1}", PartOutcome::kTimeout);
  MergedAnswer m = MergeParts(Parts(AggregateMerge::kKeys, false), &r, "rid");
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(m.body,
            "{\"product\":{\"id\":1},\"reviews\":null,\"_errors\":{\"reviews\":\"timeout\"}}\n");
  r = Results("{\"id\":1}", PartOutcome::kTooLarge);
  m = MergeParts(Parts(AggregateMerge::kFlat, false), &r, "rid");
  EXPECT_EQ(m.body, "{\"id\":1,\"_errors\":{\"reviews\":\"too_large\"}}\n");
}

TEST(PartMerge, RequiredFailureIs502NamingThePartOnly) {
  auto r = Results("{\"id\":1}", PartOutcome::kError);
  const MergedAnswer m = MergeParts(Parts(AggregateMerge::kKeys, true), &r, "abc");
  EXPECT_EQ(m.status, 502);
  EXPECT_EQ(m.body,
            "{\"error\":\"aggregate_part_failed\",\"part\":\"reviews\",\"reason\":\"error\","
            "\"message\":\"a required part of this answer failed\",\"request_id\":\"abc\"}\n");
}

TEST(PartMerge, BodiesThatAreNotJsonAreJudged) {
  for (const std::string& bad :
       std::vector<std::string>{"<html>", "{\"a\":1} trailing", "", "{\"a\":", "nan",
                                std::string(100, '[') + std::string(100, ']')}) {
    auto r = Results("{}", PartOutcome::kOk, bad);
    const MergedAnswer m = MergeParts(Parts(AggregateMerge::kKeys, false), &r, "rid");
    EXPECT_EQ(r[1].outcome, PartOutcome::kNotJson) << bad;
    EXPECT_EQ(m.body, "{\"product\":{},\"reviews\":null,\"_errors\":{\"reviews\":\"not_json\"}}\n")
        << bad;
  }
  auto r = Results("{}", PartOutcome::kOk, "[1]");
  MergeParts(Parts(AggregateMerge::kFlat, false), &r, "rid");
  EXPECT_EQ(r[1].outcome, PartOutcome::kNotObject);
}

TEST(PartMerge, StringsWithBracketsDoNotCountAsNesting) {
  auto r = Results("{\"s\":\"" + std::string(200, '[') + "\\\"\"}", PartOutcome::kOk, "1");
  const MergedAnswer m = MergeParts(Parts(AggregateMerge::kKeys, true), &r, "rid");
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(r[0].outcome, PartOutcome::kOk);
}

}  // namespace
}  // namespace edge::l7
