// Valid requests of many shapes, incremental parsing at every split point, pipelining, and the
// RequestHeadParser wrapper. Hostile inputs are in hostile_request_test.cc.

#include "common/http/request_parser.h"

#include <gtest/gtest.h>

#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "common/http/chunked_decoder.h"
#include "tests/unit/common/http/http_test_util.h"

namespace edge::http {
namespace {

using namespace std::string_literals;

const std::string kBrowserGet =
    "GET /catalog/items/42?ref=home&utm_source=newsletter HTTP/1.1\r\n"
    "Host: shop.example.com\r\n"
    "Connection: keep-alive\r\n"
    "sec-ch-ua: \"Chromium\";v=\"122\", \"Not(A:Brand\";v=\"24\", \"Google Chrome\";v=\"122\"\r\n"
    "sec-ch-ua-mobile: ?0\r\n"
    "sec-ch-ua-platform: \"Linux\"\r\n"
    "Upgrade-Insecure-Requests: 1\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/122.0.0.0 Safari/537.36\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
    "*/*;q=0.8\r\n"
    "Sec-Fetch-Site: same-origin\r\n"
    "Sec-Fetch-Mode: navigate\r\n"
    "Sec-Fetch-User: ?1\r\n"
    "Sec-Fetch-Dest: document\r\n"
    "Referer: https://shop.example.com/\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Accept-Language: en-GB,en;q=0.9,fr;q=0.8\r\n"
    "Cookie: session=3f9a1c2e7b6d4e0f8a1b2c3d4e5f6a7b; cart=%7B%22items%22%3A3%7D; "
    "theme=dark; _ga=GA1.2.1234567890.1700000000\r\n"
    "\r\n";

ParseResult Parse(std::string_view data, HttpRequest* req, const HttpLimits& limits = {}) {
  return ParseRequestHead(data, limits, req);
}

// Parses `data`, expecting a complete head of exactly its size, and checks that every shorter
// prefix needs more and that the wrapper fed the head in two pieces agrees, at every split.
// Parsed messages point into their buffer: keep every buffer a test parses alive.
const std::string& Keep(std::string data) {
  static std::deque<std::string> buffers;
  return buffers.emplace_back(std::move(data));
}

HttpRequest ParseWhole(const std::string& input, const HttpLimits& limits = {}) {
  const std::string& data = Keep(input);
  HttpRequest req;
  ParseResult r = ParseRequestHead(data, limits, &req);
  EXPECT_EQ(r, ParseResult::Complete(data.size())) << Escaped(data);
  HttpRequest part;
  for (size_t k = 0; k < data.size(); ++k) {
    ParseResult pr = ParseRequestHead(std::string_view(data).substr(0, k), limits, &part);
    EXPECT_TRUE(pr.need_more()) << "prefix " << k << ": " << pr;
    RequestHeadParser parser(limits);
    std::string buffer = data.substr(0, k);  // a growing buffer, as a connection has
    EXPECT_TRUE(parser.Parse(buffer, &part).need_more()) << "split " << k;
    buffer.append(data.substr(k));
    EXPECT_EQ(parser.Parse(buffer, &part), r) << "split " << k;
    EXPECT_EQ(part.target, req.target);
    EXPECT_EQ(part.headers.size(), req.headers.size());
  }
  return req;
}

TEST(RequestParser, BrowserGet) {
  ASSERT_GT(kBrowserGet.size(), 700u);
  HttpRequest req = ParseWhole(kBrowserGet);
  EXPECT_EQ(req.method, Method::kGet);
  EXPECT_EQ(req.method_name, "GET");
  EXPECT_EQ(req.target, "/catalog/items/42?ref=home&utm_source=newsletter");
  EXPECT_EQ(req.target_form, TargetForm::kOrigin);
  EXPECT_EQ(req.path, "/catalog/items/42");
  EXPECT_EQ(req.query, "ref=home&utm_source=newsletter");
  EXPECT_EQ(req.authority, "shop.example.com");
  EXPECT_EQ(req.version, HttpVersion::kHttp11);
  EXPECT_EQ(req.headers.size(), 16u);
  EXPECT_EQ(req.headers[0].name, "Host");
  EXPECT_EQ(req.headers[15].name, "Cookie");
  EXPECT_EQ(req.headers.Get("cookie").substr(0, 8), "session=");
  EXPECT_EQ(req.headers.Get("SEC-CH-UA-MOBILE"), "?0");
  EXPECT_EQ(req.headers.Find("x-missing"), nullptr);
  EXPECT_EQ(req.body, (BodyFraming{BodyKind::kNone, 0}));
  EXPECT_TRUE(req.keep_alive);
  EXPECT_FALSE(req.expect_continue);
  // Zero-copy: the views point into the buffer.
  ASSERT_TRUE(Parse(kBrowserGet, &req).complete());
  EXPECT_EQ(req.target.data(), kBrowserGet.data() + 4);
  EXPECT_EQ(req.headers[0].value.data(), kBrowserGet.data() + kBrowserGet.find("shop.example"));
}

TEST(RequestParser, ApiPostWithJsonBody) {
  const std::string body = R"({"name":"widget","price":12.5,"tags":["a","b"]})";
  const std::string head =
      "POST /v1/products HTTP/1.1\r\n"
      "Host: api.example.com:8443\r\n"
      "Content-Type: application/json\r\n"
      "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\n\r\n";
  HttpRequest req = ParseWhole(head);
  EXPECT_EQ(req.method, Method::kPost);
  EXPECT_EQ(req.authority, "api.example.com:8443");
  EXPECT_EQ(req.body, (BodyFraming{BodyKind::kContentLength, body.size()}));
  // With the body behind it, the head is still just the head.
  std::string wire = head + body;
  EXPECT_EQ(Parse(wire, &req), ParseResult::Complete(head.size()));
  EXPECT_EQ(std::string_view(wire).substr(head.size(), req.body.length), body);
}

TEST(RequestParser, ChunkedUpload) {
  const std::string head =
      "PUT /upload/file.bin HTTP/1.1\r\n"
      "Host: files.example.com\r\n"
      "Transfer-Encoding: chunked\r\n"
      "Expect: 100-continue\r\n\r\n";
  const std::string body = "4\r\nWiki\r\n7;part=2\r\npedia i\r\nB\r\nn \r\nchunks.\r\n0\r\n\r\n";
  HttpRequest req = ParseWhole(head);
  EXPECT_EQ(req.method, Method::kPut);
  EXPECT_EQ(req.body.kind, BodyKind::kChunked);
  EXPECT_TRUE(req.expect_continue);
  ChunkedDecoder decoder;
  std::string data;
  std::string_view in = body;
  for (;;) {
    ChunkedResult r = decoder.Decode(in);
    ASSERT_NE(r.status, ChunkedStatus::kError) << r.error.reason;
    data.append(r.data);
    in.remove_prefix(r.consumed);
    if (r.status == ChunkedStatus::kDone) break;
    ASSERT_NE(r.status, ChunkedStatus::kNeedMore);
  }
  EXPECT_EQ(data, "Wikipedia in \r\nchunks.");
  EXPECT_TRUE(in.empty());
}

TEST(RequestParser, PipelinedRequestsInOneBuffer) {
  const std::string wire =
      "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
      "DELETE /c/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
      "GET /d HTTP/1.1\r\nHo";  // the start of a fourth
  std::string_view in = wire;
  std::vector<std::string> seen;
  HttpRequest req;
  RequestHeadParser parser({});
  for (;;) {
    ParseResult r = parser.Parse(in, &req);
    if (r.need_more()) break;
    ASSERT_TRUE(r.complete()) << r;
    seen.push_back(std::string(req.method_name) + " " + std::string(req.target) +
                   (req.keep_alive ? " keep" : " close"));
    in.remove_prefix(r.consumed);
    if (req.body.kind == BodyKind::kContentLength) {
      EXPECT_EQ(in.substr(0, req.body.length), "hello");
      in.remove_prefix(req.body.length);
    }
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"GET /a keep", "POST /b keep", "DELETE /c/1 close"}));
  EXPECT_EQ(in, "GET /d HTTP/1.1\r\nHo");
}

// A caller that copies a parsed head elsewhere relocates the views instead of parsing again: every
// view must then point into the copy, and a view that pointed at none of the bytes (the "/" the
// parser supplies for "http://host") must stay as it was.
TEST(RequestParser, RelocateMovesEveryViewIntoTheCopy) {
  for (const std::string& text :
       {kBrowserGet, "GET http://example.com HTTP/1.1\r\nHost: example.com\r\nX-A: 1\r\n\r\n"s}) {
    std::string received = text + "GET /next HTTP/1.1\r\n";  // a pipelined request follows
    HttpRequest request;
    ParseResult r = ParseRequestHead(received, HttpLimits(), &request);
    ASSERT_TRUE(r.complete());
    const std::string intact = received;  // `expected` points into bytes that stay
    HttpRequest expected;
    ASSERT_TRUE(ParseRequestHead(intact, HttpLimits(), &expected).complete());
    std::string copy(received, 0, r.consumed);
    request.Relocate({received.data(), r.consumed, copy.data()});
    std::fill(received.begin(), received.end(), '#');  // the receive buffer moves on
    auto inside_copy = [&](std::string_view v) {
      return v.empty() ||
             (v.data() >= copy.data() && v.data() + v.size() <= copy.data() + copy.size());
    };
    EXPECT_EQ(request.method_name, expected.method_name);
    EXPECT_TRUE(inside_copy(request.method_name));
    EXPECT_EQ(request.target, expected.target);
    EXPECT_TRUE(inside_copy(request.target));
    EXPECT_EQ(request.path, expected.path);
    EXPECT_EQ(request.query, expected.query);
    EXPECT_TRUE(inside_copy(request.query));
    EXPECT_EQ(request.authority, expected.authority);
    EXPECT_TRUE(inside_copy(request.authority));
    ASSERT_EQ(request.headers.size(), expected.headers.size());
    for (size_t i = 0; i < request.headers.size(); ++i) {
      EXPECT_EQ(request.headers[i].name, expected.headers[i].name);
      EXPECT_EQ(request.headers[i].value, expected.headers[i].value);
      EXPECT_TRUE(inside_copy(request.headers[i].name));
      EXPECT_TRUE(inside_copy(request.headers[i].value));
    }
  }
}

TEST(RequestParser, Http10) {
  HttpRequest req = ParseWhole("GET /index.html HTTP/1.0\r\n\r\n");
  EXPECT_EQ(req.version, HttpVersion::kHttp10);
  EXPECT_FALSE(req.keep_alive);
  EXPECT_EQ(req.authority, "");

  req = ParseWhole("GET / HTTP/1.0\r\nHost: a.example\r\nConnection: Keep-Alive\r\n\r\n");
  EXPECT_TRUE(req.keep_alive);
  EXPECT_EQ(req.authority, "a.example");

  // Expect is ignored in HTTP/1.0 (RFC 9110 10.1.1).
  req = ParseWhole("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n");
  EXPECT_FALSE(req.expect_continue);
}

TEST(RequestParser, KeepAliveDecisions) {
  EXPECT_TRUE(ParseWhole("GET / HTTP/1.1\r\nHost: a\r\n\r\n").keep_alive);
  EXPECT_FALSE(ParseWhole("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").keep_alive);
  EXPECT_FALSE(
      ParseWhole("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, CLOSE\r\n\r\n").keep_alive);
  EXPECT_FALSE(ParseWhole("GET / HTTP/1.1\r\nHost: a\r\nConnection: x\r\nConnection: close\r\n\r\n")
                   .keep_alive);
  EXPECT_FALSE(ParseWhole("GET / HTTP/1.0\r\nConnection: close, keep-alive\r\n\r\n").keep_alive);
}

TEST(RequestParser, AbsoluteForm) {
  HttpRequest req =
      ParseWhole("GET http://Example.com:8080/a/b?x=1 HTTP/1.1\r\nHost: example.com:8080\r\n\r\n");
  EXPECT_EQ(req.target_form, TargetForm::kAbsolute);
  EXPECT_EQ(req.authority, "Example.com:8080");
  EXPECT_EQ(req.path, "/a/b");
  EXPECT_EQ(req.query, "x=1");

  req = ParseWhole("GET https://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n");
  EXPECT_EQ(req.path, "/");
  EXPECT_EQ(req.query, "");
  req = ParseWhole("GET http://example.com?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n");
  EXPECT_EQ(req.path, "/");
  EXPECT_EQ(req.query, "q=1");
  // HTTP/1.0 may omit Host: the authority comes from the target.
  req = ParseWhole("GET http://[::1]:80/x HTTP/1.0\r\n\r\n");
  EXPECT_EQ(req.authority, "[::1]:80");
}

TEST(RequestParser, OptionsAsteriskAndConnect) {
  HttpRequest req = ParseWhole("OPTIONS * HTTP/1.1\r\nHost: example.com\r\n\r\n");
  EXPECT_EQ(req.method, Method::kOptions);
  EXPECT_EQ(req.target_form, TargetForm::kAsterisk);
  EXPECT_EQ(req.path, "");

  req = ParseWhole("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
  EXPECT_EQ(req.method, Method::kConnect);
  EXPECT_EQ(req.target_form, TargetForm::kAuthority);
  EXPECT_EQ(req.authority, "example.com:443");
}

TEST(RequestParser, OneLeadingEmptyLineIsIgnored) {
  const std::string wire = "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
  HttpRequest req = ParseWhole(wire);
  EXPECT_EQ(req.target, "/");
}

TEST(RequestParser, FieldValues) {
  HttpRequest req = ParseWhole(
      "GET / HTTP/1.1\r\n"
      "Host: a\r\n"
      "X-Empty:\r\n"
      "X-Spaces: \t  padded value \t \r\n"
      "X-Obs-Text: caf\xc3\xa9\r\n"
      "X-Inner:  a\tb  c\r\n"
      "x-empty: second\r\n"
      "X-Punct: !#$%&'*+-.^_`|~()<>@,;:\\\"/[]?={}\r\n"
      "\r\n");
  EXPECT_EQ(req.headers.Get("x-empty", "absent"), "");
  EXPECT_EQ(req.headers.Count("X-EMPTY"), 2u);
  EXPECT_EQ(req.headers.Get("x-spaces"), "padded value");
  EXPECT_EQ(req.headers.Get("x-obs-text"), "caf\xc3\xa9");
  EXPECT_EQ(req.headers.Get("x-inner"), "a\tb  c");
  EXPECT_EQ(req.headers.Get("x-punct"), "!#$%&'*+-.^_`|~()<>@,;:\\\"/[]?={}");
}

TEST(RequestParser, Targets) {
  HttpRequest req = ParseWhole(
      "GET /a%20b/c:d@e/!$&'()*+,;=-._~?f[0]=1&g={x}|^`\"<>\\/?%41 HTTP/1.1\r\n"
      "Host: a\r\n\r\n");
  EXPECT_EQ(req.path, "/a%20b/c:d@e/!$&'()*+,;=-._~");
  EXPECT_EQ(req.query, "f[0]=1&g={x}|^`\"<>\\/?%41");
  req = ParseWhole("GET /? HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(req.path, "/");
  EXPECT_EQ(req.query, "");
  req = ParseWhole("GET //double//slash HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(req.path, "//double//slash");
}

TEST(RequestParser, MethodsAndUpgrade) {
  HttpRequest req = ParseWhole("PURGE /cache/x HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(req.method, Method::kOther);
  EXPECT_EQ(req.method_name, "PURGE");
  EXPECT_EQ(ParseWhole("get / HTTP/1.1\r\nHost: a\r\n\r\n").method, Method::kOther);
  EXPECT_EQ(ParseWhole("HEAD / HTTP/1.1\r\nHost: a\r\n\r\n").method, Method::kHead);
  EXPECT_EQ(ParseWhole("PATCH / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n").method,
            Method::kPatch);
  const std::string max_method(kMaxMethodBytes, 'M');
  EXPECT_EQ(ParseWhole(max_method + " / HTTP/1.1\r\nHost: a\r\n\r\n").method_name, max_method);

  req = ParseWhole(
      "GET /chat HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
  EXPECT_TRUE(req.upgrade);
  EXPECT_FALSE(ParseWhole("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n").upgrade);
  EXPECT_TRUE(ParseWhole("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, upgrade\r\n"
                         "Upgrade: h2c, websocket/13 ,foo\r\nUpgrade: bar\r\n\r\n")
                  .upgrade);
  // RFC 9110 7.8: an HTTP/1.0 Upgrade is ignored, not refused.
  EXPECT_FALSE(
      ParseWhole("GET / HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n").upgrade);
}

TEST(RequestParser, UpgradeMustBeAListOfProtocols) {
  for (const char* value : {"", " , ", "web socket", "websocket/", "/13", "websocket/1/2",
                            "\"websocket\"", "websocket;q=1", "a, b c"}) {
    std::string head = std::string("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n") +
                       "Upgrade: " + value + "\r\n\r\n";
    HttpRequest req;
    ParseResult r = ParseRequestHead(head, {}, &req);
    ASSERT_TRUE(r.error_status()) << value;
    EXPECT_EQ(r.error.status, 400) << value;
  }
  // Without "upgrade" among the Connection options the field is only dropped (hop-by-hop).
  EXPECT_FALSE(ParseWhole("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: web socket\r\n\r\n").upgrade);
}

// Inputs that the strict parser accepts on purpose because RFC 9110/9112 define them precisely.
TEST(RequestParser, RfcValidFormsAreAccepted) {
  struct Case {
    const char* name;
    std::string fields;
    BodyFraming body;
  };
  const Case cases[] = {
      {"OWS around Content-Length", "Content-Length:  5 \r\n", {BodyKind::kContentLength, 5}},
      {"leading zeros", "Content-Length: 005\r\n", {BodyKind::kContentLength, 5}},
      {"zero", "Content-Length: 0\r\n", {BodyKind::kContentLength, 0}},
      {"chunked in capitals", "Transfer-Encoding: CHUNKED\r\n", {BodyKind::kChunked, 0}},
      {"tab before chunked", "Transfer-Encoding:\tchunked\t\r\n", {BodyKind::kChunked, 0}},
      {"empty list elements", "Transfer-Encoding: , chunked,\r\n", {BodyKind::kChunked, 0}},
      {"unrelated name", "Transfer_Encoding: gzip\r\n", {BodyKind::kNone, 0}},
      {"Expect in any case", "Expect: 100-Continue\r\n", {BodyKind::kNone, 0}},
      {"empty Host", "", {BodyKind::kNone, 0}},
  };
  for (const Case& c : cases) {
    std::string host = std::string(c.name) == "empty Host" ? "Host:\r\n" : "Host: a\r\n";
    HttpRequest req = ParseWhole("POST / HTTP/1.1\r\n" + host + c.fields + "\r\n");
    EXPECT_EQ(req.body, c.body) << c.name;
  }
}

TEST(RequestParser, Limits) {
  HttpLimits limits;
  limits.max_header_bytes = 200;
  limits.max_target_bytes = 20;
  limits.max_headers = 3;
  limits.max_body_bytes = 100;
  HttpRequest req;
  // Exactly at each limit: accepted.
  const std::string target20 = "/" + std::string(19, 'a');
  EXPECT_TRUE(ParseWhole("GET " + target20 + " HTTP/1.1\r\nHost: a\r\n\r\n", limits).target ==
              target20);
  ParseWhole("GET / HTTP/1.1\r\nHost: a\r\nB: 1\r\nC: 2\r\n\r\n", limits);
  ParseWhole("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n", limits);
  std::string head = "GET / HTTP/1.1\r\nHost: a\r\nX: ";
  head += std::string(200 - head.size() - 4, 'v') + "\r\n\r\n";
  ASSERT_EQ(head.size(), 200u);
  ParseWhole(head, limits);
  // One more: refused.
  EXPECT_EQ(Parse("GET " + target20 + "a HTTP/1.1\r\nHost: a\r\n\r\n", &req, limits).error.status,
            414);
  EXPECT_EQ(
      Parse("GET / HTTP/1.1\r\nHost: a\r\nB: 1\r\nC: 2\r\nD: 3\r\n\r\n", &req, limits).error.status,
      431);
  EXPECT_EQ(
      Parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 101\r\n\r\n", &req, limits).error.status,
      413);
  std::string big = head;
  big.insert(big.size() - 4, "v");
  EXPECT_EQ(Parse(big, &req, limits).error.status, 431);
  // An unterminated head is refused as soon as it passes the limit.
  EXPECT_TRUE(Parse(big.substr(0, 200), &req, limits).need_more());
  EXPECT_EQ(Parse(big.substr(0, 201), &req, limits).error.status, 431);
}

TEST(RequestParser, ReusedRequestDoesNotKeepOldState) {
  HttpRequest req;
  ASSERT_TRUE(Parse("POST /x?y HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n",
                    &req)
                  .complete());
  ASSERT_TRUE(Parse("GET / HTTP/1.1\r\nHost: b\r\n\r\n", &req).complete());
  EXPECT_EQ(req.headers.size(), 1u);
  EXPECT_EQ(req.query, "");
  EXPECT_FALSE(req.expect_continue);
  EXPECT_EQ(req.body.kind, BodyKind::kNone);
}

// The wrapper, fed a byte at a time through a buffer that reallocates as it grows, finds the
// same head; and it refuses junk before the head ends.
TEST(RequestHeadParser, ByteAtATime) {
  RequestHeadParser parser({});
  HttpRequest req;
  std::string buffer;
  ParseResult r;
  for (char c : kBrowserGet) {
    buffer.push_back(c);
    buffer.shrink_to_fit();
    r = parser.Parse(buffer, &req);
    if (!r.need_more()) break;
  }
  EXPECT_EQ(r, ParseResult::Complete(kBrowserGet.size()));
  EXPECT_EQ(req.headers.size(), 16u);
  EXPECT_EQ(req.headers[15].value.data(),
            buffer.data() + kBrowserGet.size() - 4 - req.headers[15].value.size());

  // After a complete head the wrapper is ready for the next one.
  EXPECT_TRUE(parser.Parse("GET /next HTTP/1.1\r\nHost: a\r\n\r\n", &req).complete());
  EXPECT_EQ(req.target, "/next");
}

TEST(RequestHeadParser, RefusesJunkEarly) {
  RequestHeadParser parser({});
  HttpRequest req;
  std::string buffer = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03";  // a TLS ClientHello
  EXPECT_EQ(parser.Parse(buffer, &req).error.status, 400);

  RequestHeadParser slow({});
  buffer = "GET / HTTP/1.1\r\nHost: a\r\nX: ";
  ASSERT_TRUE(slow.Parse(buffer, &req).need_more());
  buffer += std::string(1, '\0');
  buffer += std::string(buffer.size(), 'x');  // doubled: parsed again
  EXPECT_EQ(slow.Parse(buffer, &req).error.status, 400);
}

TEST(RequestHeadParser, LinearWorkForATricklingHead) {
  // Not a timing test: checks that a 16 KiB head fed byte by byte still completes correctly.
  std::string head = "GET / HTTP/1.1\r\nHost: a\r\n";
  while (head.size() < 16000) head += "X-Fill: " + std::string(90, 'f') + "\r\n";
  head += "\r\n";
  HttpLimits limits;
  limits.max_headers = 1000;
  RequestHeadParser parser(limits);
  HttpRequest req;
  ParseResult r;
  for (size_t k = 1; k <= head.size(); ++k) {
    r = parser.Parse(std::string_view(head).substr(0, k), &req);
    if (!r.need_more()) break;
  }
  EXPECT_EQ(r, ParseResult::Complete(head.size()));
}

}  // namespace
}  // namespace edge::http
