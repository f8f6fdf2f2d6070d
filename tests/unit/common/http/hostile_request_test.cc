// Hostile requests: request smuggling in its known forms (CL.TE, TE.CL, TE.TE obfuscations),
// malformed lines, controls, bad targets and versions, Host games and limits. Each must be refused
// with the listed status, and every prefix of it must be "need more" or that same refusal (so a
// client cannot change the verdict by splitting its bytes across packets).

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "common/http/request_parser.h"
#include "tests/unit/common/http/http_test_util.h"

namespace edge::http {
namespace {

using namespace std::string_literals;

struct HostileCase {
  const char* name;
  std::string request;
  uint16_t status;
};

// A request line and Host, then `fields` (each ending in CRLF), then the blank line.
std::string Req(std::string_view fields, std::string_view line = "POST / HTTP/1.1") {
  return std::string(line) + "\r\nHost: example.com\r\n" + std::string(fields) + "\r\n";
}
std::string Line(std::string_view line) { return std::string(line) + "\r\nHost: a\r\n\r\n"; }

HttpLimits TestLimits() {
  HttpLimits l;
  l.max_header_bytes = 1024;
  l.max_target_bytes = 256;
  l.max_headers = 20;
  l.max_body_bytes = 1000;
  return l;
}

const HostileCase kCases[] = {
    // ---- CL.TE / TE.CL: both framing fields ----
    {"CL.TE", Req("Content-Length: 6\r\nTransfer-Encoding: chunked\r\n"), 400},
    {"TE.CL", Req("Transfer-Encoding: chunked\r\nContent-Length: 6\r\n"), 400},
    {"TE.CL with tab", Req("Transfer-Encoding:\tchunked\r\nContent-Length: 3\r\n"), 400},
    {"CL.TE with zero CL", Req("Content-Length: 0\r\nTransfer-Encoding: chunked\r\n"), 400},
    {"TE gzip + CL", Req("Transfer-Encoding: gzip\r\nContent-Length: 3\r\n"), 400},
    // ---- TE.TE obfuscations ----
    {"space before colon", Req("Transfer-Encoding : chunked\r\n"), 400},
    {"tab before colon", Req("Transfer-Encoding\t: chunked\r\n"), 400},
    {"xchunked", Req("Transfer-Encoding: xchunked\r\n"), 501},
    {"chunked, identity", Req("Transfer-Encoding: chunked, identity\r\n"), 501},
    {"identity", Req("Transfer-Encoding: identity\r\n"), 501},
    {"gzip, chunked", Req("Transfer-Encoding: gzip, chunked\r\n"), 501},
    {"chunk", Req("Transfer-Encoding: chunk\r\n"), 501},
    {"duplicate TE", Req("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"), 400},
    {"chunked, chunked", Req("Transfer-Encoding: chunked, chunked\r\n"), 400},
    {"split TE gzip/chunked", Req("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n"),
     501},
    {"quoted chunked", Req("Transfer-Encoding: \"chunked\"\r\n"), 400},
    {"chunked with parameter", Req("Transfer-Encoding: chunked;q=1\r\n"), 400},
    {"chunked with inner space", Req("Transfer-Encoding: chun ked\r\n"), 400},
    {"empty TE", Req("Transfer-Encoding:\r\n"), 400},
    {"TE only commas", Req("Transfer-Encoding: , ,\r\n"), 400},
    {"vertical tab after chunked", Req("Transfer-Encoding: chunked\x0b\r\n"), 400},
    {"form feed before chunked",
     Req("Transfer-Encoding: \x0c"
         "chunked\r\n"),
     400},
    {"NUL in TE", Req("Transfer-Encoding: chunked\0\r\n"s), 400},
    {"TE line obs-folded", Req("X-A: a\r\n Transfer-Encoding: chunked\r\n"), 400},
    {"TE folded value", Req("Transfer-Encoding:\r\n chunked\r\n"), 400},
    {"TE with bare LF", Req("Transfer-Encoding: chunked\nX: y\r\n"), 400},
    {"TE in HTTP/1.0", Req("Transfer-Encoding: chunked\r\n", "POST / HTTP/1.0"), 400},
    {"NUL in TE name", Req("Transfer-Encoding\0: chunked\r\n"s), 400},
    {"TE name with obs-text", Req("Transfer-Encoding\xff: chunked\r\n"), 400},
    // ---- Content-Length ----
    {"CL +5", Req("Content-Length: +5\r\n"), 400},
    {"CL -1", Req("Content-Length: -1\r\n"), 400},
    {"CL 0x10", Req("Content-Length: 0x10\r\n"), 400},
    {"CL 5 5", Req("Content-Length: 5 5\r\n"), 400},
    {"CL 5,5", Req("Content-Length: 5,5\r\n"), 400},
    {"CL 5, 6", Req("Content-Length: 5, 6\r\n"), 400},
    {"CL 1e3", Req("Content-Length: 1e3\r\n"), 400},
    {"CL 5.0", Req("Content-Length: 5.0\r\n"), 400},
    {"CL empty", Req("Content-Length:\r\n"), 400},
    {"CL duplicate identical", Req("Content-Length: 5\r\nContent-Length: 5\r\n"), 400},
    {"CL duplicate different", Req("Content-Length: 5\r\nContent-Length: 6\r\n"), 400},
    {"CL 2^64", Req("Content-Length: 18446744073709551616\r\n"), 400},
    {"CL huge", Req("Content-Length: 99999999999999999999999999\r\n"), 400},
    {"CL over max body", Req("Content-Length: 1001\r\n"), 413},
    {"CL 2^64-1 over max body", Req("Content-Length: 18446744073709551615\r\n"), 413},
    {"CL space before colon", Req("Content-Length : 5\r\n"), 400},
    {"CL with NUL", Req("Content-Length: 5\0\r\n"s), 400},
    {"CL folded", Req("Content-Length: 5\r\n 6\r\n"), 400},
    // ---- line endings, folding, controls ----
    {"obs-fold with space", Req("X-A: a\r\n b\r\n"), 400},
    {"obs-fold with tab", Req("X-A: a\r\n\tb\r\n"), 400},
    {"whitespace line after request line", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400},
    {"bare CR in value", Req("X-A: a\rb\r\n"), 400},
    {"bare CR ending a field", Req("X-A: a\r\rX-B: b\r\n"), 400},
    {"bare CR in request line", "GET / HTTP/1.1\r\rHost: a\r\n\r\n", 400},
    {"bare LF everywhere", "GET / HTTP/1.1\nHost: a\n\n", 400},
    {"bare LF ending a field", Req("X-A: a\nX-B: b\r\n"), 400},
    {"bare LF ending the head", "GET / HTTP/1.1\r\nHost: a\r\n\n", 400},
    {"CR in the blank line", "GET / HTTP/1.1\r\nHost: a\r\n\r\r\n", 400},
    {"NUL in value", Req("X-A: a\0b\r\n"s), 400},
    {"SOH in value", Req("X-A: a\x01\r\n"), 400},
    {"ESC in value", Req("X-A: \x1b[31mred\r\n"), 400},
    {"DEL in value", Req("X-A: a\x7f\r\n"), 400},
    {"NUL in name", Req("X\0A: b\r\n"s), 400},
    {"space in name", Req("X A: b\r\n"), 400},
    {"empty name", Req(": b\r\n"), 400},
    {"no colon", Req("X-A b\r\n"), 400},
    {"name with slash", Req("X/A: b\r\n"), 400},
    {"Host space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400},
    // ---- request line ----
    {"two spaces after method", Line("GET  / HTTP/1.1"), 400},
    {"two spaces before version", Line("GET /  HTTP/1.1"), 400},
    {"trailing space", Line("GET / HTTP/1.1 "), 400},
    {"tab separator", Line("GET\t/ HTTP/1.1"), 400},
    {"tab before version", Line("GET /\tHTTP/1.1"), 400},
    {"leading space", Line(" GET / HTTP/1.1"), 400},
    {"invalid method char", Line("G(T / HTTP/1.1"), 400},
    {"method with obs-text", Line("G\xc9T / HTTP/1.1"), 400},
    {"method too long", Line(std::string(kMaxMethodBytes + 1, 'M') + " / HTTP/1.1"), 400},
    {"HTTP/1.2", Line("GET / HTTP/1.2"), 505},
    {"HTTP/2.0", Line("GET / HTTP/2.0"), 505},
    {"HTTP/0.9", Line("GET / HTTP/0.9"), 505},
    {"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505},
    {"lowercase version", Line("GET / http/1.1"), 400},
    {"HTTP/1.10", Line("GET / HTTP/1.10"), 400},
    {"HTTP/1", Line("GET / HTTP/1"), 400},
    {"HTTP/11", Line("GET / HTTP/11"), 400},
    {"version with spaces", Line("GET / HTTP/ 1.1"), 400},
    {"HTTP/0.9 request", "GET /\r\n\r\n", 400},
    {"no target", Line("GET HTTP/1.1"), 400},
    {"two leading empty lines", "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    {"leading bare LF", "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
    // ---- request-target ----
    {"asterisk with GET", Line("GET * HTTP/1.1"), 400},
    {"asterisk with suffix", Line("OPTIONS *x HTTP/1.1"), 400},
    {"CONNECT origin-form", Line("CONNECT / HTTP/1.1"), 400},
    {"CONNECT without port", Line("CONNECT example.com HTTP/1.1"), 400},
    {"CONNECT absolute-form", Line("CONNECT http://a:443/ HTTP/1.1"), 400},
    {"fragment", Line("GET /a#b HTTP/1.1"), 400},
    {"fragment in query", Line("GET /a?b#c HTTP/1.1"), 400},
    {"bad percent-encoding", Line("GET /a%zz HTTP/1.1"), 400},
    {"truncated percent-encoding", Line("GET /a%4 HTTP/1.1"), 400},
    {"bad percent-encoding in query", Line("GET /a?q=100% HTTP/1.1"), 400},
    {"backslash in path", Line("GET /a\\..\\admin HTTP/1.1"), 400},
    {"pipe in path", Line("GET /a|b HTTP/1.1"), 400},
    {"obs-text in path", Line("GET /caf\xc3\xa9 HTTP/1.1"), 400},
    {"NUL in target", Line("GET /a\0b HTTP/1.1"s), 400},
    {"relative target", Line("GET a/b HTTP/1.1"), 400},
    {"scheme ftp", Line("GET ftp://a/ HTTP/1.1"), 400},
    {"absolute-form without //", Line("GET http:/a/ HTTP/1.1"), 400},
    {"userinfo", "GET http://user:pw@example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n", 400},
    {"absolute-form Host mismatch", "GET http://a.example/ HTTP/1.1\r\nHost: b.example\r\n\r\n",
     400},
    {"absolute-form empty host", "GET http:///x HTTP/1.1\r\nHost: \r\n\r\n", 400},
    {"CONNECT Host mismatch", "CONNECT a.example:443 HTTP/1.1\r\nHost: b.example:443\r\n\r\n", 400},
    {"target too long", Line("GET /" + std::string(256, 'a') + " HTTP/1.1"), 414},
    {"target too long, head unfinished", "GET /" + std::string(300, 'a'), 414},
    // ---- Host ----
    {"missing Host", "GET / HTTP/1.1\r\n\r\n", 400},
    {"duplicate Host identical", "GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400},
    {"duplicate Host different", "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", 400},
    {"Host with space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400},
    {"Host with path", "GET / HTTP/1.1\r\nHost: example.com/evil\r\n\r\n", 400},
    {"Host list", "GET / HTTP/1.1\r\nHost: a.example,b.example\r\n\r\n", 400},
    {"Host with userinfo", "GET / HTTP/1.1\r\nHost: user@example.com\r\n\r\n", 400},
    {"Host port out of range", "GET / HTTP/1.1\r\nHost: example.com:65536\r\n\r\n", 400},
    {"Host empty port", "GET / HTTP/1.1\r\nHost: example.com:\r\n\r\n", 400},
    {"Host unclosed IPv6", "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", 400},
    {"Host bad IPv6", "GET / HTTP/1.1\r\nHost: [1:2:3:4:5:6:7:8:9]\r\n\r\n", 400},
    {"Host in HTTP/1.0 duplicate", "GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", 400},
    // ---- limits ----
    {"head too large", Req("X-Big: " + std::string(1024, 'b') + "\r\n"), 431},
    {"unterminated head too large", "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(1100, 'x'),
     431},
    {"too many fields", Req([] {
       std::string f;
       for (int i = 0; i < 20; ++i) f += "X-" + std::to_string(i) + ": v\r\n";
       return f;
     }()),
     431},
    // ---- Connection, Expect ----
    {"Connection not a token", Req("Connection: keep alive\r\n"), 400},
    {"Expect other", Req("Expect: 100-continuex\r\n"), 417},
    {"Expect 200-ok", Req("Expect: 200-ok\r\n"), 417},
    {"Expect twice", Req("Expect: 100-continue\r\nExpect: 100-continue\r\n"), 417},
};

TEST(HostileRequests, TableIsLarge) { EXPECT_GE(std::size(kCases), 60u); }

TEST(HostileRequests, AreRefusedWithTheRightStatus) {
  const HttpLimits limits = TestLimits();
  for (const HostileCase& c : kCases) {
    HttpRequest req;
    ParseResult r = ParseRequestHead(c.request, limits, &req);
    EXPECT_EQ(r.status, ParseStatus::kError) << c.name << ": " << r;
    EXPECT_EQ(r.error.status, c.status) << c.name << ": " << r << " for " << Escaped(c.request);
    EXPECT_FALSE(r.error.reason.empty()) << c.name;
  }
}

TEST(HostileRequests, EveryPrefixNeedsMoreOrGivesTheSameVerdict) {
  const HttpLimits limits = TestLimits();
  for (const HostileCase& c : kCases) {
    HttpRequest req;
    const ParseResult whole = ParseRequestHead(c.request, limits, &req);
    for (size_t k = 0; k < c.request.size(); ++k) {
      ParseResult r = ParseRequestHead(std::string_view(c.request).substr(0, k), limits, &req);
      if (!r.need_more()) {
        EXPECT_EQ(r, whole) << c.name << ", prefix " << k;
      }
      // The wrapper, given the prefix and then the whole, ends with the same verdict.
      RequestHeadParser parser(limits);
      ParseResult first = parser.Parse(std::string_view(c.request).substr(0, k), &req);
      if (first.need_more()) {
        ParseResult second = parser.Parse(c.request, &req);
        // It may still wait for a head that is neither terminated nor over the limit.
        bool may_wait = c.request.find("\n\r\n") == std::string::npos &&
                        c.request.find("\n\n") == std::string::npos &&
                        c.request.size() <= limits.max_header_bytes;
        if (!(second.need_more() && may_wait)) {
          EXPECT_EQ(second, whole) << c.name << ", split " << k;
        }
      } else {
        EXPECT_EQ(first, whole) << c.name << ", split " << k;
      }
    }
  }
}

}  // namespace
}  // namespace edge::http
