// API keys: hashing, hex parsing, store lookup (right and wrong keys), query parameter extraction.

#include "l7/filters/auth/api_key.h"

#include <gtest/gtest.h>

namespace edge::l7 {
namespace {

TEST(ApiKeyTest, Sha256HexRoundTripAndKnownVector) {
  // SHA-256("abc"), FIPS 180-2.
  const std::string abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  EXPECT_EQ(Sha256Hex(Sha256("abc")), abc);
  auto parsed = ParseSha256Hex("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD");
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(*parsed, Sha256("abc"));
  EXPECT_FALSE(ParseSha256Hex(abc.substr(1)).has_value());
  EXPECT_FALSE(ParseSha256Hex(abc + "0").has_value());
  EXPECT_FALSE(ParseSha256Hex(std::string(63, '0') + "g").has_value());
}

TEST(ApiKeyTest, LookupFindsOnlyTheRightKey) {
  ApiKeyStore store;
  ASSERT_TRUE(store.Add({"alice", Sha256("alice-secret-key"), {"orders:read"}}).ok());
  ASSERT_TRUE(store.Add({"bob", Sha256("bob-secret-key"), {}}).ok());
  EXPECT_FALSE(store.Add({"carol", Sha256("bob-secret-key"), {}}).ok());  // shared key
  const ApiKeyEntry* alice = store.Lookup("alice-secret-key");
  ASSERT_NE(alice, nullptr);
  EXPECT_EQ(alice->consumer, "alice");
  EXPECT_EQ(alice->scopes, std::vector<std::string>{"orders:read"});
  EXPECT_EQ(store.Lookup("bob-secret-key")->consumer, "bob");
  EXPECT_EQ(store.Lookup("alice-secret-kez"), nullptr);
  EXPECT_EQ(store.Lookup("alice-secret-key "), nullptr);
  EXPECT_EQ(store.Lookup(""), nullptr);
  EXPECT_EQ(store.Lookup(std::string(kMaxApiKeyBytes + 1, 'a')), nullptr);
  // The stored hash itself is not a key.
  EXPECT_EQ(store.Lookup(Sha256Hex(Sha256("alice-secret-key"))), nullptr);
}

TEST(ApiKeyTest, QueryParameter) {
  EXPECT_EQ(QueryParameter("api_key=abc", "api_key"), "abc");
  EXPECT_EQ(QueryParameter("x=1&api_key=a%2Bb+c&api_key=second", "api_key"), "a+b c");
  EXPECT_EQ(QueryParameter("api_key", "api_key"), "");
  EXPECT_EQ(QueryParameter("xapi_key=1", "api_key"), std::nullopt);
  EXPECT_EQ(QueryParameter("", "api_key"), std::nullopt);
  EXPECT_EQ(QueryParameter("api_key=%4", "api_key"), std::nullopt);
  EXPECT_EQ(QueryParameter("api_key=%zz", "api_key"), std::nullopt);
  EXPECT_EQ(QueryParameter("api_key=%41", "api_key"), "A");
  // Names are compared decoded, as a backend reads them.
  EXPECT_EQ(QueryParameter("api%5Fkey=v", "api_key"), "v");
  EXPECT_EQ(QueryParameter("api%5key=v", "api_key"), std::nullopt);
}

TEST(ApiKeyTest, CountAndRemoveQueryParameter) {
  EXPECT_EQ(CountQueryParameter("", "api_key"), 0u);
  EXPECT_EQ(CountQueryParameter("api_key=1&x=2&api%5fkey=3&api_key", "api_key"), 3u);
  EXPECT_EQ(CountQueryParameter("xapi_key=1&api_keyx=2", "api_key"), 0u);
  EXPECT_EQ(QueryWithout("a=1&api_key=k&b=2&api%5Fkey=j", "api_key"), "a=1&b=2");
  EXPECT_EQ(QueryWithout("api_key=k", "api_key"), "");
  EXPECT_EQ(QueryWithout("a=%41&b", "api_key"), "a=%41&b");
}

}  // namespace
}  // namespace edge::l7
