#include "l7/server/request_id.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace edge::l7 {
namespace {

TEST(RequestIdTest, AcceptsTheAllowedAlphabet) {
  EXPECT_TRUE(IsValidRequestId("a"));
  EXPECT_TRUE(IsValidRequestId("abc-123.X_y"));
  EXPECT_TRUE(IsValidRequestId("0123456789abcdef0123456789abcdef"));
  EXPECT_TRUE(IsValidRequestId(std::string(200, 'z')));
}

TEST(RequestIdTest, RefusesEmptyLongAndOtherBytes) {
  EXPECT_FALSE(IsValidRequestId(""));
  EXPECT_FALSE(IsValidRequestId(std::string(201, 'z')));
  for (std::string bad : std::initializer_list<std::string>{
           "a b", "a\tb", "a,b", "a;b", "a\"b", "a/b", "a:b", "caf\xc3\xa9", std::string("a\0b", 3),
           "a\r\nX-Evil: 1", "{id}", "a+b", "a%20b"}) {
    EXPECT_FALSE(IsValidRequestId(bad)) << bad;
  }
}

TEST(RequestIdTest, GeneratedIdsAreValidAndUnique) {
  RequestIdGenerator gen;
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {
    std::string id = gen.Next();
    EXPECT_EQ(id.size(), 32u);
    EXPECT_TRUE(IsValidRequestId(id));
    EXPECT_TRUE(seen.insert(id).second) << id;
  }
}

TEST(RequestIdTest, GeneratorsWithDifferentSeedsDoNotCollide) {
  RequestIdGenerator a(1), b(2);
  EXPECT_NE(a.Next(), b.Next());
  RequestIdGenerator c(7), d(7);
  EXPECT_EQ(c.Next(), d.Next());  // deterministic for a seed
  RequestIdGenerator e(0x0123456789abcdefULL);
  EXPECT_EQ(e.Next(), "0123456789abcdef0000000000000001");
  std::string reused = "an earlier, longer id that the next one replaces entirely";
  e.AssignNext(&reused);
  EXPECT_EQ(reused, "0123456789abcdef0000000000000002");
}

}  // namespace
}  // namespace edge::l7
