// The cache key (what two requests must share to be served the same stored response) and the
// [[cache]] config with its file:line:col errors.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "common/config/toml.h"
#include "l7/filters/cache/cache_config.h"
#include "l7/filters/cache/cache_filter_factory.h"
#include "l7/filters/cache/cache_key.h"
#include "l7/filters/cache/cache_purge.h"
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

TEST(CacheConfigTest, CoalesceTimeoutAndPurgeToken) {
  const std::string token_path = ::testing::TempDir() + "/purge.token";
  { std::ofstream(token_path) << "  0123456789abcdef-token \n"; }
  auto doc = config::ParseToml(
      "[[cache]]\nname = \"hot\"\nmax_bytes = \"1MiB\"\n"
      "coalesce_timeout = \"250ms\"\npurge_token_file = \"" +
          token_path + "\"\n",
      "gateway.toml");
  ASSERT_TRUE(doc.ok());
  auto parsed = ParseCacheConfigs(*doc, "gateway.toml");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ((*parsed)[0].coalesce_timeout_ns, 250'000'000);
  EXPECT_EQ((*parsed)[0].purge_token, "0123456789abcdef-token");
  // Defaults: 5 s, no token (purging refused).
  auto plain = config::ParseToml("[[cache]]\nname = \"hot\"\nmax_bytes = \"1MiB\"\n", "g.toml");
  ASSERT_TRUE(plain.ok());
  auto defaults = ParseCacheConfigs(*plain, "g.toml");
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ((*defaults)[0].coalesce_timeout_ns, 5'000'000'000);
  EXPECT_EQ((*defaults)[0].purge_token, "");

  const std::string base = "[[cache]]\nname = \"hot\"\nmax_bytes = \"1MiB\"\n";
  EXPECT_THAT(ConfigError(base + "coalesce_timeout = \"2m\"\n"), HasSubstr("coalesce_timeout"));
  EXPECT_THAT(ConfigError(base + "purge_token_file = \"/nonexistent/t\"\n"),
              HasSubstr("cannot read"));
  { std::ofstream(token_path) << "short\n"; }
  EXPECT_THAT(ConfigError(base + "purge_token_file = \"" + token_path + "\"\n"),
              HasSubstr("at least 16"));
  std::remove(token_path.c_str());
}

TEST(CachePurge, KeysMatchByForwardedPathHostAndPrefix) {
  // FakeRequest: host api.example.com, path /v1/orders.
  FakeRequest r;
  r.Query("x=1");
  FilterContext ctx(r);
  const std::string k = *PrimaryCacheKey(CacheConfig{}, ctx);
  EXPECT_TRUE(CacheKeyMatches(k, "", "/v1/orders", false));
  EXPECT_FALSE(CacheKeyMatches(k, "", "/v1/", false));
  EXPECT_TRUE(CacheKeyMatches(k, "", "/v1/", true));
  EXPECT_FALSE(CacheKeyMatches(k, "", "/v2/", true));
  EXPECT_TRUE(CacheKeyMatches(k, "api.example.com", "/v1/", true));
  EXPECT_FALSE(CacheKeyMatches(k, "other.example.com", "/v1/", true));
  // A variant key (Vary) starts with its primary key: it goes with it.
  EXPECT_TRUE(CacheKeyMatches(k + "|vary15:accept-encoding5:=gzip", "", "/v1/orders", false));
  EXPECT_FALSE(CacheKeyMatches("garbage", "", "/", true));
  EXPECT_FALSE(CacheKeyMatches("99:short", "", "/", true));
}

TEST(CachePurge, NeedsTheBearerToken) {
  CacheConfig c;
  c.name = "hot";
  c.max_bytes = 1 << 20;
  Cache none(c);
  EXPECT_EQ(PurgeAuthorized(none, "Bearer anything-at-all-here"), 403);
  c.purge_token = "0123456789abcdef";
  Cache cache(c);
  EXPECT_EQ(PurgeAuthorized(cache, std::nullopt), 401);
  EXPECT_EQ(PurgeAuthorized(cache, "Bearer 0123456789abcdeX"), 401);
  EXPECT_EQ(PurgeAuthorized(cache, "Bearer 0123456789abcde"), 401);
  EXPECT_EQ(PurgeAuthorized(cache, "Basic 0123456789abcdef"), 401);
  EXPECT_EQ(PurgeAuthorized(cache, "Bearer 0123456789abcdef"), 0);
  EXPECT_EQ(PurgeAuthorized(cache, "bearer 0123456789abcdef"), 0);

  CacheRegistry registry;
  registry.caches.emplace("hot", std::make_shared<Cache>(c));
  const std::string auth = "Bearer 0123456789abcdef";
  EXPECT_EQ(HandleCachePurge(&registry, "GET", "/cache/hot/purge", "all=1", auth).status, 405);
  EXPECT_EQ(HandleCachePurge(&registry, "POST", "/cache/cold/purge", "all=1", auth).status, 404);
  EXPECT_EQ(HandleCachePurge(&registry, "POST", "/cache/hot/purge", "all=1", "").status, 401);
  EXPECT_EQ(HandleCachePurge(&registry, "POST", "/cache/hot/purge", "path=x", auth).status, 400);
  EXPECT_EQ(HandleCachePurge(&registry, "POST", "/cache/hot/purge", "path=%2", auth).status, 400);
  EXPECT_EQ(HandleCachePurge(&registry, "POST", "/cache/hot/purge", "zap=1", auth).status, 400);
  EXPECT_EQ(
      HandleCachePurge(&registry, "POST", "/cache/hot/purge", "path=/a&prefix=/b", auth).status,
      400);
  PurgeAnswer ok = HandleCachePurge(&registry, "PURGE", "/cache/hot", "prefix=%2Fv1%2F", auth);
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "{\"cache\":\"hot\",\"purged\":0}\n");
}

}  // namespace
}  // namespace edge::l7
