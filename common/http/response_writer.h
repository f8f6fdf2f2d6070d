#pragma once
// Serialises simple, complete HTTP/1.1 responses: the admin endpoints' replies (/healthz, /metrics,
// /status) and the error replies of gw7 (400, 413, 431, 502, ... with a small JSON body).
//
// The writer owns the framing: it writes Content-Length itself (none for 1xx, 204 and 304, which
// have no body) and Connection when the connection is to be closed or an HTTP/1.0 client is kept
// alive. Caller fields are checked, so a value taken from a request cannot split the response:
// names must be tokens, values VCHAR / obs-text / SP / HTAB without surrounding whitespace, and
// Content-Length, Transfer-Encoding and Connection are refused (the writer decides those).

#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "common/http/message.h"

namespace edge::http {

struct ResponseOptions {
  bool keep_alive = true;     // false: "Connection: close"
  bool head_request = false;  // a HEAD: Content-Length of `body`, but no body bytes
  HttpVersion client_version =
      HttpVersion::kHttp11;  // a kept-alive 1.0 client: "Connection: keep-alive"
};

// The interim response to "Expect: 100-continue".
inline constexpr std::string_view kContinueResponse = "HTTP/1.1 100 Continue\r\n\r\n";

// Appends "HTTP/1.1 <status> <reason>\r\n", the caller's fields in order, the framing fields, the
// blank line and the body to *out. InvalidArgument (and nothing appended) for a status outside
// 100..599, a field refused as above, or a non-empty body with a status that cannot have one.
absl::Status AppendResponse(int status, std::span<const HttpHeader> headers, std::string_view body,
                            const ResponseOptions& options, std::string* out);

// {"error":{"status":431,"reason":"Request Header Fields Too Large","message":"..."}} and a
// newline; `message` is JSON-escaped.
std::string JsonErrorBody(int status, std::string_view message);

// A complete error reply with a JsonErrorBody, "Content-Type: application/json" and
// "Connection: close" (after a refused request the connection cannot be trusted to be in sync).
// A status outside 400..599 is replaced by 500.
std::string ErrorResponse(int status, std::string_view message, bool head_request = false);
inline std::string ErrorResponse(const HttpError& error) {
  return ErrorResponse(error.status, error.reason);
}

}  // namespace edge::http
