#pragma once
// The HTTP/1.1 response-head parser, for responses from backends: the same strictness, the same
// incremental and zero-copy contract as ParseRequestHead() (request_parser.h; read it first).
//
// Every refusal is a 502 (Bad Gateway): a response whose framing is ambiguous is never forwarded,
// since the client and the gateway could then disagree on where it ends. `error.reason` says
// what was wrong (for the log and the metric).
//
// Grammar: `HTTP/1.x SP 3DIGIT SP reason CRLF`, with x 0 or 1; the status 100..599; the reason
// phrase HTAB / SP / VCHAR / obs-text, possibly empty; "HTTP/1.1 200\r\n" (no SP after the code)
// is accepted as an empty reason, since it is common and unambiguous. No empty line may precede
// the status line (a stray CRLF after a body means the backend's framing is off). Field lines as
// for requests (head_parse.h); more than max_headers or a head over max_header_bytes: 502.
//
// Body framing (RFC 9112 6.3), given the request's method:
//  - Refused: Transfer-Encoding with Content-Length; Transfer-Encoding in an HTTP/1.0 response;
//    any Transfer-Encoding but exactly "chunked" (RFC 9112 would read "gzip" or "chunked, gzip"
//    until close; we refuse instead); Content-Length repeated, empty or not 1*DIGIT; either field
//    in a 1xx response; Transfer-Encoding or a non-zero Content-Length in a 204; a Content-Length
//    above max_body_bytes.
//  - 1xx, 204, 304 and any response to HEAD: no body (kNone), whatever the fields say. A 2xx to
//    CONNECT also has none: the connection becomes a tunnel, which the caller handles.
//  - chunked: kChunked; Content-Length: kContentLength; neither: kUntilClose (keep_alive false).
// Persistence: HTTP/1.1 unless "Connection: close"; HTTP/1.0 only with "Connection: keep-alive".
// 1xx responses (100 Continue, 103 Early Hints) are complete heads of their own: the caller
// handles or drops them and parses the final response that follows. 101 hands the connection to
// another protocol.

#include <cstdint>
#include <string_view>

#include "common/http/head_parse.h"
#include "common/http/message.h"
#include "common/http/request_parser.h"

namespace edge::http {

struct HttpResponse {
  HttpVersion version = HttpVersion::kHttp11;
  uint16_t status = 0;
  std::string_view reason;  // may be empty
  HttpHeaders headers;
  BodyFraming body;
  bool keep_alive = true;

  bool informational() const { return status < 200; }
  void Clear();                               // keeps the header vector's capacity
  void Relocate(const ViewRelocation& move);  // see ViewRelocation (message.h)
};

// Parses the response head at the start of `data`, the response to a `request_method` request.
ParseResult ParseResponseHead(std::string_view data, const HttpLimits& limits,
                              Method request_method, HttpResponse* out);

// ParseResponseHead() for data arriving in pieces; the same contract as RequestHeadParser.
class ResponseHeadParser {
 public:
  explicit ResponseHeadParser(const HttpLimits& limits) : limits_(limits) {}

  ParseResult Parse(std::string_view data, Method request_method, HttpResponse* out);
  void Reset() { progress_.Reset(); }

 private:
  HttpLimits limits_;
  internal::HeadProgress progress_;
};

}  // namespace edge::http
