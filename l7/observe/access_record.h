#pragma once
// AccessRecord: what gw7 knows about one finished request, handed to the access log and to the
// usage analytics (RequestObserver::OnRequestEnd) once the request ends, however it ends.
//
// Types-only header. Strings are views: the record is consumed synchronously by the call it is
// passed to and never kept, so the request path builds it from what it already holds without
// copying. Outcome strings are short literals ("ok", "limited", "hit"); empty means "did not
// apply" and is logged as null.

#include <cstdint>
#include <optional>
#include <string_view>

#include "common/net/address.h"

namespace edge::l7 {

// Why a request ended. kCompleted: a response was sent in full (whatever its status).
enum class RequestEnd : uint8_t {
  kCompleted,
  kClientGone,     // the client closed or reset before the response was sent in full
  kTimeout,        // header, request, upstream or send timeout
  kRefused,        // refused by gw7 itself: a limit, max_connections, draining
  kUpstreamError,  // the upstream failed after the response began (reset, bad bytes)
  kClientError,    // the client's bytes were not valid HTTP (the 4xx gw7 sent is in `status`)
};
// "completed", "client_gone", "timeout", "refused", "upstream_error", "client_error".
std::string_view RequestEndName(RequestEnd end);

struct AccessRecord {
  int64_t start_unix_ns = 0;  // wall clock when the request head was complete
  std::string_view request_id;
  std::string_view trace_id;  // 32 hex digits (l7/observe/traceparent.h)
  std::string_view span_id;   // gw7's span: the parent id sent upstream
  net::SocketAddress client;  // the PROXY header's source, else the TCP peer
  std::string_view consumer;  // authenticated consumer
  std::string_view route;
  std::string_view upstream;         // upstream name
  std::string_view upstream_server;  // "127.0.0.1:9101" of the last attempt
  std::string_view method;
  std::string_view host;
  std::string_view target;  // as the client sent it (path and query); redacted when logged
  std::string_view protocol = "HTTP/1.1";
  std::string_view user_agent;
  int status = 0;           // sent to the client; 0 when none was
  uint64_t bytes_in = 0;    // request bytes received from the client (head and body)
  uint64_t bytes_out = 0;   // response bytes sent to the client (head and body)
  int64_t duration_ns = 0;  // head complete -> last response byte sent (or the end)
  std::optional<int64_t> upstream_connect_ns;     // connect of the last attempt (none: pooled)
  std::optional<int64_t> upstream_first_byte_ns;  // request sent -> first response byte
  int64_t filters_ns = 0;                         // time inside filters (auth, limits, cache)
  std::string_view auth;                          // ok | missing | invalid | forbidden
  std::string_view rate_limit;                    // allowed | limited | error_open | error_closed
  std::string_view cache;                         // hit | miss | stale | bypass
  int retries = 0;
  RequestEnd end = RequestEnd::kCompleted;
};

}  // namespace edge::l7
