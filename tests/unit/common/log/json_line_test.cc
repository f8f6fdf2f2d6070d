#include "common/log/json_line.h"

#include "common/log/sampler.h"
#include "gtest/gtest.h"

namespace edge::log {
namespace {

std::string Escaped(std::string_view s) {
  std::string out;
  AppendJsonEscaped(&out, s);
  return out;
}

TEST(JsonLineTest, EscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(Escaped("a\"b\\c"), "a\\\"b\\\\c");
  EXPECT_EQ(Escaped("x\ny\r\tz"), "x\\ny\\r\\tz");
  EXPECT_EQ(Escaped(std::string_view("\0\x01\x1f\x7f", 4)), "\\u0000\\u0001\\u001f\\u007f");
}

TEST(JsonLineTest, KeepsValidUtf8AndReplacesInvalidBytes) {
  EXPECT_EQ(Escaped("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  EXPECT_EQ(Escaped("\xff"), "\\ufffd");
  EXPECT_EQ(Escaped("\xc0\xaf"), "\\ufffd\\ufffd");                        // overlong '/'
  EXPECT_EQ(Escaped("\xed\xa0\x80"), "\\ufffd\\ufffd\\ufffd");             // a surrogate
  EXPECT_EQ(Escaped("\xe2\x82"), "\\ufffd\\ufffd");                        // truncated
  EXPECT_EQ(Escaped("\xf4\x90\x80\x80"), "\\ufffd\\ufffd\\ufffd\\ufffd");  // above U+10FFFF
}

TEST(JsonLineTest, WritesAFlatObject) {
  std::string out;
  JsonLine(&out)
      .String("a", "x")
      .StringOrNull("b", "")
      .Int("c", -5)
      .OptionalInt("d", std::nullopt)
      .Bool("e", true)
      .Finish();
  EXPECT_EQ(out, R"({"a":"x","b":null,"c":-5,"d":null,"e":true})");
}

TEST(SamplerTest, RatesAtTheEdges) {
  Sampler s(42);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_TRUE(s.Keep(1.0));
    EXPECT_FALSE(s.Keep(0.0));
  }
  EXPECT_TRUE(Sampler::KeepKey(1.0, ~0ULL));
  EXPECT_FALSE(Sampler::KeepKey(0.0, 0));
  EXPECT_TRUE(Sampler::KeepKey(0.5, 0x7fffffffffffffffULL));
  EXPECT_FALSE(Sampler::KeepKey(0.5, 0x8000000000000000ULL));
}

TEST(SamplerTest, KeepsAboutTheRate) {
  Sampler s(7);  // fixed seed: the count is deterministic
  int kept = 0;
  for (int i = 0; i < 100000; ++i) kept += s.Keep(0.1);
  EXPECT_GT(kept, 9000);
  EXPECT_LT(kept, 11000);
}

}  // namespace
}  // namespace edge::log
