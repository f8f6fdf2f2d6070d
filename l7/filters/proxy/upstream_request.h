#pragma once
// The request head gw7 sends upstream, built from the client's parsed request:
//  - the request line in origin-form with the routed path (after strip_prefix / prefix_rewrite)
//    and the client's query, always HTTP/1.1 (the upstream connection is ours and kept alive);
//  - the client's end-to-end fields in order: hop-by-hop fields (the fixed set and whatever the
//    client's Connection names) are dropped, and so are the fields gw7 owns: Content-Length and
//    Transfer-Encoding (gw7 frames the body itself), Expect (gw7 answers 100-continue itself),
//    X-Request-Id, and any field a filter removes (any case, '_' for '-');
//  - the fields of options.strip (the identity, forwarding and internal fields gw7 owns: see
//    trusted_headers.h) in any spelling, counted in the report;
//  - X-Forwarded-For and Forwarded (RFC 7239) with the client address: appended to what came in
//    when options.trusted_client (the HTTP client is one of trusted_proxies), else gw7's alone; a
//    Forwarded from a trusted client that does not parse is dropped (reported) and replaced by
//    gw7's element alone; then X-Forwarded-Proto and X-Request-Id;
//  - the route's and the filters' extra fields, then the framing: Content-Length or
//    Transfer-Encoding: chunked.
// An upgrade request (options.upgrade) keeps the client's Upgrade fields and says
// "Connection: Upgrade": the one exception to the removal of hop-by-hop fields. Unless
// options.allow_h2c, the h2c protocol is left out of Upgrade and HTTP2-Settings is removed (the
// caller has made sure that another protocol is left: OffersUpgradeOtherThanH2c).
// A Host is always sent: the client's, or the server's address for an HTTP/1.0 client without
// one. Extra fields whose name is not a token or whose value holds CR, LF or NUL are skipped, so
// that nothing from a config or a filter can split the head; so is an extra Host (one Host only).

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/http/message.h"
#include "common/http/request_parser.h"
#include "common/net/address.h"
#include "l7/codec/http1_response_writer.h"
#include "l7/server/trusted_headers.h"

namespace edge::l7 {

struct UpstreamRequestOptions {
  std::string_view method;  // instead of the client's (a translated request's POST); empty: its
  std::string_view path;    // the routed path (no query)
  // The query sent upstream instead of the client's (a filter removed a credential), or null.
  const std::string* query = nullptr;
  const net::SocketAddress* client = nullptr;
  std::string_view proto = "http";  // X-Forwarded-Proto and Forwarded proto=
  std::string_view request_id;
  std::string_view default_host;  // when the client sent no Host
  const std::vector<std::string>* remove_headers = nullptr;
  const std::vector<std::pair<std::string, std::string>>* add_headers = nullptr;
  const std::vector<std::pair<std::string, std::string>>* route_headers = nullptr;
  http::BodyFraming body;  // kNone, kContentLength or kChunked: what gw7 sends
  bool upgrade = false;    // forward the client's protocol upgrade (see above)
  bool allow_h2c = false;  // the route's allow_h2c_upgrade
  // Names removed in every spelling (the config generation's set); null: none.
  const StrippedFieldSet* strip = nullptr;
  // The HTTP client (client_address()) is in trusted_proxies: append to its XFF / Forwarded.
  bool trusted_client = false;
};

// What the head writer removed, for the counters and the log.
struct UpstreamHeadReport {
  uint32_t stripped = 0;           // fields of options.strip (and HTTP2-Settings) removed
  bool forwarded_dropped = false;  // a trusted client's Forwarded did not parse
};

// Appends the head (through its blank line) to *out.
UpstreamHeadReport AppendUpstreamRequestHead(const http::HttpRequest& request,
                                             const UpstreamRequestOptions& options,
                                             std::string* out);

// The last chunk of a chunked request body gw7 sends upstream, with the client's trailer fields
// that may cross gw7: neither forbidden in trailers (hop_by_hop.h), nor named by a Connection
// option of the request head, nor a field gw7 writes itself (X-Forwarded-For, X-Request-Id, ...),
// nor one of `strip` in any spelling (a backend merging trailers into the header section must not
// see a forged one). Returns how many fields of `strip` it removed.
uint32_t AppendUpstreamLastChunk(const http::HttpHeaders& trailers,
                                 const http::HttpHeaders& request_headers, std::string* out,
                                 const StrippedFieldSet* strip = nullptr);

// Fields gw7 writes itself in what it sends upstream, whatever the client sent: the framing
// fields, Expect, X-Request-Id, X-Forwarded-For, X-Forwarded-Proto and Forwarded.
bool IsGatewayOwnedField(std::string_view name);

}  // namespace edge::l7
