// Hop-by-hop fields, the response writer, reason phrases and authorities.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/http/authority.h"
#include "common/http/hop_by_hop.h"
#include "common/http/request_parser.h"
#include "common/http/response_parser.h"
#include "common/http/response_writer.h"
#include "common/http/status_codes.h"

namespace edge::http {
namespace {

TEST(HopByHop, FixedSet) {
  for (const char* name : {"Connection", "keep-alive", "Proxy-Connection", "TE", "te", "Trailer",
                           "Transfer-Encoding", "UPGRADE"}) {
    EXPECT_TRUE(IsHopByHopField(name)) << name;
  }
  for (const char* name : {"Host", "Content-Length", "Trailers", "T", "Upgrade-Insecure-Requests",
                           "Proxy-Authorization", ""}) {
    EXPECT_FALSE(IsHopByHopField(name)) << name;
  }
}

TEST(HopByHop, FieldsForbiddenInTrailers) {
  for (const char* name :
       {"Content-Length", "transfer-encoding", "Trailer", "Host", "TE", "Connection", "Upgrade",
        "Authorization", "Set-Cookie", "Cookie", "If-Match", "if-none-match", "Content-Type",
        "Content-Encoding", "Cache-Control", "Max-Forwards", "Location", "Vary"}) {
    EXPECT_TRUE(IsForbiddenTrailerField(name)) << name;
  }
  for (const char* name :
       {"X-Checksum", "grpc-status", "Server-Timing", "Digest", "If", "ETag", "Trailers", ""}) {
    EXPECT_FALSE(IsForbiddenTrailerField(name)) << name;
  }
}

TEST(HopByHop, FieldsNamedByConnectionAreRemoved) {
  const std::string wire =
      "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, X-Secret\r\nX-Secret: 1\r\n"
      "X-Kept: 2\r\nConnection: x-other\r\nX-Other: 3\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\n"
      "Upgrade: h2c\r\nAccept: */*\r\n\r\n";
  HttpRequest req;
  ASSERT_TRUE(ParseRequestHead(wire, {}, &req).complete());
  std::vector<std::string> forwarded;
  ForEachEndToEndHeader(req.headers, [&](const HttpHeader& h) { forwarded.emplace_back(h.name); });
  EXPECT_EQ(forwarded, (std::vector<std::string>{"Host", "X-Kept", "Accept"}));
  HopByHopFilter filter(req.headers);
  EXPECT_TRUE(filter.IsHopByHop("x-secret"));
  EXPECT_TRUE(filter.IsHopByHop("X-OTHER"));
  EXPECT_FALSE(filter.IsHopByHop("X-Secre"));
  EXPECT_FALSE(filter.IsHopByHop("Accept"));
}

// A Connection option naming a framing field or Host is ignored: a hostile origin must not make
// gw7 drop the Content-Length of a keep-alive response (the client would read the next response
// as its body), nor a client the Host that routing used.
TEST(HopByHop, ConnectionNeverRemovesFramingOrHost) {
  const std::string wire =
      "HTTP/1.1 200 OK\r\nConnection: keep-alive, Content-Length\r\nContent-Length: 5\r\n"
      "connection: HOST, x-a, transfer-encoding\r\nHost: h\r\nX-A: 1\r\nX-B: 2\r\n\r\n";
  HttpResponse resp;
  ASSERT_TRUE(ParseResponseHead(wire, {}, Method::kGet, &resp).complete());
  HopByHopFilter filter(resp.headers);
  EXPECT_TRUE(filter.connection_names_framing());
  EXPECT_TRUE(ConnectionNamesFraming(resp.headers));
  EXPECT_FALSE(filter.IsHopByHop("Content-Length"));
  EXPECT_FALSE(filter.IsHopByHop("host"));
  EXPECT_TRUE(filter.IsHopByHop("Transfer-Encoding"));  // hop-by-hop anyway: gw7 re-frames
  EXPECT_TRUE(filter.IsHopByHop("x-a"));                // the other options still count
  EXPECT_FALSE(filter.IsHopByHop("x-b"));
  std::vector<std::string> forwarded;
  ForEachEndToEndHeader(resp.headers, [&](const HttpHeader& h) { forwarded.emplace_back(h.name); });
  EXPECT_EQ(forwarded, (std::vector<std::string>{"Content-Length", "Host", "X-B"}));
}

TEST(HopByHop, OrdinaryConnectionOptionsAreNotFraming) {
  for (const char* value :
       {"close", "keep-alive, x-content-length", "content-lengths", "upgrade", "te, trailers"}) {
    HttpHeaders headers;
    headers.Add("Connection", value);
    EXPECT_FALSE(ConnectionNamesFraming(headers)) << value;
    EXPECT_FALSE(HopByHopFilter(headers).connection_names_framing()) << value;
  }
  EXPECT_TRUE(IsProtectedFromConnection("CONTENT-LENGTH"));
  EXPECT_TRUE(IsProtectedFromConnection("Transfer-Encoding"));
  EXPECT_TRUE(IsProtectedFromConnection("host"));
  EXPECT_FALSE(IsProtectedFromConnection("hosts"));
  EXPECT_FALSE(IsProtectedFromConnection("x-host"));
}

TEST(HopByHop, NoConnectionField) {
  HttpRequest req;
  ASSERT_TRUE(ParseRequestHead("GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n\r\n", {}, &req).complete());
  HopByHopFilter filter(req.headers);
  EXPECT_FALSE(filter.IsHopByHop("X"));
  EXPECT_TRUE(filter.IsHopByHop("Transfer-Encoding"));
}

TEST(StatusCodes, ReasonPhrases) {
  EXPECT_EQ(ReasonPhrase(200), "OK");
  EXPECT_EQ(ReasonPhrase(404), "Not Found");
  EXPECT_EQ(ReasonPhrase(413), "Content Too Large");
  EXPECT_EQ(ReasonPhrase(414), "URI Too Long");
  EXPECT_EQ(ReasonPhrase(417), "Expectation Failed");
  EXPECT_EQ(ReasonPhrase(431), "Request Header Fields Too Large");
  EXPECT_EQ(ReasonPhrase(501), "Not Implemented");
  EXPECT_EQ(ReasonPhrase(502), "Bad Gateway");
  EXPECT_EQ(ReasonPhrase(505), "HTTP Version Not Supported");
  EXPECT_EQ(ReasonPhrase(299), "");
  EXPECT_EQ(ReasonPhrase(-1), "");
}

TEST(ResponseWriter, SimpleResponse) {
  std::string out = "prefix|";
  const HttpHeader headers[] = {{"Content-Type", "text/plain; charset=utf-8"}};
  ASSERT_TRUE(AppendResponse(200, headers, "ok\n", {}, &out).ok());
  EXPECT_EQ(out,
            "prefix|HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 3\r\n\r\nok\n");
}

TEST(ResponseWriter, ConnectionAndHead) {
  std::string out;
  ResponseOptions close;
  close.keep_alive = false;
  ASSERT_TRUE(AppendResponse(503, {}, "draining", close, &out).ok());
  EXPECT_EQ(out,
            "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 8\r\nConnection: close\r\n\r\n"
            "draining");
  out.clear();
  ResponseOptions head;
  head.head_request = true;
  head.client_version = HttpVersion::kHttp10;
  ASSERT_TRUE(AppendResponse(200, {}, "12345", head, &out).ok());
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\n");
  out.clear();
  ASSERT_TRUE(AppendResponse(204, {}, "", {}, &out).ok());
  EXPECT_EQ(out, "HTTP/1.1 204 No Content\r\n\r\n");
  out.clear();
  ASSERT_TRUE(AppendResponse(299, {}, "", {}, &out).ok());
  EXPECT_EQ(out, "HTTP/1.1 299 \r\nContent-Length: 0\r\n\r\n");
}

TEST(ResponseWriter, RefusesWhatCouldSplitTheResponse) {
  std::string out;
  const std::vector<std::vector<HttpHeader>> bad = {
      {{"X-A", "a\r\nSet-Cookie: evil=1"}},
      {{"X-A", "a\nb"}},
      {{"X-A", std::string_view("a\0b", 3)}},
      {{"X A", "b"}},
      {{"", "b"}},
      {{"X-A:", "b"}},
      {{"X-A", " padded"}},
      {{"Content-Length", "5"}},
      {{"transfer-encoding", "chunked"}},
      {{"Connection", "close"}},
  };
  for (const auto& headers : bad) {
    EXPECT_FALSE(AppendResponse(200, headers, "", {}, &out).ok()) << headers[0].name;
  }
  EXPECT_FALSE(AppendResponse(99, {}, "", {}, &out).ok());
  EXPECT_FALSE(AppendResponse(600, {}, "", {}, &out).ok());
  EXPECT_FALSE(AppendResponse(204, {}, "body", {}, &out).ok());
  EXPECT_FALSE(AppendResponse(304, {}, "body", {}, &out).ok());
  EXPECT_EQ(out, "");
}

TEST(ResponseWriter, JsonErrors) {
  EXPECT_EQ(JsonErrorBody(431, "too many header fields"),
            "{\"error\":{\"status\":431,\"reason\":\"Request Header Fields Too Large\","
            "\"message\":\"too many header fields\"}}\n");
  EXPECT_EQ(JsonErrorBody(400, "a \"b\" \\ \n\x01"),
            "{\"error\":{\"status\":400,\"reason\":\"Bad Request\","
            "\"message\":\"a \\\"b\\\" \\\\ \\u000a\\u0001\"}}\n");
  std::string reply = ErrorResponse(HttpError{414, "request target too long"});
  // The reply is itself a valid, strictly parsed response.
  HttpResponse resp;
  ParseResult r = ParseResponseHead(reply, {}, Method::kGet, &resp);
  ASSERT_TRUE(r.complete());
  EXPECT_EQ(resp.status, 414);
  EXPECT_EQ(resp.reason, "URI Too Long");
  EXPECT_FALSE(resp.keep_alive);
  EXPECT_EQ(resp.headers.Get("content-type"), "application/json");
  EXPECT_EQ(reply.substr(r.consumed), JsonErrorBody(414, "request target too long"));
  EXPECT_EQ(resp.body.length, reply.size() - r.consumed);
  EXPECT_EQ(ErrorResponse(200, "x").substr(0, 12), "HTTP/1.1 500");
  std::string head = ErrorResponse(405, "x", /*head_request=*/true);
  EXPECT_EQ(head.substr(head.size() - 4), "\r\n\r\n");
}

TEST(ResponseWriter, ContinueResponseParses) {
  HttpResponse resp;
  ParseResult r = ParseResponseHead(kContinueResponse, {}, Method::kPost, &resp);
  EXPECT_EQ(r.consumed, kContinueResponse.size());
  EXPECT_EQ(resp.status, 100);
}

TEST(Authority, Shapes) {
  Authority a;
  ASSERT_TRUE(ParseAuthority("example.com", &a));
  EXPECT_EQ(a.host, "example.com");
  EXPECT_FALSE(a.has_port);
  ASSERT_TRUE(ParseAuthority("Example.COM:8080", &a));
  EXPECT_EQ(a.host, "Example.COM");
  EXPECT_EQ(a.port, 8080);
  ASSERT_TRUE(ParseAuthority("[2001:db8::1]:443", &a));
  EXPECT_EQ(a.host, "[2001:db8::1]");
  EXPECT_EQ(a.port, 443);
  ASSERT_TRUE(ParseAuthority("[::ffff:10.0.0.1]", &a));
  ASSERT_TRUE(ParseAuthority("10.0.0.1:0", &a));
  ASSERT_TRUE(ParseAuthority("under_score.example~x:65535", &a));
  for (const char* bad :
       {"", ":80", "a:", "a:65536", "a:123456", "a:8a", "a b", "a,b", "a;b", "a@b", "a/b", "a%41",
        "[::1", "[::1]x", "[]", "[v1.x]", "[fe80::1%25eth0]", "[1:2:3:4:5:6:7:8:9]", "a:-1"}) {
    EXPECT_FALSE(ParseAuthority(bad, &a)) << bad;
  }
}

}  // namespace
}  // namespace edge::http
