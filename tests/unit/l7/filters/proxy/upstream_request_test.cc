#include "l7/filters/proxy/upstream_request.h"

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

TEST(UpstreamRequestTest, ATranslatedRequestIsAPostWithItsOwnPathQueryAndBody) {
  // What the proxy sends for a rewriter (a SOAP translation): another method, path, no query,
  // the client's Content-Type removed and the translation's fields and Content-Length instead.
  const std::string head =
      "GET /accounts/7/balance?x=1 HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n"
      "Accept: */*\r\n\r\n";
  http::HttpRequest request;
  http::HttpLimits limits;
  ASSERT_TRUE(http::ParseRequestHead(head, limits, &request).complete());
  const net::SocketAddress client = Addr("192.0.2.1:5000");
  const std::string empty_query;
  const std::vector<std::string> remove = {"content-type"};
  const std::vector<std::pair<std::string, std::string>> add = {
      {"Content-Type", "text/xml; charset=utf-8"}, {"SOAPAction", "\"GetBalance\""}};
  UpstreamRequestOptions o;
  o.method = "POST";
  o.path = "/bank";
  o.query = &empty_query;
  o.client = &client;
  o.request_id = "r";
  o.remove_headers = &remove;
  o.add_headers = &add;
  o.body = {http::BodyKind::kContentLength, 321};
  std::string out;
  AppendUpstreamRequestHead(request, o, &out);
  EXPECT_EQ(out,
            "POST /bank HTTP/1.1\r\n"
            "Host: h\r\n"
            "Accept: */*\r\n"
            "X-Forwarded-For: 192.0.2.1\r\n"
            "Forwarded: for=192.0.2.1;proto=http\r\n"
            "X-Forwarded-Proto: http\r\n"
            "X-Request-Id: r\r\n"
            "Content-Type: text/xml; charset=utf-8\r\n"
            "SOAPAction: \"GetBalance\"\r\n"
            "Content-Length: 321\r\n"
            "\r\n");
}

TEST(UpstreamRequestTest, AppendsToExistingForwardingChainsOfATrustedClient) {
  UpstreamRequestOptions o;
  o.request_id = "r";
  o.proto = "https";
  o.trusted_client = true;
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
  // Identity and internal fields in trailers, in any spelling.
  StrippedFieldSet strip = StrippedFieldSet::WithGatewayFields();
  strip.Add("X-Internal");
  http::ChunkedDecoder forged;
  ASSERT_EQ(forged
                .Decode("0\r\nX-Consumer: admin\r\nx_consumer: admin\r\nX-Scopes: all\r\n"
                        "X_Internal: 1\r\nX-Real-Ip: 1\r\nX-Ok: 1\r\n\r\n")
                .status,
            http::ChunkedStatus::kDone);
  out.clear();
  EXPECT_EQ(AppendUpstreamLastChunk(forged.trailers(), request.headers, &out, &strip), 5u);
  EXPECT_EQ(out, "0\r\nX-Ok: 1\r\n\r\n");
  http::ChunkedDecoder none;
  ASSERT_EQ(none.Decode("0\r\n\r\n").status, http::ChunkedStatus::kDone);
  out.clear();
  AppendUpstreamLastChunk(none.trailers(), request.headers, &out);
  EXPECT_EQ(out, "0\r\n\r\n");
}

// An untrusted client's X-Forwarded-For and Forwarded are replaced, not appended to (Envoy's
// use_remote_address): the first address the upstream sees is the one gw7 saw.
TEST(UpstreamRequestTest, ReplacesForwardingChainsOfAnUntrustedClient) {
  const StrippedFieldSet strip = StrippedFieldSet::WithGatewayFields();
  UpstreamRequestOptions o;
  o.request_id = "r";
  o.strip = &strip;
  http::HttpRequest request;
  const std::string head =
      "GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 10.9.9.9\r\nForwarded: for=10.9.9.9\r\n"
      "X-Real-IP: 10.9.9.9\r\nx_forwarded_for: 10.8.8.8\r\n\r\n";
  ASSERT_TRUE(http::ParseRequestHead(head, {}, &request).complete());
  const net::SocketAddress client = Addr("203.0.113.7:1");
  o.client = &client;
  o.path = request.path;
  std::string out;
  UpstreamHeadReport report = AppendUpstreamRequestHead(request, o, &out);
  EXPECT_EQ(out,
            "GET / HTTP/1.1\r\nHost: h\r\n"
            "X-Forwarded-For: 203.0.113.7\r\n"
            "Forwarded: for=203.0.113.7;proto=http\r\n"
            "X-Forwarded-Proto: http\r\n"
            "X-Request-Id: r\r\n\r\n");
  EXPECT_EQ(report.stripped, 4u);
  EXPECT_FALSE(report.forwarded_dropped);
  // Trusted: appended; the underscore spelling still goes.
  o.trusted_client = true;
  out.clear();
  report = AppendUpstreamRequestHead(request, o, &out);
  EXPECT_NE(out.find("X-Forwarded-For: 10.9.9.9, 203.0.113.7\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("Forwarded: for=10.9.9.9, for=203.0.113.7;proto=http\r\n"), std::string::npos);
  EXPECT_EQ(out.find("10.8.8.8"), std::string::npos);
  EXPECT_EQ(report.stripped, 2u);  // X-Real-IP, x_forwarded_for
}

// A trusted proxy's Forwarded that is not RFC 7239 is dropped: gw7's element stands alone and can
// never be swallowed by an open quote.
TEST(UpstreamRequestTest, MalformedForwardedFromATrustedClientIsDropped) {
  for (const char* bad : {"for=\"10.0.0.1", "for", "for=", "=x", "for=a b", "for=1;;x", "for=\"a\\",
                          "for=a,,by", "for=a;proto=http\"", "\"for\"=1"}) {
    UpstreamRequestOptions o;
    o.request_id = "r";
    o.trusted_client = true;
    http::HttpRequest request;
    const std::string head =
        std::string("GET / HTTP/1.1\r\nHost: h\r\nForwarded: ") + bad + "\r\n\r\n";
    ASSERT_TRUE(http::ParseRequestHead(head, {}, &request).complete()) << bad;
    const net::SocketAddress client = Addr("127.0.0.1:1");
    o.client = &client;
    o.path = "/";
    std::string out;
    UpstreamHeadReport report = AppendUpstreamRequestHead(request, o, &out);
    EXPECT_TRUE(report.forwarded_dropped) << bad;
    EXPECT_NE(out.find("\r\nForwarded: for=127.0.0.1;proto=http\r\n"), std::string::npos)
        << bad << "\n"
        << out;
  }
}

TEST(UpstreamRequestTest, ForwardedGrammar) {
  for (const char* good :
       {"for=192.0.2.60;proto=http;by=203.0.113.43", "for=\"[2001:db8:cafe::17]:4711\"",
        "for=a, for=b", "for=a,for=b", "For=\"_gazonk\"", "for=a; proto=https", "for=\"a\\\"b\"",
        "for=a,, for=b", "for=a;;proto=http"}) {
    EXPECT_TRUE(IsValidForwardedList(good)) << good;
  }
  for (const char* bad : {"", ",", "for", "for=", "for =a", "for=\"a", "for=a b", "for=a\"",
                          "for=\"a\\", "for=@", "for=a;x", "\x7f=1"}) {
    EXPECT_FALSE(IsValidForwardedList(bad)) << bad;
  }
}

// Every spelling of a stripped name goes: case, and '_' for '-' (what CGI/WSGI merge).
TEST(UpstreamRequestTest, StripsGatewayIdentityAndInternalFieldsInEverySpelling) {
  StrippedFieldSet strip = StrippedFieldSet::WithGatewayFields();
  strip.Add("X-Internal-Token");
  strip.Add("X-User");
  UpstreamRequestOptions o;
  o.request_id = "r";
  o.strip = &strip;
  std::string out = Build(
      "GET / HTTP/1.1\r\nHost: h\r\nX-Consumer: a\r\nx-consumer: b\r\nX_Consumer: c\r\n"
      "x_consumer: d\r\nX-CONSUMER: e\r\nX_cOnSuMeR: f\r\nX-Scopes: admin\r\n"
      "X-Forwarded-Host: evil\r\nX-Forwarded-Port: 1\r\nx_real_ip: 1.1.1.1\r\n"
      "X_Internal_Token: t\r\nx-user: u\r\nX-Request_Id: forged\r\nX-Consumers: kept\r\n"
      "X-Consume: kept2\r\n\r\n",
      o, Addr("127.0.0.1:1"));
  EXPECT_EQ(out,
            "GET / HTTP/1.1\r\nHost: h\r\nX-Consumers: kept\r\nX-Consume: kept2\r\n"
            "X-Forwarded-For: 127.0.0.1\r\nForwarded: for=127.0.0.1;proto=http\r\n"
            "X-Forwarded-Proto: http\r\nX-Request-Id: r\r\n\r\n");
  // Filters' removals compare the same way.
  std::vector<std::string> remove = {"X-API-Key"};
  o.remove_headers = &remove;
  out = Build("GET / HTTP/1.1\r\nHost: h\r\nx_api_KEY: k\r\n\r\n", o, Addr("127.0.0.1:1"));
  EXPECT_EQ(out.find("k\r\n"), std::string::npos) << out;
}

TEST(UpstreamRequestTest, StrippedFieldSetMatchesOnlyWholeNames) {
  StrippedFieldSet set = StrippedFieldSet::WithGatewayFields();
  EXPECT_EQ(set.size(), 9u);
  set.Add("x_consumer");  // already there in another spelling
  EXPECT_EQ(set.size(), 9u);
  set.Add(std::string(100, 'a'));  // past the length mask
  for (const char* in : {"X-Consumer", "x_scopes", "FORWARDED", "x-real_ip", "X_REQUEST_ID"}) {
    EXPECT_TRUE(set.Contains(in)) << in;
  }
  EXPECT_TRUE(set.Contains(std::string(100, 'A')));
  for (const char* out : {"", "X-Consume", "X-Consumerr", "Forwarde", "Host", "X-Forwarded",
                          "X.Consumer", "X Consumer"}) {
    EXPECT_FALSE(set.Contains(out)) << out;
  }
  EXPECT_FALSE(set.Contains(std::string(101, 'a')));
}

// Upgrade: h2c would turn the connection into an HTTP/2 tunnel past routing and auth: the token
// and HTTP2-Settings go unless the route allows them.
TEST(UpstreamRequestTest, H2cUpgradeIsRemovedUnlessAllowed) {
  http::HttpHeaders only_h2c, mixed;
  only_h2c.Add("Upgrade", "h2c");
  only_h2c.Add("Upgrade", " H2C/1 ");
  mixed.Add("Upgrade", "h2c, websocket");
  EXPECT_FALSE(OffersUpgradeOtherThanH2c(only_h2c));
  EXPECT_TRUE(OffersUpgradeOtherThanH2c(mixed));

  UpstreamRequestOptions o;
  o.request_id = "r";
  o.upgrade = true;
  const std::string head =
      "GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: h2c, websocket\r\n"
      "HTTP2-Settings: AAMAAABkAAQAAP__\r\nSec-WebSocket-Key: k\r\n\r\n";
  std::string out = Build(head, o, Addr("127.0.0.1:1"));
  EXPECT_NE(out.find("\r\nUpgrade: websocket\r\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("h2c"), std::string::npos) << out;
  EXPECT_EQ(out.find("HTTP2-Settings"), std::string::npos) << out;
  o.allow_h2c = true;
  out = Build(head, o, Addr("127.0.0.1:1"));
  EXPECT_NE(out.find("\r\nUpgrade: h2c, websocket\r\n"), std::string::npos) << out;
  EXPECT_NE(out.find("HTTP2-Settings: AAMAAABkAAQAAP__\r\n"), std::string::npos) << out;
  // Not an upgrade (only h2c offered, not allowed): no Upgrade, no HTTP2-Settings.
  o.allow_h2c = false;
  o.upgrade = false;
  out = Build(
      "GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
      "HTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n",
      o, Addr("127.0.0.1:1"));
  EXPECT_EQ(out.find("Upgrade"), std::string::npos) << out;
  EXPECT_EQ(out.find("HTTP2-Settings"), std::string::npos) << out;
  out = Build("GET / HTTP/1.1\r\nHost: h\r\nHTTP2-Settings: x\r\n\r\n", o, Addr("127.0.0.1:1"));
  EXPECT_EQ(out.find("HTTP2-Settings"), std::string::npos) << out;
}

TEST(UpstreamRequestTest, FilterQueryReplacesTheClientQuery) {
  const std::string query = "a=1&b=2";
  UpstreamRequestOptions o;
  o.request_id = "r";
  o.query = &query;
  std::string out =
      Build("GET /p?api_key=k&a=1&b=2 HTTP/1.1\r\nHost: h\r\n\r\n", o, Addr("127.0.0.1:1"));
  EXPECT_EQ(out.rfind("GET /p?a=1&b=2 HTTP/1.1\r\n", 0), 0u) << out;
  const std::string empty;
  o.query = &empty;
  out = Build("GET /p?api_key=k HTTP/1.1\r\nHost: h\r\n\r\n", o, Addr("127.0.0.1:1"));
  EXPECT_EQ(out.rfind("GET /p HTTP/1.1\r\n", 0), 0u) << out;
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
