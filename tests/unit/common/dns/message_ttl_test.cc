#include "common/dns/message_ttl.h"

#include <gtest/gtest.h>

#include <vector>

namespace edge::dns {
namespace {

// A response to "_x._tcp.a" SRV with answers of the given TTLs (compressed owner names).
std::vector<uint8_t> Response(std::vector<uint32_t> ttls) {
  std::vector<uint8_t> m = {0x12, 0x34, 0x81, 0x80, 0, 1, 0, static_cast<uint8_t>(ttls.size()),
                            0,    0,    0,    0};
  for (int b : std::initializer_list<int>{2, '_', 'x', 4, '_', 't', 'c', 'p', 1, 'a', 0})
    m.push_back(static_cast<uint8_t>(b));
  for (uint8_t b : {0, 33, 0, 1}) m.push_back(static_cast<uint8_t>(b));
  for (uint32_t ttl : ttls) {
    for (uint8_t b : {0xC0, 12, 0, 33, 0, 1}) m.push_back(static_cast<uint8_t>(b));
    for (int shift : {24, 16, 8, 0}) m.push_back(static_cast<uint8_t>(ttl >> shift));
    // rdata: priority, weight, port, target "a" (uncompressed)
    for (int b : std::initializer_list<int>{0, 9, 0, 0, 0, 1, 0x1f, 0x90, 1, 'a', 0})
      m.push_back(static_cast<uint8_t>(b));
  }
  return m;
}

TEST(MinAnswerTtl, SmallestOfTheAnswers) {
  EXPECT_EQ(*MinAnswerTtl(Response({300, 30, 60})), 30u);
  EXPECT_EQ(*MinAnswerTtl(Response({7})), 7u);
  EXPECT_EQ(*MinAnswerTtl(Response({0x80000000u, 60})), 0u);  // RFC 2181: top bit set means 0
}

TEST(MinAnswerTtl, NoAnswerIsNotFound) {
  EXPECT_TRUE(absl::IsNotFound(MinAnswerTtl(Response({})).status()));
}

TEST(MinAnswerTtl, EveryTruncationIsAnErrorNotACrash) {
  std::vector<uint8_t> full = Response({10, 20});
  for (size_t n = 0; n < full.size(); ++n) {
    std::vector<uint8_t> cut(full.begin(), full.begin() + static_cast<long>(n));
    auto ttl = MinAnswerTtl(cut);
    EXPECT_FALSE(ttl.ok()) << n;
  }
}

TEST(MinAnswerTtl, ReservedLabelTypesAreRefused) {
  std::vector<uint8_t> m = Response({10});
  m[12] = 0x40;  // the question's first label length uses a reserved type
  EXPECT_TRUE(absl::IsInvalidArgument(MinAnswerTtl(m).status()));
}

}  // namespace
}  // namespace edge::dns
