#include "common/http/response_parser.h"

#include <gtest/gtest.h>

#include <deque>
#include <string>
#include <string_view>

#include "tests/unit/common/http/http_test_util.h"

namespace edge::http {
namespace {

using namespace std::string_literals;

// Parsed messages point into their buffer: keep every buffer a test parses alive.
const std::string& Keep(std::string data) {
  static std::deque<std::string> buffers;
  return buffers.emplace_back(std::move(data));
}

HttpResponse ParseWhole(const std::string& input, Method method = Method::kGet) {
  const std::string& data = Keep(input);
  HttpResponse resp;
  HttpLimits limits;
  ParseResult r = ParseResponseHead(data, limits, method, &resp);
  EXPECT_EQ(r, ParseResult::Complete(data.size())) << Escaped(data);
  HttpResponse part;
  for (size_t k = 0; k < data.size(); ++k) {
    EXPECT_TRUE(
        ParseResponseHead(std::string_view(data).substr(0, k), limits, method, &part).need_more())
        << "prefix " << k;
    ResponseHeadParser parser(limits);
    EXPECT_TRUE(parser.Parse(std::string_view(data).substr(0, k), method, &part).need_more());
    EXPECT_EQ(parser.Parse(data, method, &part), r) << "split " << k;
  }
  return resp;
}

TEST(ResponseParser, RelocateMovesEveryViewIntoTheCopy) {
  std::string received = "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\nX-A: b\r\n\r\nabc";
  HttpResponse response;
  ParseResult r = ParseResponseHead(received, HttpLimits(), Method::kGet, &response);
  ASSERT_TRUE(r.complete());
  std::string copy(received, 0, r.consumed);
  response.Relocate({received.data(), r.consumed, copy.data()});
  std::fill(received.begin(), received.end(), '#');
  EXPECT_EQ(response.reason, "Not Found");
  EXPECT_EQ(response.reason.data(), copy.data() + 13);
  ASSERT_EQ(response.headers.size(), 2u);
  EXPECT_EQ(response.headers[0].name, "Content-Length");
  EXPECT_EQ(response.headers[1].value, "b");
  EXPECT_EQ(response.headers[1].value.data(), copy.data() + copy.size() - 5);
}

TEST(ResponseParser, OkWithContentLength) {
  HttpResponse r = ParseWhole(
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 17\r\n"
      "Cache-Control: max-age=60\r\n\r\n");
  EXPECT_EQ(r.version, HttpVersion::kHttp11);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.reason, "OK");
  EXPECT_EQ(r.body, (BodyFraming{BodyKind::kContentLength, 17}));
  EXPECT_TRUE(r.keep_alive);
  EXPECT_EQ(r.headers.Get("cache-control"), "max-age=60");
}

TEST(ResponseParser, Framing) {
  EXPECT_EQ(ParseWhole("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n").body.kind,
            BodyKind::kChunked);
  HttpResponse r = ParseWhole("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n");
  EXPECT_EQ(r.body.kind, BodyKind::kUntilClose);
  EXPECT_FALSE(r.keep_alive);
  EXPECT_EQ(ParseWhole("HTTP/1.1 204 No Content\r\n\r\n").body.kind, BodyKind::kNone);
  EXPECT_EQ(ParseWhole("HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n").body.kind,
            BodyKind::kNone);
  EXPECT_EQ(ParseWhole("HTTP/1.1 304 Not Modified\r\nContent-Length: 1234\r\n\r\n").body.kind,
            BodyKind::kNone);
  EXPECT_EQ(ParseWhole("HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n").body.kind,
            BodyKind::kNone);
  r = ParseWhole("HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n", Method::kHead);
  EXPECT_EQ(r.body.kind, BodyKind::kNone);
  EXPECT_TRUE(r.keep_alive);
  EXPECT_EQ(
      ParseWhole("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", Method::kHead).body.kind,
      BodyKind::kNone);
  EXPECT_EQ(ParseWhole("HTTP/1.1 200 Connection established\r\n\r\n", Method::kConnect).body.kind,
            BodyKind::kNone);
}

TEST(ResponseParser, InformationalResponsesComeFirst) {
  const std::string wire =
      "HTTP/1.1 100 Continue\r\n\r\n"
      "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
      "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
  std::string_view in = wire;
  HttpResponse resp;
  HttpLimits limits;
  ParseResult r = ParseResponseHead(in, limits, Method::kPost, &resp);
  ASSERT_TRUE(r.complete());
  EXPECT_TRUE(resp.informational());
  EXPECT_EQ(resp.body.kind, BodyKind::kNone);
  in.remove_prefix(r.consumed);
  r = ParseResponseHead(in, limits, Method::kPost, &resp);
  ASSERT_TRUE(r.complete());
  EXPECT_EQ(resp.status, 103);
  EXPECT_EQ(resp.headers.Get("link"), "</style.css>; rel=preload");
  in.remove_prefix(r.consumed);
  r = ParseResponseHead(in, limits, Method::kPost, &resp);
  ASSERT_TRUE(r.complete());
  EXPECT_EQ(resp.status, 201);
  EXPECT_FALSE(resp.informational());
  EXPECT_EQ(in.substr(r.consumed), "ok");

  HttpResponse up = ParseWhole(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
  EXPECT_EQ(up.status, 101);
  EXPECT_EQ(up.body.kind, BodyKind::kNone);
}

TEST(ResponseParser, StatusLineShapes) {
  EXPECT_EQ(ParseWhole("HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n").reason, "");
  EXPECT_EQ(ParseWhole("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n").reason, "");
  EXPECT_EQ(ParseWhole("HTTP/1.1 404 Not  Found\there\r\nContent-Length: 0\r\n\r\n").reason,
            "Not  Found\there");
  EXPECT_EQ(ParseWhole("HTTP/1.1 599 Caf\xc3\xa9\r\nContent-Length: 0\r\n\r\n").status, 599);
}

TEST(ResponseParser, Http10Persistence) {
  HttpResponse r = ParseWhole("HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\n");
  EXPECT_EQ(r.version, HttpVersion::kHttp10);
  EXPECT_FALSE(r.keep_alive);
  EXPECT_TRUE(ParseWhole("HTTP/1.0 200 OK\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\n")
                  .keep_alive);
  EXPECT_FALSE(
      ParseWhole("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\n").keep_alive);
}

struct BadResponse {
  const char* name;
  std::string response;
  Method method = Method::kGet;
};

const BadResponse kBadResponses[] = {
    {"CL and TE", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"},
    {"TE and CL", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"},
    {"CL and TE to HEAD",
     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", Method::kHead},
    {"duplicate CL", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n"},
    {"CL list", "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n"},
    {"CL sign", "HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\n"},
    {"CL overflow", "HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616\r\n\r\n"},
    {"CL over the limit", "HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\n"},
    {"TE gzip", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"},
    {"TE chunked, gzip", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"},
    {"TE twice",
     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"},
    {"TE xchunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: xchunked\r\n\r\n"},
    {"TE in HTTP/1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"},
    {"TE space before colon", "HTTP/1.1 200 OK\r\nTransfer-Encoding : chunked\r\n\r\n"},
    {"CL in 100", "HTTP/1.1 100 Continue\r\nContent-Length: 0\r\n\r\n"},
    {"TE in 101", "HTTP/1.1 101 Switching\r\nTransfer-Encoding: chunked\r\n\r\n"},
    {"204 with body", "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"},
    {"204 chunked", "HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n"},
    {"status 4 digits", "HTTP/1.1 2000 OK\r\n\r\n"},
    {"status 2 digits", "HTTP/1.1 20 OK\r\n\r\n"},
    {"status 099", "HTTP/1.1 099 Low\r\n\r\n"},
    {"status 600", "HTTP/1.1 600 High\r\n\r\n"},
    {"status letters", "HTTP/1.1 2OO OK\r\n\r\n"},
    {"HTTP/2", "HTTP/2 200 OK\r\n\r\n"},
    {"HTTP/2.0", "HTTP/2.0 200 OK\r\n\r\n"},
    {"HTTP/1.2", "HTTP/1.2 200 OK\r\n\r\n"},
    {"lowercase", "http/1.1 200 OK\r\n\r\n"},
    {"two spaces", "HTTP/1.1  200 OK\r\n\r\n"},
    {"tab separator", "HTTP/1.1\t200 OK\r\n\r\n"},
    {"leading CRLF", "\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"},
    {"bare LF", "HTTP/1.1 200 OK\nContent-Length: 0\n\n"},
    {"bare CR in reason", "HTTP/1.1 200 O\rK\r\n\r\n"},
    {"NUL in reason", "HTTP/1.1 200 O\0K\r\n\r\n"s},
    {"obs-fold", "HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 0\r\n\r\n"},
    {"NUL in value", "HTTP/1.1 200 OK\r\nX-A: a\0\r\nContent-Length: 0\r\n\r\n"s},
    {"head too large", "HTTP/1.1 200 OK\r\nX: " + std::string(20000, 'x') + "\r\n\r\n"},
    {"too many fields",
     [] {
       std::string s = "HTTP/1.1 200 OK\r\n";
       for (int i = 0; i < 101; ++i) s += "X-" + std::to_string(i) + ": v\r\n";
       return s + "\r\n";
     }()},
    {"Connection not a token", "HTTP/1.1 200 OK\r\nConnection: a b\r\nContent-Length: 0\r\n\r\n"},
};

TEST(ResponseParser, AmbiguousOrMalformedResponsesAre502) {
  HttpLimits limits;
  limits.max_body_bytes = 1 << 30;
  for (const BadResponse& c : kBadResponses) {
    HttpResponse resp;
    ParseResult r = ParseResponseHead(c.response, limits, c.method, &resp);
    EXPECT_EQ(r.status, ParseStatus::kError) << c.name << ": " << r;
    EXPECT_EQ(r.error.status, 502) << c.name;
    for (size_t k = 0; k < c.response.size(); ++k) {
      ParseResult p =
          ParseResponseHead(std::string_view(c.response).substr(0, k), limits, c.method, &resp);
      if (!p.need_more()) {
        EXPECT_EQ(p, r) << c.name << ", prefix " << k;
      }
    }
  }
}

}  // namespace
}  // namespace edge::http
