#pragma once
// The response head gw7 sends its client for an upstream's response: the upstream's status and
// reason, its end-to-end fields (hop-by-hop ones dropped: the Connection, Keep-Alive,
// Transfer-Encoding... of the upstream hop say nothing about the client's hop), the filters'
// response fields, X-Request-Id, and gw7's own framing for the client:
//
//   upstream body       client HTTP/1.1                    client HTTP/1.0
//   none                as is (a HEAD's Content-Length kept) as is
//   Content-Length      Content-Length (streamed as is)    the same
//   chunked             chunked (re-framed)                until close
//   until close         chunked: the client stays alive    until close
//
// Connection: close when the client connection ends after this response; keep-alive for a kept
// HTTP/1.0 client. A 101 that switches the client to the upstream's protocol (options.upgrade)
// keeps the upstream's Upgrade fields and says "Connection: Upgrade" instead.
//
// Trailers of a chunked upstream body reach an HTTP/1.1 client in gw7's last chunk
// (AppendClientLastChunk); an HTTP/1.0 client, which gets the body until close, cannot have them.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/http/message.h"
#include "common/http/response_parser.h"

namespace edge::l7 {

enum class ClientFraming {
  kNone,           // no body bytes follow
  kContentLength,  // the upstream's Content-Length bytes, copied
  kChunked,        // gw7 writes chunks
  kUntilClose,     // bytes, then the connection closes
};

// How the body of `response` (already parsed) goes to a client of `client_version`.
ClientFraming ChooseClientFraming(const http::HttpResponse& response,
                                  http::HttpVersion client_version);

struct ClientResponseOptions {
  ClientFraming framing = ClientFraming::kNone;
  bool keep_alive = true;  // the client connection stays open after this response
  http::HttpVersion client_version = http::HttpVersion::kHttp11;
  std::string_view request_id;
  const std::vector<std::pair<std::string, std::string>>* extra_headers = nullptr;
  bool upgrade = false;  // a 101 the client gets before the connection becomes a tunnel
};

void AppendClientResponseHead(const http::HttpResponse& response,
                              const ClientResponseOptions& options, std::string* out);

// Appends the field line "name: value\r\n" (the caller has checked both).
void AppendField(std::string* out, std::string_view name, std::string_view value);

// Whether a field taken from a config or a filter may be written as is: a token for a name, no
// CR, LF, NUL or other control character in the value, so that nothing can split a head.
bool IsSafeExtraField(std::string_view name, std::string_view value);

// One chunk of the chunked coding around `data` (non-empty): "<hex>\r\n<data>\r\n".
void AppendChunk(std::string_view data, std::string* out);
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

// The last chunk for the client with the upstream's trailer fields that may cross gw7: neither
// forbidden in trailers (hop_by_hop.h), nor named by a Connection option of the response head,
// nor X-Request-Id (gw7's own).
void AppendClientLastChunk(const http::HttpHeaders& trailers,
                           const http::HttpHeaders& response_headers, std::string* out);

}  // namespace edge::l7
