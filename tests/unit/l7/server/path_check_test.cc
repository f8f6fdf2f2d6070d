#include "l7/server/path_check.h"

#include <gtest/gtest.h>

namespace edge::l7 {
namespace {

TEST(PathCheckTest, OrdinaryPathsPass) {
  for (const char* p : {"/", "/a", "/a/b/", "/a..b", "/.well-known/x", "/...", "/a/..b/c",
                        "/%2e%2e%2e", "/a.", "/.a", "", "/a/%2Fb"}) {
    EXPECT_TRUE(PathHasNoDotSegments(p)) << p;
  }
}

TEST(PathCheckTest, DotSegmentsAreRefusedLiteralOrEncoded) {
  for (const char* p : {"/.", "/..", "/./a", "/../a", "/a/./b", "/a/../b", "/a/..", "/a/.", "/%2e",
                        "/%2E%2e/x", "/.%2e/x", "/%2e./x", "/a/%2e%2e", "..", "."}) {
    EXPECT_FALSE(PathHasNoDotSegments(p)) << p;
  }
}

}  // namespace
}  // namespace edge::l7
