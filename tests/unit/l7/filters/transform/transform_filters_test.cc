// The three transform filters alone, over a FakeRequest: what they put in the context.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "l7/filters/transform/compression_filter.h"
#include "l7/filters/transform/cors_filter.h"
#include "l7/filters/transform/header_transform_filter.h"
#include "tests/unit/l7/filters/auth/fake_request.h"

namespace edge::l7 {
namespace {

using ::testing::ElementsAre;
using testing::FakeRequest;
using testing::FindHeader;
using ::testing::IsEmpty;
using ::testing::Pair;

CorsConfig Cors() {
  CorsConfig c;
  c.origins.push_back(*ParseOrigin("https://shop.example.com"));
  c.methods = {"GET", "PUT"};
  c.headers = {"authorization"};
  c.credentials = true;
  c.max_age = absl::Minutes(5);
  return c;
}

bool HasCorsField(const FilterContext& ctx) {
  for (const auto& [k, v] : ctx.response_headers) {
    if (k.starts_with("Access-Control-")) return true;
  }
  return false;
}

TEST(CorsFilter, AllowedActualRequest) {
  CorsFilter f(Cors(), {});
  FakeRequest r;
  r.Header("Origin", "https://shop.example.com");
  FilterContext ctx(r);
  EXPECT_EQ(f.OnRequest(ctx, nullptr), FilterStatus::kContinue);
  EXPECT_EQ(FindHeader(ctx.response_headers, "Access-Control-Allow-Origin"),
            "https://shop.example.com");
  EXPECT_EQ(FindHeader(ctx.response_headers, "Access-Control-Allow-Credentials"), "true");
  EXPECT_EQ(FindHeader(ctx.response_headers, "Vary"), "Origin");
  EXPECT_THAT(ctx.response_remove_headers, ::testing::Contains("access-control-allow-origin"));
}

TEST(CorsFilter, OtherOriginsGetNothing) {
  CorsFilter f(Cors(), {});
  for (std::string origin : {"https://shop.example.com.evil.com", "null", "http://shop.example.com",
                             "https://shop.example.com/"}) {
    FakeRequest r;
    r.Header("Origin", origin);
    FilterContext ctx(r);
    EXPECT_EQ(f.OnRequest(ctx, nullptr), FilterStatus::kContinue);
    EXPECT_FALSE(HasCorsField(ctx)) << origin;
  }
}

TEST(CorsFilter, Preflights) {
  CorsFilter f(Cors(), {});
  auto run = [&](std::string origin, std::string method, std::string headers) {
    FakeRequest r;
    r.Method("OPTIONS").Header("Origin", origin).Header("Access-Control-Request-Method", method);
    if (!headers.empty()) r.Header("Access-Control-Request-Headers", headers);
    FilterContext ctx(r);
    const FilterStatus s = f.OnRequest(ctx, nullptr);
    EXPECT_EQ(s, FilterStatus::kStop);
    return std::make_pair(ctx.stop_status, HasCorsField(ctx));
  };
  EXPECT_EQ(run("https://shop.example.com", "PUT", "Authorization"), std::make_pair(204, true));
  EXPECT_EQ(run("https://shop.example.com", "DELETE", ""), std::make_pair(403, false));
  EXPECT_EQ(run("https://shop.example.com", "PUT", "authorization, x-other"),
            std::make_pair(403, false));
  EXPECT_EQ(run("https://evil.com", "PUT", ""), std::make_pair(403, false));
  EXPECT_EQ(run("https://shop.example.com", "put", ""), std::make_pair(403, false));
}

TEST(HeaderTransformFilter, RequestAndResponseEdits) {
  HeaderEdits req;
  req.set = {{"X-Env", "prod"}};
  req.add = {{"X-Tag", "gw"}};
  req.remove = {"X-Debug"};
  HeaderEdits resp;
  resp.set = {{"Cache-Status", "mine"}};
  resp.remove = {"Server", "RateLimit-Limit"};
  resp.add = {{"X-Added", "1"}};
  HeaderTransformFilter f(req, resp);
  FakeRequest r;
  FilterContext ctx(r);
  EXPECT_EQ(f.OnRequest(ctx, nullptr), FilterStatus::kContinue);
  EXPECT_THAT(ctx.upstream_remove_headers, ElementsAre("X-Debug", "X-Env"));
  EXPECT_THAT(ctx.upstream_add_headers, ElementsAre(Pair("X-Env", "prod"), Pair("X-Tag", "gw")));
  ctx.response_headers = {{"cache-status", "theirs"}, {"RateLimit-Limit", "10"}, {"X-K", "k"}};
  http::HttpResponse head;
  head.status = 200;
  f.OnResponseHead(ctx, head);
  EXPECT_THAT(ctx.response_headers,
              ElementsAre(Pair("X-K", "k"), Pair("Cache-Status", "mine"), Pair("X-Added", "1")));
  EXPECT_THAT(ctx.response_remove_headers,
              ElementsAre("Server", "RateLimit-Limit", "Cache-Status"));
}

struct Head {
  http::HttpResponse response;
  Head(int status, std::vector<http::HttpHeader> fields, http::BodyFraming body) {
    response.status = static_cast<uint16_t>(status);
    for (const auto& f : fields) response.headers.Add(f.name, f.value);
    response.body = body;
  }
};

const http::BodyFraming kLength5000{http::BodyKind::kContentLength, 5000};

std::string Decide(const Head& h, std::string accept, std::string method = "GET") {
  CompressionConfig c;
  c.types = {"application/*"};
  c.min_bytes = 1000;
  c.brotli = true;
  CompressionFilter f(c);
  FakeRequest r;
  r.Method(method);
  if (!accept.empty()) r.Header("Accept-Encoding", accept);
  FilterContext ctx(r);
  f.OnResponseHead(ctx, h.response);
  std::string out = FindHeader(ctx.response_headers, "Content-Encoding");
  if (out.empty()) out = "identity";
  if (FindHeader(ctx.response_headers, "Vary") == "Accept-Encoding") out += "+vary";
  EXPECT_EQ(ctx.response_encoder != nullptr, !out.starts_with("identity"));
  return out;
}

TEST(CompressionFilter, Decisions) {
  const http::HttpHeader json{"Content-Type", "application/json"};
  EXPECT_EQ(Decide(Head(200, {json}, kLength5000), "gzip"), "gzip+vary");
  EXPECT_EQ(Decide(Head(200, {json}, kLength5000), "br"), "br+vary");
  EXPECT_EQ(Decide(Head(200, {json}, kLength5000), ""), "identity+vary");
  EXPECT_EQ(Decide(Head(200, {json}, kLength5000), "gzip", "HEAD"), "identity+vary");
  EXPECT_EQ(Decide(Head(200, {json}, {http::BodyKind::kContentLength, 100}), "gzip"),
            "identity+vary");
  EXPECT_EQ(Decide(Head(200, {json}, {http::BodyKind::kChunked, 0}), "gzip"), "gzip+vary");
  EXPECT_EQ(Decide(Head(200, {{"Content-Type", "image/png"}}, kLength5000), "gzip"), "identity");
  EXPECT_EQ(Decide(Head(200, {json, {"Content-Encoding", "br"}}, kLength5000), "gzip"), "identity");
  EXPECT_EQ(Decide(Head(206, {json, {"Content-Range", "bytes 0-1/2"}}, kLength5000), "gzip"),
            "identity");
  EXPECT_EQ(Decide(Head(200, {json, {"Content-Range", "bytes 0-1/2"}}, kLength5000), "gzip"),
            "identity");
  EXPECT_EQ(
      Decide(Head(200, {json, {"Cache-Control", "max-age=1, No-Transform"}}, kLength5000), "gzip"),
      "identity");
  EXPECT_EQ(Decide(Head(304, {json}, {}), "gzip"), "identity");
  EXPECT_EQ(Decide(Head(204, {json}, {}), "gzip"), "identity");
  EXPECT_EQ(Decide(Head(200, {{"Content-Type", "application/grpc+proto"}}, kLength5000), "gzip"),
            "identity");
  EXPECT_EQ(Decide(Head(200, {json}, {http::BodyKind::kContentLength, 0}), "gzip"),
            "identity+vary");
  // The upstream already varies on Accept-Encoding: no second Vary.
  EXPECT_EQ(Decide(Head(200, {json, {"Vary", "accept-encoding"}}, kLength5000), "gzip"), "gzip");
}

TEST(CompressionFilter, StrongEtagBecomesWeak) {
  CompressionConfig c;
  c.types = {"application/json"};
  CompressionFilter f(c);
  FakeRequest r;
  r.Header("Accept-Encoding", "gzip");
  FilterContext ctx(r);
  Head h(200, {{"Content-Type", "application/json"}, {"ETag", "\"v1\""}}, kLength5000);
  f.OnResponseHead(ctx, h.response);
  EXPECT_EQ(FindHeader(ctx.response_headers, "ETag"), "W/\"v1\"");
  EXPECT_THAT(ctx.response_remove_headers, ElementsAre("ETag"));
  FilterContext weak_ctx(r);
  Head weak(200, {{"Content-Type", "application/json"}, {"ETag", "W/\"v1\""}}, kLength5000);
  f.OnResponseHead(weak_ctx, weak.response);
  EXPECT_THAT(weak_ctx.response_remove_headers, IsEmpty());
}

}  // namespace
}  // namespace edge::l7
