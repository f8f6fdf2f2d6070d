#pragma once
// Hop-by-hop header fields (RFC 9110 7.6.1): they describe one connection, so a proxy removes them
// before forwarding a message and sets its own. They are the fixed set Connection, Keep-Alive,
// Proxy-Connection, TE, Trailer, Transfer-Encoding and Upgrade, plus every field that a Connection
// field of the same message names as a connection option ("Connection: close, X-Foo" makes X-Foo
// hop-by-hop).
//
// Removing Transfer-Encoding (and whatever Connection names, Content-Length included) means the
// forwarder must frame the body itself: gw7 always writes its own Content-Length or
// Transfer-Encoding for what it sends.

#include <string_view>

#include "common/http/message.h"

namespace edge::http {

// Whether `name` is in the fixed hop-by-hop set (case-insensitive).
bool IsHopByHopField(std::string_view name);

// Whether a field must not be forwarded in a trailer section (RFC 9110 6.5.1): the hop-by-hop set
// and the fields that control framing (Content-Length, Transfer-Encoding, Trailer), routing
// (Host), request modifiers (Cache-Control, Expect, Max-Forwards, Pragma, Range, TE, If-*),
// authentication (Authorization, Cookie, Set-Cookie, *-Authenticate, Proxy-Authorization),
// response control (Age, Date, Expires, Location, Retry-After, Vary, Warning) or content
// processing (Content-Encoding, Content-Type, Content-Range). A recipient that merges trailers
// into the header section would otherwise let a trailer change how the message is handled after
// gw7 has checked and routed it. Case-insensitive.
bool IsForbiddenTrailerField(std::string_view name);

// Decides which fields of one message are hop-by-hop. Keeps a pointer to `headers`: it must
// outlive the filter.
class HopByHopFilter {
 public:
  explicit HopByHopFilter(const HttpHeaders& headers);

  // The fixed set, or named by a Connection option of the message (case-insensitive).
  bool IsHopByHop(std::string_view name) const;

 private:
  const HttpHeaders* headers_;
  bool has_connection_ = false;
};

// Calls fn(const HttpHeader&) for every field that is not hop-by-hop, in order.
template <typename Fn>
void ForEachEndToEndHeader(const HttpHeaders& headers, Fn fn) {
  HopByHopFilter filter(headers);
  for (const HttpHeader& h : headers) {
    if (!filter.IsHopByHop(h.name)) fn(h);
  }
}

}  // namespace edge::http
