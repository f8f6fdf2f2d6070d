#include "l7/router/router.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>

// GCC 12 warns falsely about std::string copies once enough of this file inlines (-Wrestrict,
// GCC PR 105651); the tests build strings, they do not overlap them.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wrestrict"
#endif

namespace edge::l7 {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

// A builder for routes, so each test reads as a table of what matters.
struct R {
  RouteConfig c;
  explicit R(std::string name) {
    c.name = std::move(name);
    c.upstream = "u";
  }
  R& Host(std::string h) { return c.host = std::move(h), *this; }
  R& Exact(std::string p) { return c.path_kind = PathMatch::kExact, c.path = std::move(p), *this; }
  R& Prefix(std::string p) {
    return c.path_kind = PathMatch::kPrefix, c.path = std::move(p), *this;
  }
  R& Template(std::string p) {
    return c.path_kind = PathMatch::kTemplate, c.path = std::move(p), *this;
  }
  R& Regex(std::string p) { return c.path_kind = PathMatch::kRegex, c.path = std::move(p), *this; }
  R& Methods(std::vector<std::string> m) { return c.methods = std::move(m), *this; }
  R& Header(std::string name, std::optional<std::string> value = std::nullopt) {
    c.headers.push_back({std::move(name), std::move(value)});
    return *this;
  }
  R& Strip(std::string p) { return c.strip_prefix = std::move(p), *this; }
  R& Rewrite(std::string p) { return c.prefix_rewrite = std::move(p), *this; }
  R& Auth(std::string a) { return c.auth = std::move(a), *this; }
  R& CaseInsensitive() { return c.case_insensitive = true, *this; }
};

std::unique_ptr<Router> Build(std::vector<R> routes) {
  std::vector<RouteConfig> configs;
  for (R& r : routes) configs.push_back(std::move(r.c));
  auto router = Router::Build(std::move(configs));
  EXPECT_TRUE(router.ok()) << router.status();
  return router.ok() ? *std::move(router) : nullptr;
}

// Headers of a test request; names are looked up lower case, as the server does.
using Headers = std::map<std::string, std::string>;

RouteMatch Match(const Router& router, std::string_view host, std::string_view path,
                 std::string_view method = "GET", const Headers& headers = {}) {
  return router.Match(host, path, method, [&](std::string_view name) {
    auto it = headers.find(std::string(name));
    return it == headers.end() ? std::nullopt : std::optional<std::string_view>(it->second);
  });
}

// The name of the matched route, "404", or "405 <allow>".
std::string Name(const RouteMatch& m) {
  switch (m.outcome) {
    case RouteMatch::kMatched:
      return m.route->name;
    case RouteMatch::kNotFound:
      return "404";
    case RouteMatch::kMethodNotAllowed:
      return "405 " + m.allow;
    case RouteMatch::kCaseMismatch:
      return "case";
  }
  return "?";
}

std::string Route(const Router& router, std::string_view host, std::string_view path,
                  std::string_view method = "GET", const Headers& headers = {}) {
  return Name(Match(router, host, path, method, headers));
}

TEST(Router, EmptyRouterFindsNothing) {
  auto router = Build({});
  EXPECT_EQ(Route(*router, "a.com", "/"), "404");
}

TEST(Router, ExactPath) {
  auto router = Build({R("e").Exact("/healthz")});
  EXPECT_EQ(Route(*router, "a.com", "/healthz"), "e");
  EXPECT_EQ(Route(*router, "a.com", "/healthz/"), "e");  // one trailing slash
  EXPECT_EQ(Route(*router, "a.com", "/healthz//"), "404");
  EXPECT_EQ(Route(*router, "a.com", "/healthz2"), "404");
  EXPECT_EQ(Route(*router, "a.com", "/HEALTHZ"), "404");  // paths are case-sensitive
  EXPECT_EQ(Route(*router, "a.com", "/"), "404");
}

TEST(Router, PrefixEndsAtASegmentBoundary) {
  auto router = Build({R("p").Prefix("/v1/products"), R("slash").Prefix("/static/")});
  EXPECT_EQ(Route(*router, "a", "/v1/products"), "p");
  EXPECT_EQ(Route(*router, "a", "/v1/products/"), "p");
  EXPECT_EQ(Route(*router, "a", "/v1/products/7/reviews"), "p");
  EXPECT_EQ(Route(*router, "a", "/v1/productsX"), "404");
  EXPECT_EQ(Route(*router, "a", "/v1/products-admin"), "404");
  EXPECT_EQ(Route(*router, "a", "/v1/product"), "404");
  EXPECT_EQ(Route(*router, "a", "/static/"), "slash");
  EXPECT_EQ(Route(*router, "a", "/static/app.js"), "slash");
  EXPECT_EQ(Route(*router, "a", "/static"), "404");  // the prefix includes its '/'
}

TEST(Router, RootPrefixMatchesEverything) {
  auto router = Build({R("root").Prefix("/")});
  EXPECT_EQ(Route(*router, "a", "/"), "root");
  EXPECT_EQ(Route(*router, "a", "/x/y/z"), "root");
  EXPECT_EQ(Route(*router, "a", "//double"), "root");
}

TEST(Router, LongerPrefixWins) {
  auto router = Build(
      {R("short").Prefix("/api"), R("long").Prefix("/api/v2/admin"), R("mid").Prefix("/api/v2")});
  EXPECT_EQ(Route(*router, "a", "/api/v1/x"), "short");
  EXPECT_EQ(Route(*router, "a", "/api/v2/x"), "mid");
  EXPECT_EQ(Route(*router, "a", "/api/v2/admin/users"), "long");
  EXPECT_EQ(Route(*router, "a", "/api/v2/administrator"), "mid");
}

TEST(Router, TemplateCapturesWholeSegments) {
  auto router = Build({R("user").Template("/v1/users/{id}"),
                       R("order").Template("/v1/users/{user}/orders/{order}")});
  RouteMatch m = Match(*router, "a", "/v1/users/42");
  ASSERT_EQ(Name(m), "user");
  EXPECT_THAT(m.params, ElementsAre(Pair("id", "42")));
  m = Match(*router, "a", "/v1/users/7/orders/x-9");
  ASSERT_EQ(Name(m), "order");
  EXPECT_THAT(m.params, ElementsAre(Pair("user", "7"), Pair("order", "x-9")));
  EXPECT_EQ(Route(*router, "a", "/v1/users/"), "404");  // a capture is never empty
  m = Match(*router, "a", "/v1/users/42/");  // one trailing slash: same route, same captures
  ASSERT_EQ(Name(m), "user");
  EXPECT_THAT(m.params, ElementsAre(Pair("id", "42")));
  EXPECT_EQ(Route(*router, "a", "/v1/users/42//"), "404");
  EXPECT_EQ(Route(*router, "a", "/v1/users/42/extra"), "404");
  EXPECT_EQ(Route(*router, "a", "/v1/users"), "404");
  EXPECT_EQ(Route(*router, "a", "/v2/users/42"), "404");
  // Percent-encoded text is captured as received, never decoded.
  m = Match(*router, "a", "/v1/users/a%2Fb");
  ASSERT_EQ(Name(m), "user");
  EXPECT_THAT(m.params, ElementsAre(Pair("id", "a%2Fb")));
}

TEST(Router, TemplateWithMoreLiteralsWins) {
  auto router = Build({R("generic").Template("/{kind}/{id}"), R("users").Template("/users/{id}"),
                       R("me").Template("/users/me")});
  EXPECT_EQ(Route(*router, "a", "/users/me"), "me");
  EXPECT_EQ(Route(*router, "a", "/users/7"), "users");
  EXPECT_EQ(Route(*router, "a", "/orders/7"), "generic");
}

TEST(Router, RegexIsAFullMatch) {
  auto router = Build({R("re").Regex("/v[0-9]+/items/[a-z]+")});
  EXPECT_EQ(Route(*router, "a", "/v12/items/abc"), "re");
  EXPECT_EQ(Route(*router, "a", "/v12/items/abc/"), "404");
  EXPECT_EQ(Route(*router, "a", "/x/v1/items/abc"), "404");
  EXPECT_EQ(Route(*router, "a", "/v/items/abc"), "404");
}

TEST(Router, PathPrecedence) {
  // exact > template > prefix (longest) > regex > any, whatever the config order.
  auto router = Build({R("any"), R("regex").Regex("/a/.*"), R("prefix").Prefix("/a"),
                       R("template").Template("/a/{x}"), R("exact").Exact("/a/b")});
  EXPECT_EQ(Route(*router, "h", "/a/b"), "exact");
  EXPECT_EQ(Route(*router, "h", "/a/c"), "template");
  EXPECT_EQ(Route(*router, "h", "/a/c/d"), "prefix");
  EXPECT_EQ(Route(*router, "h", "/a"), "prefix");
  EXPECT_EQ(Route(*router, "h", "/zzz"), "any");
  auto without_prefix = Build({R("any"), R("regex").Regex("/a/.*")});
  EXPECT_EQ(Route(*without_prefix, "h", "/a/c/d"), "regex");
  EXPECT_EQ(Route(*without_prefix, "h", "/b"), "any");
}

TEST(Router, HostPrecedence) {
  auto router = Build({R("any").Prefix("/"), R("wild").Host("*.example.com").Prefix("/"),
                       R("deeper").Host("*.eu.example.com").Prefix("/"),
                       R("exact").Host("api.example.com").Prefix("/")});
  EXPECT_EQ(Route(*router, "api.example.com", "/"), "exact");
  EXPECT_EQ(Route(*router, "web.example.com", "/"), "wild");
  EXPECT_EQ(Route(*router, "a.b.example.com", "/"), "wild");
  EXPECT_EQ(Route(*router, "api.eu.example.com", "/"), "deeper");
  EXPECT_EQ(Route(*router, "example.com", "/"), "any");  // "*." needs at least one label
  EXPECT_EQ(Route(*router, "badexample.com", "/"), "any");
  EXPECT_EQ(Route(*router, "other.org", "/"), "any");
}

TEST(Router, HostBeatsPath) {
  // A host match outranks a more specific path on a less specific host.
  auto router = Build({R("exact-path").Exact("/a/b"), R("host").Host("h.com").Prefix("/")});
  EXPECT_EQ(Route(*router, "h.com", "/a/b"), "host");
  EXPECT_EQ(Route(*router, "x.com", "/a/b"), "exact-path");
}

TEST(Router, FallsBackToLessSpecificHostWhenPathDoesNotMatch) {
  auto router = Build({R("host").Host("h.com").Prefix("/only"), R("any").Prefix("/")});
  EXPECT_EQ(Route(*router, "h.com", "/only/x"), "host");
  EXPECT_EQ(Route(*router, "h.com", "/other"), "any");
}

TEST(Router, HostIsCaseInsensitiveAndIgnoresTrailingDot) {
  auto router = Build({R("exact").Host("api.example.com"), R("wild").Host("*.example.org")});
  EXPECT_EQ(Route(*router, "API.Example.COM", "/"), "exact");
  EXPECT_EQ(Route(*router, "api.example.com.", "/"), "exact");
  EXPECT_EQ(Route(*router, "API.example.com.", "/"), "exact");
  EXPECT_EQ(Route(*router, "www.example.org.", "/"), "wild");
  EXPECT_EQ(Route(*router, "WWW.EXAMPLE.ORG", "/"), "wild");
  EXPECT_EQ(Route(*router, "", "/"), "404");
}

TEST(Router, MoreConstraintsWinThenConfigOrder) {
  auto router = Build({R("plain").Prefix("/x"), R("first-get").Prefix("/x").Methods({"GET"}),
                       R("second-get").Prefix("/x").Methods({"GET"}),
                       R("get-with-header").Prefix("/x").Methods({"GET"}).Header("x-beta", "1")});
  EXPECT_EQ(Route(*router, "h", "/x", "GET", {{"x-beta", "1"}}), "get-with-header");
  EXPECT_EQ(Route(*router, "h", "/x", "GET", {{"x-beta", "2"}}), "first-get");
  EXPECT_EQ(Route(*router, "h", "/x", "GET"), "first-get");
  EXPECT_EQ(Route(*router, "h", "/x", "POST"), "plain");
}

TEST(Router, TiesAreBrokenByConfigOrderDeterministically) {
  for (int run = 0; run < 3; ++run) {
    auto router = Build({R("a").Exact("/same"), R("b").Exact("/same"), R("c").Prefix("/p"),
                         R("d").Prefix("/p"), R("e"), R("f")});
    EXPECT_EQ(Route(*router, "h", "/same"), "a");
    EXPECT_EQ(Route(*router, "h", "/p/1"), "c");
    EXPECT_EQ(Route(*router, "h", "/q"), "e");
    EXPECT_EQ(Match(*router, "h", "/same").route_index, 0);
    EXPECT_EQ(Match(*router, "h", "/q").route_index, 4);
  }
}

TEST(Router, HeaderPresenceAndValue) {
  auto router = Build({R("tenant").Prefix("/").Header("x-tenant", "acme"),
                       R("debug").Prefix("/").Header("x-debug"), R("none").Exact("/nothing")});
  EXPECT_EQ(Route(*router, "h", "/a", "GET", {{"x-tenant", "acme"}}), "tenant");
  EXPECT_EQ(Route(*router, "h", "/a", "GET", {{"x-tenant", "ACME"}}), "404");  // values exact
  EXPECT_EQ(Route(*router, "h", "/a", "GET", {{"x-debug", ""}}), "debug");
  EXPECT_EQ(Route(*router, "h", "/a", "GET", {{"x-tenant", "acme"}, {"x-debug", "1"}}), "tenant");
  EXPECT_EQ(Route(*router, "h", "/a"), "404");
}

TEST(Router, MethodNotAllowedListsAllowedMethods) {
  auto router = Build({R("read").Prefix("/items").Methods({"GET"}),
                       R("write").Exact("/items").Methods({"POST", "PUT"}),
                       R("other-host").Host("x.com").Prefix("/items").Methods({"DELETE"})});
  // The most specific level (exact "/items") decides, with its own methods only.
  EXPECT_EQ(Route(*router, "h", "/items", "PATCH"), "405 POST, PUT");
  EXPECT_EQ(Route(*router, "h", "/items", "GET"), "405 POST, PUT");
  EXPECT_EQ(Route(*router, "h", "/items/1", "POST"), "405 GET, HEAD");
  EXPECT_EQ(Route(*router, "h", "/items", "POST"), "write");
  EXPECT_EQ(Route(*router, "h", "/items/1", "GET"), "read");
  EXPECT_EQ(Route(*router, "h", "/items/1", "HEAD"), "read");  // GET routes serve HEAD
  // The host group decides too: no fall-through to the routes of any host.
  EXPECT_EQ(Route(*router, "x.com", "/items/1", "PATCH"), "405 DELETE");
  EXPECT_EQ(Route(*router, "h", "/nothing", "PATCH"), "404");
}

TEST(Router, MethodNotAllowedOnlyCountsRoutesWhoseHeadersMatch) {
  auto router = Build({R("admin").Prefix("/a").Methods({"DELETE"}).Header("x-admin"),
                       R("read").Prefix("/a").Methods({"GET"})});
  EXPECT_EQ(Route(*router, "h", "/a", "POST"), "405 GET, HEAD");
  EXPECT_EQ(Route(*router, "h", "/a", "POST", {{"x-admin", "1"}}), "405 DELETE, GET, HEAD");
}

TEST(Router, MethodsAreCaseSensitive) {
  auto router = Build({R("get").Methods({"GET"})});
  EXPECT_EQ(Route(*router, "h", "/", "get"), "405 GET, HEAD");
  auto with_catch_all =
      Build({R("catalog").Template("/catalog/{id}").Methods({"GET"}), R("all").Prefix("/")});
  EXPECT_EQ(Route(*with_catch_all, "h", "/catalog/1", "get"), "405 GET, HEAD");
  EXPECT_EQ(Route(*with_catch_all, "h", "/catalog/1", "GET"), "catalog");
}

TEST(Router, MethodNotAllowedNeverFallsThroughToALessSpecificRoute) {
  auto router = Build({R("admin").Prefix("/admin").Methods({"GET"}), R("all").Prefix("/"),
                       R("me").Template("/users/me").Methods({"GET"}),
                       R("user").Template("/users/{id}").Methods({"GET", "DELETE"}),
                       R("status").Exact("/status").Methods({"GET"}),
                       R("re").Regex("/r/[0-9]+").Methods({"PUT"})});
  EXPECT_EQ(Route(*router, "h", "/admin/x", "DELETE"), "405 GET, HEAD");
  EXPECT_EQ(Route(*router, "h", "/admin", "POST"), "405 GET, HEAD");
  EXPECT_EQ(Route(*router, "h", "/admin/x"), "admin");
  EXPECT_EQ(Route(*router, "h", "/other", "DELETE"), "all");
  // Templates: more literal segments is a more specific level.
  EXPECT_EQ(Route(*router, "h", "/users/me", "DELETE"), "405 GET, HEAD");
  EXPECT_EQ(Route(*router, "h", "/users/7", "DELETE"), "user");
  // Trailing-slash forms too.
  EXPECT_EQ(Route(*router, "h", "/status/", "POST"), "405 GET, HEAD");
  EXPECT_EQ(Route(*router, "h", "/users/me/", "DELETE"), "405 GET, HEAD");
  EXPECT_EQ(Route(*router, "h", "/r/1", "GET"), "all");  // any prefix outranks a regex
  auto regex_then_any = Build({R("re").Regex("/r/[0-9]+").Methods({"PUT"}), R("any")});
  EXPECT_EQ(Route(*regex_then_any, "h", "/r/1", "GET"), "405 PUT");
  EXPECT_EQ(Route(*regex_then_any, "h", "/r/x", "GET"), "any");
}

TEST(Router, MethodNotAllowedNeverFallsThroughToALessSpecificHost) {
  auto router =
      Build({R("api").Host("api.example.com").Prefix("/admin").Methods({"GET"}),
             R("wild").Host("*.example.com").Prefix("/w").Methods({"GET"}), R("any").Prefix("/")});
  EXPECT_EQ(Route(*router, "api.example.com", "/admin", "POST"), "405 GET, HEAD");
  EXPECT_EQ(Route(*router, "api.example.com", "/w/1", "POST"), "405 GET, HEAD");
  EXPECT_EQ(Route(*router, "api.example.com", "/public", "POST"), "any");  // no path match there
  EXPECT_EQ(Route(*router, "x.example.com", "/admin", "POST"), "any");
}

TEST(Router, SamePathDifferentMethodsBothWork) {
  auto router = Build({R("read").Exact("/items").Methods({"GET"}),
                       R("write").Exact("/items").Methods({"POST"}), R("all").Prefix("/")});
  EXPECT_EQ(Route(*router, "h", "/items", "GET"), "read");
  EXPECT_EQ(Route(*router, "h", "/items", "HEAD"), "read");
  EXPECT_EQ(Route(*router, "h", "/items", "POST"), "write");
  EXPECT_EQ(Route(*router, "h", "/items/", "POST"), "write");
  EXPECT_EQ(Route(*router, "h", "/items", "DELETE"), "405 GET, HEAD, POST");
}

TEST(Router, TrailingSlash) {
  auto router = Build({R("status").Exact("/status"), R("dir").Exact("/dir/"),
                       R("cat").Template("/catalog/{id}"), R("tdir").Template("/t/{id}/"),
                       R("p").Prefix("/static/")});
  EXPECT_EQ(Route(*router, "h", "/status/"), "status");
  EXPECT_EQ(Route(*router, "h", "/dir/"), "dir");
  EXPECT_EQ(Route(*router, "h", "/dir"), "404");    // the route names its slash
  EXPECT_EQ(Route(*router, "h", "/dir//"), "404");  // not two
  RouteMatch m = Match(*router, "h", "/catalog/7/");
  ASSERT_EQ(Name(m), "cat");
  EXPECT_THAT(m.params, ElementsAre(Pair("id", "7")));
  EXPECT_EQ(Match(*router, "h", "/catalog/7/").upstream_path, "/catalog/7/");
  EXPECT_EQ(Route(*router, "h", "/t/7/"), "tdir");
  EXPECT_EQ(Route(*router, "h", "/t/7//"), "404");
  EXPECT_EQ(Route(*router, "h", "/static"), "404");  // prefixes unchanged
}

TEST(Router, CaseInsensitiveRoutes) {
  auto router = Build({R("exact").Exact("/Status").CaseInsensitive(),
                       R("prefix").Prefix("/API/v1").Strip("/api").CaseInsensitive(),
                       R("tmpl").Template("/Users/{id}/Orders").CaseInsensitive(),
                       R("re").Regex("/legacy/[a-z]+").CaseInsensitive(), R("cs").Exact("/cs")});
  EXPECT_EQ(Route(*router, "h", "/status"), "exact");
  EXPECT_EQ(Route(*router, "h", "/STATUS/"), "exact");
  EXPECT_EQ(Route(*router, "h", "/Api/V1/x"), "prefix");
  EXPECT_EQ(Match(*router, "h", "/Api/V1/x").upstream_path, "/V1/x");  // stripped, case kept
  RouteMatch m = Match(*router, "h", "/users/AbC/ORDERS");
  ASSERT_EQ(Name(m), "tmpl");
  EXPECT_THAT(m.params, ElementsAre(Pair("id", "AbC")));  // captures keep the request's case
  EXPECT_EQ(Route(*router, "h", "/LEGACY/Page"), "re");
  EXPECT_EQ(Route(*router, "h", "/CS"), "404");  // the default stays case-sensitive
}

TEST(Router, CaseSensitiveAndInsensitiveRoutesOfOneKeyKeepPrecedence) {
  auto router =
      Build({R("cs").Exact("/x").Methods({"GET"}), R("ci").Exact("/x").CaseInsensitive()});
  EXPECT_EQ(Route(*router, "h", "/x"), "cs");  // more constraints first
  EXPECT_EQ(Route(*router, "h", "/X"), "ci");
  EXPECT_EQ(Route(*router, "h", "/x", "POST"), "ci");
}

TEST(Router, CaseMismatchWithAnAuthRouteIsRefused) {
  auto router = Build({R("admin").Prefix("/admin").Auth("users"),
                       R("user").Template("/users/{id}").Methods({"GET"}).Auth("users"),
                       R("public").Prefix("/admin/public"), R("all").Prefix("/")});
  EXPECT_EQ(Route(*router, "h", "/admin/x"), "admin");
  EXPECT_EQ(Route(*router, "h", "/ADMIN/x"), "case");
  EXPECT_EQ(Route(*router, "h", "/Admin"), "case");
  EXPECT_EQ(Route(*router, "h", "/admin/Upper"), "admin");   // same route either way
  EXPECT_EQ(Route(*router, "h", "/Admin/public/x"), "all");  // folded: a route without auth
  EXPECT_EQ(Route(*router, "h", "/Users/7"), "case");
  EXPECT_EQ(Route(*router, "h", "/Users/7", "POST"), "case");  // folded: a 405 of an auth route
  EXPECT_EQ(Route(*router, "h", "/users/Bob"), "user");
  EXPECT_EQ(Route(*router, "h", "/Other"), "all");
  // Nothing to protect: no check.
  auto no_auth = Build({R("admin").Prefix("/admin"), R("all").Prefix("/")});
  EXPECT_EQ(Route(*no_auth, "h", "/ADMIN"), "all");
  // A case-insensitive auth route protects itself.
  auto ci =
      Build({R("admin").Prefix("/admin").Auth("users").CaseInsensitive(), R("all").Prefix("/")});
  EXPECT_EQ(Route(*ci, "h", "/ADMIN/x"), "admin");
}

TEST(Router, StripPrefix) {
  auto router = Build({R("v1").Prefix("/v1").Strip("/v1"), R("t").Template("/t/{id}").Strip("/t"),
                       R("any").Strip("/api")});
  EXPECT_EQ(Match(*router, "h", "/v1/x").upstream_path, "/x");
  EXPECT_EQ(Match(*router, "h", "/v1").upstream_path, "/");
  EXPECT_EQ(Match(*router, "h", "/v1/").upstream_path, "/");
  EXPECT_EQ(Match(*router, "h", "/v1/a/b").upstream_path, "/a/b");
  EXPECT_EQ(Match(*router, "h", "/t/7").upstream_path, "/7");
  EXPECT_EQ(Match(*router, "h", "/api/z").upstream_path, "/z");
  // Only at a segment boundary; otherwise the path goes up unchanged.
  EXPECT_EQ(Match(*router, "h", "/apiz").upstream_path, "/apiz");
  EXPECT_EQ(Match(*router, "h", "/other").upstream_path, "/other");
}

TEST(Router, PrefixRewrite) {
  auto router = Build({R("a").Prefix("/old").Rewrite("/new"), R("b").Prefix("/api/").Rewrite("/v2"),
                       R("c").Prefix("/c").Rewrite("/"), R("d").Prefix("/d/").Rewrite("/x/")});
  EXPECT_EQ(Match(*router, "h", "/old").upstream_path, "/new");
  EXPECT_EQ(Match(*router, "h", "/old/1").upstream_path, "/new/1");
  EXPECT_EQ(Match(*router, "h", "/api/x").upstream_path, "/v2/x");
  EXPECT_EQ(Match(*router, "h", "/api/").upstream_path, "/v2/");
  EXPECT_EQ(Match(*router, "h", "/c/z").upstream_path, "/z");
  EXPECT_EQ(Match(*router, "h", "/c").upstream_path, "/");
  EXPECT_EQ(Match(*router, "h", "/d/q").upstream_path, "/x/q");
}

TEST(Router, UpstreamPathUnchangedWithoutRewrite) {
  auto router = Build({R("all")});
  EXPECT_EQ(Match(*router, "h", "/a/%2e%2e/b").upstream_path, "/a/%2e%2e/b");
}

TEST(Router, PercentEncodingIsNotDecoded) {
  // "/admin" must not be reachable as "/%61dmin", nor "/public/" capture a decoded "..%2F".
  auto router = Build({R("admin").Prefix("/admin"), R("public").Prefix("/public")});
  EXPECT_EQ(Route(*router, "h", "/%61dmin"), "404");
  EXPECT_EQ(Route(*router, "h", "/public/..%2Fadmin"), "public");
  EXPECT_EQ(Route(*router, "h", "/admin%2Fx"), "404");
}

TEST(Router, BuildRefusesWhatTheConfigRefuses) {
  auto bad_template = Router::Build({R("t").Template("/a/{x").c});
  EXPECT_FALSE(bad_template.ok());
  auto bad_regex = Router::Build({R("r").Regex("(").c});
  ASSERT_FALSE(bad_regex.ok());
  EXPECT_THAT(std::string(bad_regex.status().message()),
              ::testing::StartsWith("route 0 (\"r\"): path_regex: "));
  EXPECT_FALSE(Router::Build({R("h").Host("API.com").c}).ok());
  EXPECT_FALSE(Router::Build({R("p").Prefix("x").c}).ok());
  EXPECT_FALSE(Router::Build({R("m").Header("X-Upper").c}).ok());
}

TEST(Router, ManyRoutesStillPickTheRightOne) {
  std::vector<R> routes;
  for (int i = 0; i < 500; ++i) {
    routes.push_back(R("p" + std::to_string(i)).Prefix("/svc" + std::to_string(i)));
    routes.push_back(R("e" + std::to_string(i)).Exact("/exact/" + std::to_string(i)));
    routes.push_back(
        R("h" + std::to_string(i)).Host("host" + std::to_string(i) + ".com").Prefix("/"));
  }
  auto router = Build(std::move(routes));
  EXPECT_EQ(Route(*router, "x", "/svc123/a/b"), "p123");
  EXPECT_EQ(Route(*router, "x", "/svc12/a"), "p12");
  EXPECT_EQ(Route(*router, "x", "/exact/499"), "e499");
  EXPECT_EQ(Route(*router, "host77.com", "/svc1"), "h77");
  EXPECT_EQ(Route(*router, "x", "/svc5000"), "404");
  EXPECT_EQ(router->routes().size(), 1500u);
}

TEST(Router, HostileInputsNeverCrash) {
  auto router = Build({R("t").Template("/a/{x}/b"), R("p").Prefix("/a"), R("re").Regex("/z.*"),
                       R("w").Host("*.h.com").Exact("/")});
  const std::string long_path = "/" + std::string(100000, 'a');
  const std::string slashes(10000, '/');
  for (std::string_view path :
       {std::string_view(""), std::string_view("/"), std::string_view("a"),
        std::string_view(long_path), std::string_view(slashes), std::string_view("/a/\0/b", 6),
        std::string_view("/a//b"), std::string_view("*")}) {
    for (std::string_view host : {"", ".", "..", "*.h.com", ".h.com", "x.h.com"}) {
      RouteMatch m = Match(*router, host, path);
      EXPECT_NE(m.outcome, RouteMatch::kMethodNotAllowed);
    }
  }
  EXPECT_EQ(Route(*router, "x.h.com", "/"), "w");
  EXPECT_EQ(Route(*router, "x", std::string_view("/a/\0/b", 6)), "t");
}

}  // namespace
}  // namespace edge::l7
