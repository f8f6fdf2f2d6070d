// RFC 9111 rules of the shared cache, one rule per test: Cache-Control parsing (malformed and
// repeated directives read conservatively), storability (no-store, private, credentials,
// Set-Cookie, Vary *, no heuristic freshness), freshness lifetime and age, which stored
// responses may answer which requests, If-None-Match comparison, HTTP-date forms.

#include "l7/filters/cache/cache_policy.h"

#include <gtest/gtest.h>

#include "l7/filters/cache/http_date.h"

namespace edge::l7 {
namespace {

CacheDirectives Parse(std::string_view v) {
  CacheDirectives d;
  ParseCacheControl(v, &d);
  return d;
}

TEST(CacheControl, ReadsDirectivesCaseInsensitively) {
  CacheDirectives d = Parse("Public, MAX-AGE=60, s-maxage=\"30\", must-revalidate");
  EXPECT_TRUE(d.public_);
  EXPECT_TRUE(d.must_revalidate);
  EXPECT_EQ(d.max_age, 60);
  EXPECT_EQ(d.s_maxage, 30);
  EXPECT_FALSE(d.no_store);
}

TEST(CacheControl, MalformedMaxAgeCountsAsZero) {
  EXPECT_EQ(Parse("max-age=abc").max_age, 0);
  EXPECT_EQ(Parse("max-age").max_age, 0);
  EXPECT_EQ(Parse("max-age=-5").max_age, 0);
}

TEST(CacheControl, RepeatedMaxAgeKeepsTheSmallest) {
  CacheDirectives d;
  ParseCacheControl("max-age=600", &d);
  ParseCacheControl("max-age=5", &d);
  EXPECT_EQ(d.max_age, 5);
}

TEST(CacheControl, HugeDeltaIsClamped) {
  EXPECT_EQ(Parse("max-age=99999999999999999999999").max_age, 2147483648);
}

TEST(CacheControl, QualifiedFormsActUnqualified) {
  EXPECT_TRUE(Parse("private=\"Set-Cookie, X-A\", max-age=10").private_);
  CacheDirectives d = Parse("no-cache=\"a,b\", max-age=10");
  EXPECT_TRUE(d.no_cache);
  EXPECT_EQ(d.max_age, 10);  // the comma inside quotes did not split the directive
}

TEST(CacheControl, PragmaNoCacheOnlyWithoutCacheControl) {
  http::HttpHeaders h;
  h.Add("Pragma", "no-cache");
  EXPECT_TRUE(DirectivesOf(h, true).no_cache);
  EXPECT_FALSE(DirectivesOf(h, false).no_cache);
  h.Add("Cache-Control", "max-age=5");
  EXPECT_FALSE(DirectivesOf(h, true).no_cache);
}

struct Storable {
  CacheDirectives request, response;
  StorabilityInput in;
  Storable(std::string_view resp, int status = 200) {
    response = Parse(resp);
    in.status = status;
    in.request = &request;
    in.response = &response;
  }
  const char* Why() { return WhyNotStorable(in); }
};

TEST(Storability, ExplicitFreshnessIsRequired) {
  EXPECT_STREQ(Storable("public").Why(), "no explicit freshness");
  EXPECT_EQ(Storable("max-age=10").Why(), nullptr);
  Storable expires("");
  expires.in.has_expires = true;
  EXPECT_EQ(expires.Why(), nullptr);
}

TEST(Storability, NoStoreAndPrivateAreNeverStored) {
  EXPECT_STREQ(Storable("max-age=10, no-store").Why(), "no-store");
  EXPECT_STREQ(Storable("max-age=10, private").Why(), "private");
  Storable req_no_store("max-age=10");
  req_no_store.request.no_store = true;
  EXPECT_STREQ(req_no_store.Why(), "request no-store");
}

TEST(Storability, CredentialsNeedExplicitPermission) {
  for (const char* allowing :
       {"public, max-age=10", "s-maxage=10", "max-age=10, must-revalidate"}) {
    Storable s(allowing);
    s.in.credentials = true;
    EXPECT_EQ(s.Why(), nullptr) << allowing;
  }
  Storable plain("max-age=10");
  plain.in.credentials = true;
  EXPECT_STREQ(plain.Why(), "credentials");
}

TEST(Storability, SetCookieOnlyWhenTheRouteAllows) {
  Storable s("max-age=10");
  s.in.set_cookie = true;
  EXPECT_STREQ(s.Why(), "set-cookie");
  s.in.allow_set_cookie = true;
  EXPECT_EQ(s.Why(), nullptr);
}

TEST(Storability, VaryStarAndUnstorableStatuses) {
  Storable star("max-age=10");
  star.in.vary_star = true;
  EXPECT_STREQ(star.Why(), "vary *");
  EXPECT_STREQ(Storable("max-age=10", 206).Why(), "status");
  EXPECT_STREQ(Storable("max-age=10", 500).Why(), "status");
  EXPECT_STREQ(Storable("max-age=10", 302).Why(), "status");
  EXPECT_EQ(Storable("max-age=10", 404).Why(), nullptr);
}

TEST(Freshness, SMaxageThenMaxAgeThenExpires) {
  EXPECT_EQ(FreshnessLifetime(Parse("max-age=10, s-maxage=99"), true, 500, 0), 99);
  EXPECT_EQ(FreshnessLifetime(Parse("max-age=10"), true, 500, 0), 10);
  EXPECT_EQ(FreshnessLifetime(Parse(""), true, 1500, 1000), 500);
  EXPECT_EQ(FreshnessLifetime(Parse(""), true, std::nullopt, 1000), 0);   // invalid Expires
  EXPECT_EQ(FreshnessLifetime(Parse(""), true, 900, 1000), 0);            // in the past
  EXPECT_EQ(FreshnessLifetime(Parse(""), false, std::nullopt, 1000), 0);  // no heuristics
}

TEST(Age, CountsUpstreamAgeDelayAndResidence) {
  ResponseTimes t{.request_time = 100, .response_time = 102, .date_value = 101, .age_value = 5};
  // corrected initial age = max(102-101, 5 + 2) = 7; plus 10 s resident.
  EXPECT_EQ(CurrentAge(t, 112), 17);
  // A Date in the future is no negative age.
  ResponseTimes future{.request_time = 100, .response_time = 100, .date_value = 200};
  EXPECT_EQ(CurrentAge(future, 100), 0);
  // A Date far in the past makes the response old at once.
  ResponseTimes old{.request_time = 100, .response_time = 100, .date_value = 40};
  EXPECT_EQ(CurrentAge(old, 100), 60);
}

TEST(Evaluate, FreshAndStale) {
  EXPECT_EQ(Evaluate({}, Parse("max-age=10"), 10, 9), ServeVerdict::kFresh);
  EXPECT_EQ(Evaluate({}, Parse("max-age=10"), 10, 10), ServeVerdict::kStale);
}

TEST(Evaluate, ResponseNoCacheAlwaysValidates) {
  EXPECT_EQ(Evaluate({}, Parse("max-age=100, no-cache"), 100, 0), ServeVerdict::kStale);
}

TEST(Evaluate, RequestDirectives) {
  const CacheDirectives resp = Parse("max-age=100");
  EXPECT_EQ(Evaluate(Parse("no-cache"), resp, 100, 0), ServeVerdict::kRefused);
  EXPECT_EQ(Evaluate(Parse("max-age=5"), resp, 100, 6), ServeVerdict::kRefused);
  EXPECT_EQ(Evaluate(Parse("max-age=5"), resp, 100, 5), ServeVerdict::kFresh);
  EXPECT_EQ(Evaluate(Parse("min-fresh=50"), resp, 100, 60), ServeVerdict::kRefused);
}

TEST(Evaluate, MaxStaleUnlessTheResponseForbidsIt) {
  EXPECT_EQ(Evaluate(Parse("max-stale=30"), Parse("max-age=10"), 10, 30), ServeVerdict::kFresh);
  EXPECT_EQ(Evaluate(Parse("max-stale=30"), Parse("max-age=10"), 10, 41), ServeVerdict::kStale);
  EXPECT_EQ(Evaluate(Parse("max-stale"), Parse("max-age=10"), 10, 1000), ServeVerdict::kFresh);
  for (const char* strict :
       {"max-age=10, must-revalidate", "max-age=10, proxy-revalidate", "s-maxage=10"}) {
    EXPECT_EQ(Evaluate(Parse("max-stale"), Parse(strict), 10, 11), ServeVerdict::kStale) << strict;
  }
}

TEST(Conditional, IfNoneMatchIsWeakComparison) {
  EXPECT_TRUE(NoneMatchHits("\"a\"", "\"a\""));
  EXPECT_TRUE(NoneMatchHits("W/\"a\"", "\"a\""));
  EXPECT_TRUE(NoneMatchHits("\"x\", W/\"a\"", "W/\"a\""));
  EXPECT_TRUE(NoneMatchHits("*", "\"a\""));
  EXPECT_FALSE(NoneMatchHits("\"b\"", "\"a\""));
  EXPECT_FALSE(NoneMatchHits("\"a\"", ""));
}

TEST(HttpDate, ThreeFormsAndRoundTrip) {
  constexpr int64_t k1994 = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT
  EXPECT_EQ(ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT"), k1994);
  EXPECT_EQ(ParseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT"), k1994);
  EXPECT_EQ(ParseHttpDate("Sun Nov  6 08:49:37 1994"), k1994);
  EXPECT_EQ(FormatHttpDate(k1994), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(ParseHttpDate(FormatHttpDate(1767225600)), 1767225600);  // 2026-01-01
}

TEST(HttpDate, RefusesAnythingElse) {
  for (const char* bad :
       {"", "0", "-1", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 6 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 25:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMT trailing"}) {
    EXPECT_FALSE(ParseHttpDate(bad).has_value()) << bad;
  }
}

TEST(CachePolicy, StaleWindowsAndWhatForbidsThem) {
  CacheDirectives d;
  ParseCacheControl("max-age=10, stale-while-revalidate=30, stale-if-error=300", &d);
  EXPECT_EQ(d.stale_while_revalidate, 30);
  EXPECT_EQ(d.stale_if_error, 300);
  EXPECT_TRUE(MayServeStale(d, 0, d.stale_while_revalidate));
  EXPECT_TRUE(MayServeStale(d, 30, d.stale_while_revalidate));
  EXPECT_FALSE(MayServeStale(d, 31, d.stale_while_revalidate));
  EXPECT_FALSE(MayServeStale(d, 1, std::nullopt));
  for (const char* forbid : {"must-revalidate", "proxy-revalidate", "no-cache", "s-maxage=10"}) {
    CacheDirectives strict = d;
    ParseCacheControl(forbid, &strict);
    EXPECT_FALSE(MayServeStale(strict, 1, strict.stale_if_error)) << forbid;
  }
  CacheDirectives bad;
  ParseCacheControl("stale-if-error=soon", &bad);  // unreadable: no window at all
  EXPECT_EQ(bad.stale_if_error, 0);
  EXPECT_FALSE(MayServeStale(bad, 1, bad.stale_if_error));
}

}  // namespace
}  // namespace edge::l7
