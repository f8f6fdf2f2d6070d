#pragma once
// The request fields gw7 sends on an HTTP/2 upstream stream, made from the HTTP/1.1 head that
// upstream_request.h writes (so that both protocols forward, strip and add exactly the same
// fields): the request line becomes :method and :path, Host becomes :authority, `scheme` is
// :scheme, and the fields HTTP/2 forbids (RFC 9113 8.2.2: Connection and what it may name,
// Keep-Alive, Proxy-Connection, Transfer-Encoding, Upgrade, TE) are left out; "te: trailers" is
// added when the client asked for trailers (gRPC does), and Content-Length is kept.

#include <string_view>

#include "common/http/message.h"
#include "l7/upstream/h2_upstream_connection.h"

namespace edge::l7 {

// False when `head` is not a complete head as AppendUpstreamRequestHead writes it.
bool H2FieldsFromHttp1Head(std::string_view head, std::string_view scheme, bool te_trailers,
                           H2Fields* out);

// Whether the client's TE field offers "trailers".
bool OffersTrailers(const http::HttpHeaders& headers);

}  // namespace edge::l7
