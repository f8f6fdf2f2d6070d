#pragma once
// The HTTP/1.1 request-head parser (RFC 9110, RFC 9112): strict, incremental, zero-copy.
//
// ParseRequestHead() looks at the bytes received so far on a connection, from the start of the
// message, and says kNeedMore, kComplete (the head is `consumed` bytes; the body, if any, and any
// pipelined requests follow) or kError (an HTTP status and a reason; answer it and close). It keeps
// no state between calls: call it again with the longer buffer. Every byte is checked as soon as
// it is seen, so junk is refused without waiting for the end of the head, and a verdict on a
// prefix of the bytes is kNeedMore or exactly the verdict on the whole. RequestHeadParser wraps it
// for connections, keeping the total work linear when a head trickles in.
//
// Zero-copy: HttpRequest holds string_views into the caller's buffer (see message.h). The buffer
// must stay put, unmodified, until the request has been consumed. Reusing one HttpRequest for
// every request on a connection avoids allocation once its header vector has grown.
//
// Strictness: anything ambiguous is refused, never guessed. In detail, refused are:
//  - Line endings other than CRLF. A bare LF (which RFC 9112 2.2 lets a recipient accept) is 400,
//    like a bare CR. One empty line before the request line is ignored (RFC 9112 2.2); two are 400.
//  - A request line not exactly `method SP target SP version CRLF` (one SP each, no other
//    whitespace). Method: a token (any token: extension methods pass, "GET" is case-sensitive so
//    "get" is another method), at most kMaxMethodBytes. Version: "HTTP/1.1" or "HTTP/1.0"; another
//    well-formed "HTTP/x.y" (1.2, 2.0, 0.9) is 505; anything else ("http/1.1", "HTTP/1.10") is 400.
//  - A request-target longer than max_target_bytes: 414. Its form must fit the method:
//    asterisk-form "*" only for OPTIONS, authority-form (host:port, port required) only and always
//    for CONNECT, origin-form ("/path?query") or absolute-form ("http://host/path", scheme http or
//    https) otherwise. No fragment ("#"). The path holds only RFC 3986 pchar and "/" (so no "\",
//    "|", "^", "{", "[", ... ); the query any VCHAR but "#" (browsers send "[", "|", "{" raw in
//    queries, and none of them is ambiguous there). Every "%" in path or query must start a "%HH"
//    escape, since backends disagree on what a broken escape decodes to. The parser does not
//    normalise the path (dot segments, escapes): routing must do that before matching.
//  - Userinfo in an absolute-form target ("http://user@host/"; RFC 9110 4.2.4), and an
//    absolute- or authority-form authority that differs from the Host field (RFC 9112 3.2.2 says
//    to ignore Host then, but a backend that reads Host would see another host).
//  - Host: missing in HTTP/1.1, repeated (even if identical), or not `host [":" port]`, where host
//    is a name of ALPHA DIGIT - . _ ~ or an IPv6 literal "[...]", and port at most 65535. (RFC 3986
//    also allows sub-delims and %HH in reg-name; no DNS name uses them.) An empty Host is allowed.
//  - Field lines: see internal::ParseFieldSection (head_parse.h): no whitespace before the colon,
//    no obs-fold, no NUL or other control in values. More than max_headers fields, or a head
//    longer than max_header_bytes: 431.
//  - Framing (RFC 9112 6): Transfer-Encoding with Content-Length: 400. Transfer-Encoding in an
//    HTTP/1.0 request: 400. A Transfer-Encoding list that is not a list of tokens, or names
//    chunked twice: 400; one that names any coding but chunked ("gzip, chunked" is legal but
//    refused; "identity", "xchunked"): 501. Content-Length repeated (even with the same value),
//    empty, or not 1*DIGIT within uint64 ("+5", "0x10", "5,5", "5 5"): 400. A Content-Length
//    above max_body_bytes: 413.
//  - Upgrade (HTTP/1.1, with "upgrade" among the Connection options): anything but a non-empty
//    list of `token ["/" token]` protocols is 400. HTTP/1.0 upgrades are ignored (RFC 9110 7.8).
//  - Connection: an option that is not a token: 400. Expect (HTTP/1.1): only "100-continue" (any
//    case), once; anything else is 417. In HTTP/1.0 Expect is ignored (RFC 9110 10.1.1).
//  Accepted: OWS around field values (also around Content-Length's digits), obs-text in values,
//  "chunked" in any case, leading zeros in Content-Length, extension methods.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/http/head_parse.h"
#include "common/http/message.h"

namespace edge::http {

inline constexpr size_t kMaxMethodBytes = 32;

enum class Method : uint8_t {
  kOther,  // an extension method: see HttpRequest::method_name
  kGet,
  kHead,
  kPost,
  kPut,
  kDelete,
  kConnect,
  kOptions,
  kTrace,
  kPatch,
};

// RFC 9110 9.2.2: repeating one of these cannot change the outcome, so a proxy may retry it.
inline bool IsIdempotent(Method m) {
  switch (m) {
    case Method::kGet:
    case Method::kHead:
    case Method::kOptions:
    case Method::kPut:
    case Method::kDelete:
    case Method::kTrace:
      return true;
    default:
      return false;
  }
}

// The Method of a method token (case-sensitive, as RFC 9110 9.1 says).
Method MethodFromName(std::string_view name);

enum class TargetForm : uint8_t { kOrigin, kAbsolute, kAuthority, kAsterisk };

struct HttpRequest {
  std::string_view method_name;  // as received
  Method method = Method::kOther;
  std::string_view target;  // the request-target exactly as received
  TargetForm target_form = TargetForm::kOrigin;
  // Origin- and absolute-form: the path, still percent-encoded ("/" for "http://host" and
  // "http://host?q"); authority- and asterisk-form: empty.
  std::string_view path;
  std::string_view query;  // after "?", without it; empty when there is none
  // Absolute- and authority-form: the target's authority. Otherwise the Host value, which may be
  // empty (an empty Host, or an HTTP/1.0 request without one).
  std::string_view authority;
  HttpVersion version = HttpVersion::kHttp11;
  HttpHeaders headers;
  BodyFraming body;              // kNone, kContentLength or kChunked (never kUntilClose)
  bool keep_alive = true;        // 1.1: unless "Connection: close"; 1.0: only with "keep-alive"
  bool expect_continue = false;  // HTTP/1.1 with "Expect: 100-continue"
  bool upgrade = false;          // HTTP/1.1, "Connection: upgrade" and a valid Upgrade field

  void Clear();                               // keeps the header vector's capacity
  void Relocate(const ViewRelocation& move);  // see ViewRelocation (message.h)
};

// Parses the request head at the start of `data` (see the top of this file). On kComplete, *out
// describes the request and result.consumed is the head's size; on other results *out is
// unspecified.
ParseResult ParseRequestHead(std::string_view data, const HttpLimits& limits, HttpRequest* out);

// ParseRequestHead() for a connection that receives a head in pieces. Call Parse() with the whole
// message so far (the buffer may have moved or grown since the last call; the bytes already seen
// must be the same). It returns exactly what ParseRequestHead() returns on that data, except that
// it may say kNeedMore where ParseRequestHead() would already refuse a head that is neither
// terminated nor over max_header_bytes; it catches up no later than when the data has doubled.
// The work over all calls for one head is linear in its size. Reset() before the next message.
class RequestHeadParser {
 public:
  explicit RequestHeadParser(const HttpLimits& limits) : limits_(limits) {}

  ParseResult Parse(std::string_view data, HttpRequest* out);
  void Reset() { progress_.Reset(); }
  const HttpLimits& limits() const { return limits_; }

 private:
  HttpLimits limits_;
  internal::HeadProgress progress_;
};

}  // namespace edge::http
