#include "l7/observe/query_redactor.h"

#include "gtest/gtest.h"

namespace edge::l7 {
namespace {

const QueryRedactor& Redactor() {
  static const QueryRedactor r({"api_key", "token"});
  return r;
}

std::string R(std::string_view target) { return Redactor().Redact(target); }

TEST(QueryRedactorTest, LeavesOtherParametersAndPathsAlone) {
  EXPECT_EQ(R("/v1/products"), "/v1/products");
  EXPECT_EQ(R("/v1/products?page=2&sort=asc"), "/v1/products?page=2&sort=asc");
  EXPECT_EQ(R("/api_key=x"), "/api_key=x");  // not a parameter
  EXPECT_EQ(R("/p?"), "/p?");
  EXPECT_EQ(R("/p?api_key"), "/p?api_key");    // no value to hide
  EXPECT_EQ(R("/p?api_key="), "/p?api_key=");  // empty value
  EXPECT_EQ(R("/p?my_api_key=1&api_keys=2"), "/p?my_api_key=1&api_keys=2");
  EXPECT_EQ(QueryRedactor().Redact("/p?api_key=s"), "/p?api_key=s");  // nothing configured
}

TEST(QueryRedactorTest, ReplacesTheValueKeepsTheName) {
  EXPECT_EQ(R("/p?api_key=s3cr3t"), "/p?api_key=REDACTED");
  EXPECT_EQ(R("/p?a=1&token=abc&b=2"), "/p?a=1&token=REDACTED&b=2");
  EXPECT_EQ(R("/p?token=a=b=c"), "/p?token=REDACTED");  // '=' inside the value
}

TEST(QueryRedactorTest, EveryRepetitionIsRedacted) {
  EXPECT_EQ(R("/p?api_key=one&api_key=two&x=1&api_key=three"),
            "/p?api_key=REDACTED&api_key=REDACTED&x=1&api_key=REDACTED");
}

TEST(QueryRedactorTest, CaseIsFolded) {
  EXPECT_EQ(R("/p?API_KEY=s&Token=t"), "/p?API_KEY=REDACTED&Token=REDACTED");
}

TEST(QueryRedactorTest, PercentEncodedNamesAreDecodedRepeatedly) {
  EXPECT_EQ(R("/p?api%5Fkey=s"), "/p?api%5Fkey=REDACTED");
  EXPECT_EQ(R("/p?api%5fkey=s"), "/p?api%5fkey=REDACTED");
  EXPECT_EQ(R("/p?%61%70%69_key=s"), "/p?%61%70%69_key=REDACTED");
  EXPECT_EQ(R("/p?api%255Fkey=s"), "/p?api%255Fkey=REDACTED");      // double-encoded
  EXPECT_EQ(R("/p?api%25255Fkey=s"), "/p?api%25255Fkey=REDACTED");  // triple
  EXPECT_EQ(R("/p?%74%4F%6B%45%6E=s"), "/p?%74%4F%6B%45%6E=REDACTED");
  EXPECT_EQ(R("/p?api%5Gkey=s"), "/p?api%5Gkey=s");  // a broken escape is no underscore
}

TEST(QueryRedactorTest, SpellingsFrameworksMergeAreRedacted) {
  EXPECT_EQ(R("/p?api-key=s"), "/p?api-key=REDACTED");
  EXPECT_EQ(R("/p?api.key=s"), "/p?api.key=REDACTED");  // PHP: '.' -> '_'
  EXPECT_EQ(R("/p?api+key=s"), "/p?api+key=REDACTED");  // PHP: ' ' -> '_'
  EXPECT_EQ(R("/p?api%20key=s"), "/p?api%20key=REDACTED");
  EXPECT_EQ(R("/p?api_key[]=s"), "/p?api_key[]=REDACTED");  // array syntax
  EXPECT_EQ(R("/p?api_key%5B0%5D=s"), "/p?api_key%5B0%5D=REDACTED");
  EXPECT_EQ(R("/p?api_key%00junk=s"), "/p?api_key%00junk=REDACTED");  // C strings stop at NUL
  EXPECT_EQ(R("/p?%20api_key=s"), "/p?%20api_key=REDACTED");          // leading space trimmed
}

TEST(QueryRedactorTest, OtherSeparatorsAreHonoured) {
  EXPECT_EQ(R("/p?a=1;api_key=s"), "/p?a=1;api_key=REDACTED");
  EXPECT_EQ(R("/p?a=1?api_key=s"), "/p?a=1?api_key=REDACTED");
  EXPECT_EQ(R("/p?&&api_key=s&&"), "/p?&&api_key=REDACTED&&");
}

TEST(QueryRedactorTest, PathParametersAreRedacted) {
  EXPECT_EQ(R("/v1;api_key=s/items;token=t?x=1"), "/v1;api_key=REDACTED/items;token=REDACTED?x=1");
  EXPECT_EQ(R("/v1;a=1;api_key=s"), "/v1;a=1;api_key=REDACTED");
}

TEST(QueryRedactorTest, NormalizeIsIdempotentOnConfiguredNames) {
  EXPECT_EQ(QueryRedactor::Normalize("API-Key"), "api_key");
  EXPECT_EQ(QueryRedactor::Normalize(QueryRedactor::Normalize("a%2541")), "aa");
  // A configured name with '-' matches its '_' spelling too.
  QueryRedactor dashed({"X-Token"});
  EXPECT_EQ(dashed.Redact("/p?x_token=1"), "/p?x_token=REDACTED");
}

}  // namespace
}  // namespace edge::l7
