#include "l7/server/upstream_request.h"

#include <gtest/gtest.h>

#include <string>

#include "common/http/chunked_decoder.h"
#include "common/http/request_parser.h"

namespace edge::l7 {
namespace {

// Parses `head` strictly and returns what gw7 would send upstream.
std::string Build(const std::string& head, UpstreamRequestOptions options,
                  const net::SocketAddress& client) {
  http::HttpRequest request;
  http::HttpLimits limits;
  http::ParseResult r = http::ParseRequestHead(head, limits, &request);
  EXPECT_TRUE(r.complete()) << head;
  options.client = &client;
  if (options.path.empty()) options.path = request.path;
  options.body = request.body;
  std::string out;
  AppendUpstreamRequestHead(request, options, &out);
  return out;
}

net::SocketAddress Addr(const char* text) { return *net::SocketAddress::Parse(text); }

TEST(UpstreamRequestTest, RewritesPathKeepsQueryAndAddsForwardingFields) {
  UpstreamRequestOptions o;
  o.path = "/products/7";
  o.request_id = "rid1";
  std::string out =
      Build("GET /v1/products/7?a=1&b=2 HTTP/1.1\r\nHost: api.example.com\r\nAccept: */*\r\n\r\n",
            o, Addr("192.0.2.1:5000"));
  EXPECT_EQ(out,
            "GET /products/7?a=1&b=2 HTTP/1.1\r\n"
            "Host: api.example.com\r\n"
            "Accept: */*\r\n"
            "X-Forwarded-For: 192.0.2.1\r\n"
            "Forwarded: for=192.0.2.1;proto=http\r\n"
            "X-Forwarded-Proto: http\r\n"
            "X-Request-Id: rid1\r\n"
            "\r\n");
}

TEST(UpstreamRequestTest, AppendsToExistingForwardingChains) {
  UpstreamRequestOptions o;
  o.request_id = "r";
  o.proto = "https";
  std::string out = Build(
      "GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-For: 10.0.0.2\r\n"
      "Forwarded: for=10.0.0.1\r\nX-Forwarded-Proto: gopher\r\n\r\n",
      o, Addr("[2001:db8::1]:443"));
  EXPECT_NE(out.find("X-Forwarded-For: 10.0.0.1, 10.0.0.2, 2001:db8::1\r\n"), std::string::npos);
  EXPECT_NE(out.find("Forwarded: for=10.0.0.1, for=\"[2001:db8::1]\";proto=https\r\n"),
            std::string::npos);
  EXPECT_NE(out.find("X-Forwarded-Proto: https\r\n"), std::string::npos);
  EXPECT_EQ(out.find("gopher"), std::string::npos);
}

TEST(UpstreamRequestTest, DropsHopByHopAndGatewayOwnedFields) {
  UpstreamRequestOptions o;
  o.request_id = "new";
  std::string out = Build(
      "POST /p HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, X-Private\r\nX-Private: 1\r\n"
      "Keep-Alive: timeout=5\r\nTE: trailers\r\nUpgrade: websocket\r\nProxy-Connection: x\r\n"
      "Trailer: X-T\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n"
      "X-Request-Id: old\r\nX-Kept: yes\r\n\r\n",
      o, Addr("127.0.0.1:1"));
  for (const char* gone : {"Connection", "X-Private", "Keep-Alive", "TE:", "Upgrade",
                           "Proxy-Connection", "Trailer", "Expect", "old"}) {
    EXPECT_EQ(out.find(gone), std::string::npos) << gone << "\n" << out;
  }
  EXPECT_NE(out.find("X-Kept: yes\r\n"), std::string::npos);
  EXPECT_NE(out.find("X-Request-Id: new\r\n"), std::string::npos);
  // gw7 frames the body itself: exactly one framing field.
  EXPECT_NE(out.find("Transfer-Encoding: chunked\r\n"), std::string::npos);
  EXPECT_EQ(out.find("Content-Length"), std::string::npos);
}

TEST(UpstreamRequestTest, ContentLengthIsRewrittenNotCopied) {
  UpstreamRequestOptions o;
  o.request_id = "r";
  std::string out =
      Build("PUT /p HTTP/1.1\r\nHost: h\r\nContent-Length: 007\r\n\r\n", o, Addr("127.0.0.1:1"));
  EXPECT_NE(out.find("Content-Length: 7\r\n"), std::string::npos);
  EXPECT_EQ(out.find("007"), std::string::npos);
}

TEST(UpstreamRequestTest, Http10WithoutHostGetsTheDefaultHostAndAbsoluteFormBecomesOrigin) {
  UpstreamRequestOptions o;
  o.request_id = "r";
  o.default_host = "10.0.0.9:8080";
  std::string out = Build("GET /x HTTP/1.0\r\n\r\n", o, Addr("127.0.0.1:1"));
  EXPECT_EQ(out.rfind("GET /x HTTP/1.1\r\n", 0), 0u);
  EXPECT_NE(out.find("Host: 10.0.0.9:8080\r\n"), std::string::npos);
  out =
      Build("GET http://h.example/y?q HTTP/1.1\r\nHost: h.example\r\n\r\n", o, Addr("127.0.0.1:1"));
  EXPECT_EQ(out.rfind("GET /y?q HTTP/1.1\r\n", 0), 0u);
}

TEST(UpstreamRequestTest, ExtraFieldsAreCheckedAndFilterRemovalsApplied) {
  std::vector<std::pair<std::string, std::string>> route = {
      {"X-Route", "r1"}, {"Bad Name", "v"}, {"X-Split", "a\r\nX-Evil: 1"}, {"Connection", "x"}};
  std::vector<std::pair<std::string, std::string>> add = {{"X-Consumer", "alice"},
                                                          {"Content-Length", "99"}};
  std::vector<std::string> remove = {"authorization"};
  UpstreamRequestOptions o;
  o.request_id = "r";
  o.route_headers = &route;
  o.add_headers = &add;
  o.remove_headers = &remove;
  std::string out =
      Build("GET / HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer t\r\n\r\n", o, Addr("127.0.0.1:1"));
  EXPECT_NE(out.find("X-Route: r1\r\n"), std::string::npos);
  EXPECT_NE(out.find("X-Consumer: alice\r\n"), std::string::npos);
  for (const char* gone : {"Bad Name", "X-Evil", "Connection", "Content-Length", "Bearer"}) {
    EXPECT_EQ(out.find(gone), std::string::npos) << gone;
  }
}

// Found by fuzz_writers: an extra field named Host (a route's add_request_headers or a filter's)
// made a second Host, which a strict upstream refuses and a lenient one may route on.
TEST(UpstreamRequestTest, ExtraHostIsNeverASecondHost) {
  std::vector<std::pair<std::string, std::string>> route = {{"Host", "other.example"}};
  std::vector<std::pair<std::string, std::string>> add = {{"host", "evil.example"}};
  UpstreamRequestOptions o;
  o.request_id = "r";
  o.route_headers = &route;
  o.add_headers = &add;
  for (const char* request : {"GET / HTTP/1.1\r\nHost: h\r\n\r\n", "GET / HTTP/1.0\r\n\r\n"}) {
    o.default_host = "10.0.0.1:8080";
    std::string out = Build(request, o, Addr("127.0.0.1:1"));
    http::HttpRequest parsed;
    ASSERT_TRUE(http::ParseRequestHead(out, http::HttpLimits{}, &parsed).complete()) << out;
    EXPECT_EQ(parsed.headers.Count("host"), 1u) << out;
    EXPECT_EQ(out.find("example"), std::string::npos) << out;
  }
}

TEST(UpstreamRequestTest, UpgradeKeepsUpgradeAndSaysConnectionUpgrade) {
  UpstreamRequestOptions o;
  o.request_id = "r";
  o.upgrade = true;
  std::string out = Build(
      "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Upgrade, X-Private\r\n"
      "X-Private: 1\r\nUpgrade: websocket\r\nSec-WebSocket-Key: k\r\n\r\n",
      o, Addr("127.0.0.1:1"));
  EXPECT_NE(out.find("Upgrade: websocket\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("Sec-WebSocket-Key: k\r\n"), std::string::npos);
  EXPECT_NE(out.find("Connection: Upgrade\r\n"), std::string::npos);
  EXPECT_EQ(out.find("keep-alive"), std::string::npos);
  EXPECT_EQ(out.find("X-Private"), std::string::npos);
  // Not an upgrade (e.g. the request has a body): both fields go, as hop-by-hop.
  o.upgrade = false;
  out = Build("GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", o,
              Addr("127.0.0.1:1"));
  EXPECT_EQ(out.find("Upgrade"), std::string::npos) << out;
}

TEST(UpstreamRequestTest, LastChunkForwardsOnlyAllowedTrailers) {
  const std::string head =
      "POST / HTTP/1.1\r\nHost: h\r\nConnection: X-Private\r\nTransfer-Encoding: chunked\r\n\r\n";
  http::HttpRequest request;
  ASSERT_TRUE(http::ParseRequestHead(head, {}, &request).complete());
  const std::string body =
      "0\r\nX-Checksum: abc\r\nContent-Length: 5\r\nHost: evil\r\nX-Forwarded-For: 6.6.6.6\r\n"
      "X-Request-Id: forged\r\nAuthorization: x\r\nX-Private: s\r\ngrpc-status: 0\r\n\r\n";
  http::ChunkedDecoder decoder;
  ASSERT_EQ(decoder.Decode(body).status, http::ChunkedStatus::kDone);
  std::string out;
  AppendUpstreamLastChunk(decoder.trailers(), request.headers, &out);
  EXPECT_EQ(out, "0\r\nX-Checksum: abc\r\ngrpc-status: 0\r\n\r\n");
  http::ChunkedDecoder none;
  ASSERT_EQ(none.Decode("0\r\n\r\n").status, http::ChunkedStatus::kDone);
  out.clear();
  AppendUpstreamLastChunk(none.trailers(), request.headers, &out);
  EXPECT_EQ(out, "0\r\n\r\n");
}

TEST(UpstreamRequestTest, ForwardedForQuotesIpv6AndSaysUnknownWithoutAnAddress) {
  UpstreamRequestOptions o;
  o.request_id = "r";
  const std::string head = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
  std::string v6 = Build(head, o, Addr("[::1]:1"));
  EXPECT_NE(v6.find("X-Forwarded-For: ::1\r\nForwarded: for=\"[::1]\";proto=http\r\n"),
            std::string::npos)
      << v6;
  std::string none = Build(head, o, net::SocketAddress());
  EXPECT_NE(none.find("X-Forwarded-For: unknown\r\nForwarded: for=unknown;proto=http\r\n"),
            std::string::npos)
      << none;
}

}  // namespace
}  // namespace edge::l7
