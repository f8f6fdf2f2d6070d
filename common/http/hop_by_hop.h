#pragma once
// Hop-by-hop header fields (RFC 9110 7.6.1): they describe one connection, so a proxy removes them
// before forwarding a message and sets its own. They are the fixed set Connection, Keep-Alive,
// Proxy-Connection, TE, Trailer, Transfer-Encoding and Upgrade, plus every field that a Connection
// field of the same message names as a connection option ("Connection: close, X-Foo" makes X-Foo
// hop-by-hop).
//
// Removing Transfer-Encoding means the forwarder must frame the body itself: gw7 always writes
// its own Content-Length or Transfer-Encoding for what it sends.
//
// A Connection option naming Content-Length, Transfer-Encoding or Host is ignored (RFC 9110 7.6.1:
// a sender must not name a field meant for every recipient). Honouring it would let a hostile
// origin strip the Content-Length of a keep-alive response (the client would then read the next
// response as this one's body) or a client strip the Host that routing used. Transfer-Encoding
// is hop-by-hop anyway; Content-Length and Host stay end-to-end whatever Connection says.

#include <string_view>

#include "common/http/message.h"

namespace edge::http {

// Whether `name` is in the fixed hop-by-hop set (case-insensitive).
bool IsHopByHopField(std::string_view name);

// Whether a Connection option naming `name` is ignored: Content-Length, Transfer-Encoding, Host
// (case-insensitive).
bool IsProtectedFromConnection(std::string_view name);

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

  // The fixed set, or named by a Connection option of the message (case-insensitive); never
  // Content-Length or Host (IsProtectedFromConnection).
  bool IsHopByHop(std::string_view name) const;

  // A Connection option of the message names a protected field (ignored, but worth counting:
  // no honest sender does that).
  bool connection_names_framing() const { return connection_names_framing_; }

 private:
  const HttpHeaders* headers_;
  bool has_connection_ = false;
  bool connection_names_framing_ = false;
};

// Whether a Connection field of `headers` names Content-Length, Transfer-Encoding or Host.
bool ConnectionNamesFraming(const HttpHeaders& headers);

// Calls fn(const HttpHeader&) for every field that is not hop-by-hop, in order.
template <typename Fn>
void ForEachEndToEndHeader(const HttpHeaders& headers, Fn fn) {
  HopByHopFilter filter(headers);
  for (const HttpHeader& h : headers) {
    if (!filter.IsHopByHop(h.name)) fn(h);
  }
}

}  // namespace edge::http
