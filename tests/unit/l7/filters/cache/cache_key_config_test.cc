// The cache key (what two requests must share to be served the same stored response) and the
// [[cache]] config with its file:line:col errors.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/config/toml.h"
#include "l7/filters/cache/cache_config.h"
#include "l7/filters/cache/cache_filter_factory.h"
#include "l7/filters/cache/cache_key.h"
#include "tests/unit/l7/filters/auth/fake_request.h"

namespace edge::l7 {
namespace {

using testing::FakeRequest;
using ::testing::HasSubstr;

std::string Key(const FakeRequest& r, const CacheConfig& c = {},
                std::optional<std::string> upstream_query = std::nullopt,
                std::string consumer = "") {
  FilterContext ctx(r);
  ctx.upstream_query = std::move(upstream_query);
  if (!consumer.empty()) {
    ctx.identity.authenticated = true;
    ctx.identity.consumer = consumer;
  }
  auto k = PrimaryCacheKey(c, ctx);
  return k ? *k : "(none)";
}

TEST(CacheKey, QueryIsKeptByteForByte) {
  EXPECT_NE(Key(FakeRequest().Query("a=1&b=2")), Key(FakeRequest().Query("b=2&a=1")));
  EXPECT_NE(Key(FakeRequest().Query("a=1&a=2")), Key(FakeRequest().Query("a=2&a=1")));
  EXPECT_NE(Key(FakeRequest().Query("a=%41")), Key(FakeRequest().Query("a=A")));
  EXPECT_EQ(Key(FakeRequest().Query("a=1")), Key(FakeRequest().Query("a=1")));
}

TEST(CacheKey, UsesTheQueryTheUpstreamGets) {
  // A filter removed api_key from the query: the key is what goes upstream.
  EXPECT_EQ(Key(FakeRequest().Query("api_key=s&x=1"), {}, "x=1"), Key(FakeRequest().Query("x=1")));
}

TEST(CacheKey, RoutesAreApart) {
  EXPECT_NE(Key(FakeRequest().Route("a")), Key(FakeRequest().Route("b")));
}

TEST(CacheKey, PartsCannotSpillIntoEachOther) {
  // Without length prefixes, route "a" + query "b|c" could equal route "a|b" + query "c".
  EXPECT_NE(Key(FakeRequest().Route("ab").Query("c")), Key(FakeRequest().Route("a").Query("bc")));
}

TEST(CacheKey, HeaderExtraAndAnotherSpellingBypasses) {
  CacheConfig c;
  c.key.push_back({CacheKeyExtra::Kind::kHeader, "accept-encoding"});
  EXPECT_NE(Key(FakeRequest().Header("Accept-Encoding", "gzip"), c),
            Key(FakeRequest().Header("Accept-Encoding", "br"), c));
  EXPECT_NE(Key(FakeRequest(), c), Key(FakeRequest().Header("Accept-Encoding", ""), c));
  EXPECT_EQ(Key(FakeRequest().Header("Accept_Encoding", "br"), c), "(none)");
}

TEST(CacheKey, ConsumerExtra) {
  CacheConfig c;
  c.key.push_back({CacheKeyExtra::Kind::kConsumer, ""});
  EXPECT_NE(Key(FakeRequest(), c, std::nullopt, "alice"),
            Key(FakeRequest(), c, std::nullopt, "bob"));
  EXPECT_NE(Key(FakeRequest(), c), Key(FakeRequest(), c, std::nullopt, "alice"));
  // Without the extra, consumers share a key (the filter then stores only public responses).
  EXPECT_EQ(Key(FakeRequest(), {}, std::nullopt, "alice"),
            Key(FakeRequest(), {}, std::nullopt, "bob"));
}

TEST(CacheKey, VaryVariants) {
  std::vector<std::string> vary;
  ASSERT_TRUE(ParseVary("Accept-Encoding, accept-language ,Accept-Encoding", &vary));
  EXPECT_EQ(vary, (std::vector<std::string>{"accept-encoding", "accept-language"}));
  std::vector<std::string> star;
  EXPECT_FALSE(ParseVary("Accept, *", &star));
  FakeRequest gzip, br, spelled;
  gzip.Header("Accept-Encoding", "gzip");
  br.Header("Accept-Encoding", "br");
  spelled.Header("Accept_Encoding", "br");
  FilterContext a(gzip), b(br), s(spelled);
  EXPECT_NE(*VariantCacheKey("p", vary, a), *VariantCacheKey("p", vary, b));
  EXPECT_FALSE(VariantCacheKey("p", vary, s).has_value());
}

std::string ConfigError(const std::string& text) {
  auto doc = config::ParseToml(text, "gateway.toml");
  if (!doc.ok()) return std::string(doc.status().message());
  auto parsed = ParseCacheConfigs(*doc, "gateway.toml");
  return parsed.ok() ? "(fine)" : std::string(parsed.status().message());
}

TEST(CacheConfigTest, ReadsAFullTable) {
  auto doc = config::ParseToml(R"([[cache]]
name = "hot"
max_bytes = "1MiB"
max_object_bytes = "64KiB"
key = ["header:Accept-Encoding", "consumer"]
)",
                               "gateway.toml");
  ASSERT_TRUE(doc.ok());
  auto parsed = ParseCacheConfigs(*doc, "gateway.toml");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->size(), 1u);
  const CacheConfig& c = (*parsed)[0];
  EXPECT_EQ(c.max_bytes, 1u << 20);
  EXPECT_EQ(c.max_object_bytes, 64u << 10);
  ASSERT_EQ(c.key.size(), 2u);
  EXPECT_EQ(c.key[0].header, "accept-encoding");
  EXPECT_TRUE(c.keyed_by_consumer());
}

TEST(CacheConfigTest, ErrorsNameFileLineColumn) {
  EXPECT_THAT(ConfigError("[[cache]]\nname = \"hot\"\n"), HasSubstr("max_bytes"));
  EXPECT_THAT(ConfigError("[[cache]]\nname = \"hot\"\nmax_bytes = \"1KiB\"\n"),
              HasSubstr("gateway.toml:3:13"));
  EXPECT_THAT(ConfigError("[[cache]]\nname = \"hot\"\nmax_bytes = \"1MiB\"\n"
                          "max_object_bytes = \"2MiB\"\n"),
              HasSubstr("must not exceed max_bytes"));
  EXPECT_THAT(ConfigError("[[cache]]\nname = \"hot\"\nmax_bytes = \"1MiB\"\nkey = [\"cookie\"]\n"),
              HasSubstr("unknown key extra \"cookie\""));
  EXPECT_THAT(ConfigError("[[cache]]\nname = \"hot\"\nmax_bytes = \"1MiB\"\n"
                          "key = [\"header:X_Tenant\"]\n"),
              HasSubstr("'-'"));
  EXPECT_THAT(ConfigError("[[cache]]\nname = \"hot\"\nmax_bytes = \"1MiB\"\nttl = 5\n"),
              HasSubstr("unknown key"));
  EXPECT_THAT(ConfigError("[[cache]]\nname = \"a\"\nmax_bytes = \"1MiB\"\n"
                          "[[cache]]\nname = \"a\"\nmax_bytes = \"1MiB\"\n"),
              HasSubstr("duplicate"));
}

TEST(CacheRegistryTest, ReloadKeepsAnUnchangedCacheAndItsContents) {
  auto doc = config::ParseToml("[[cache]]\nname = \"hot\"\nmax_bytes = \"1MiB\"\n", "g.toml");
  ASSERT_TRUE(doc.ok());
  auto first = BuildCacheRegistry(*doc, "g.toml");
  ASSERT_TRUE(first.ok());
  auto second = BuildCacheRegistry(*doc, "g.toml", first->get());
  ASSERT_TRUE(second.ok());
  EXPECT_EQ((*first)->caches.at("hot"), (*second)->caches.at("hot"));
  auto changed_doc =
      config::ParseToml("[[cache]]\nname = \"hot\"\nmax_bytes = \"2MiB\"\n", "g.toml");
  auto changed = BuildCacheRegistry(*changed_doc, "g.toml", second->get());
  ASSERT_TRUE(changed.ok());
  EXPECT_NE((*changed)->caches.at("hot"), (*second)->caches.at("hot"));
  RouteConfig route;
  route.name = "r";
  route.cache = "nope";
  EXPECT_THAT(std::string(MakeCacheFilters(**changed, route).status().message()),
              HasSubstr("no [[cache]] of that name"));
}

}  // namespace
}  // namespace edge::l7
