// Accept-Encoding negotiation (RFC 9110 12.5.3): q-values, refusals, "*", and malformed lists.

#include "l7/filters/transform/accept_encoding.h"

#include <gtest/gtest.h>

namespace edge::l7 {
namespace {

constexpr ContentCoding kId = ContentCoding::kIdentity;
constexpr ContentCoding kGz = ContentCoding::kGzip;
constexpr ContentCoding kBr = ContentCoding::kBrotli;

TEST(AcceptEncoding, QValues) {
  EXPECT_EQ(ParseQValue("1"), 1000);
  EXPECT_EQ(ParseQValue("1.000"), 1000);
  EXPECT_EQ(ParseQValue("0"), 0);
  EXPECT_EQ(ParseQValue("0.5"), 500);
  EXPECT_EQ(ParseQValue("0.123"), 123);
  EXPECT_EQ(ParseQValue("0."), 0);
  for (std::string_view bad :
       {"", "1.5", "1.001", "0.1234", "2", ".5", "-0", "0,5", "abc", "1e0", "0.5 "}) {
    EXPECT_EQ(ParseQValue(bad), -1) << bad;
  }
}

TEST(AcceptEncoding, Chooses) {
  struct Case {
    std::string_view accept;
    ContentCoding with_br;
    ContentCoding gzip_only;
  };
  const Case cases[] = {
      {"", kId, kId},
      {"gzip", kGz, kGz},
      {"GZip", kGz, kGz},
      {"x-gzip", kGz, kGz},
      {"br", kBr, kId},
      {"gzip, br", kBr, kGz},  // a tie: br
      {"gzip;q=1, br;q=0.9", kGz, kGz},
      {"gzip;q=0.5, br", kBr, kGz},
      {"gzip;q=0", kId, kId},
      {"gzip ; q=0 , br ; q=0", kId, kId},
      {"*", kBr, kGz},
      {"*;q=0", kId, kId},
      {"gzip;q=0, *", kBr, kId},
      {"br;q=0, *", kGz, kGz},
      {"identity", kId, kId},
      {"identity;q=0", kId, kId},
      {"deflate, compress", kId, kId},
      {"gzip;q=abc", kId, kId},
      {"gzip;q=1.5", kId, kId},
      {"gzip;q", kId, kId},
      {"gzip;level=9", kGz, kGz},  // unknown parameters ignored
      {",,gzip,,", kGz, kGz},
      {"gzip, gzip;q=0", kGz, kGz},  // the best q named wins
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ChooseContentCoding(c.accept, true), c.with_br) << c.accept;
    EXPECT_EQ(ChooseContentCoding(c.accept, false), c.gzip_only) << c.accept;
  }
}

TEST(AcceptEncoding, HostileInputIsBounded) {
  std::string many(100000, ',');
  EXPECT_EQ(ChooseContentCoding(many, true), kId);
  std::string semis = "gzip" + std::string(10000, ';');
  EXPECT_EQ(ChooseContentCoding(semis, true), kId);
  EXPECT_EQ(ChooseContentCoding(std::string_view("gz\0ip", 5), true), kId);
}

}  // namespace
}  // namespace edge::l7
