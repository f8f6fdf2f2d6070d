#pragma once
// The unit of gw7's request pipeline (DESIGN.md "gw7's request pipeline"). A route's chain is built
// once per config by the filters' factories: auth -> authorization -> rate limit -> ... -> proxy.
// Every request runs the chain in order; filters never see the wire format, only a RequestView.
//
// Threading: gw7 is one io_uring loop per process. Filters run on it and must not block; a filter
// that waits for something (a Redis reply) returns kSuspend and resumes the request later from the
// same loop.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/metrics/prometheus.h"
#include "common/net/address.h"

namespace edge::l7 {

// What a request looks like to a filter. Implemented by the server over its parsed request; valid
// until the request ends (even while a filter has it suspended).
class RequestView {
 public:
  virtual ~RequestView() = default;
  virtual std::string_view method() const = 0;
  virtual std::string_view path() const = 0;   // normalised (path_normalizer.h), no query
  virtual std::string_view query() const = 0;  // after '?', empty if none
  virtual std::string_view host() const = 0;   // Host without the port, lower case
  // The first header of that name (case-insensitive), if any.
  virtual std::optional<std::string_view> header(std::string_view name) const = 0;
  // How many fields are named `name` in any case, '_' counting as '-' (field_spelling.h): the
  // fields a backend may merge into one, so a credential sent twice is seen in every spelling.
  virtual size_t header_count(std::string_view name) const = 0;
  // The client's address: PROXY header's source when from a trusted proxy, else the peer.
  virtual const net::SocketAddress& client_address() const = 0;
  virtual std::string_view route_name() const = 0;
};

enum class FilterStatus {
  kContinue,  // go on to the next filter
  kStop,      // answer now with ctx.stop_status/stop_body (+ response_headers)
  kSuspend,   // the filter will call Resumer::Resume exactly once, later, on the loop thread
};

// Who the caller is, once an auth filter has said so.
struct Identity {
  bool authenticated = false;
  std::string consumer;             // api_key: the key's consumer; jwt: the sub claim
  std::vector<std::string> scopes;  // granted scopes
  // Claims a route may require or pass upstream (string form; numbers as decimal text).
  std::vector<std::pair<std::string, std::string>> claims;
  // The same claims for require_claims: an array as one entry per element (JwtClaims::values).
  std::vector<std::pair<std::string, std::string>> claim_values;
};

// Per-request state the filters share with each other and with the server.
struct FilterContext {
  explicit FilterContext(const RequestView& r) : request(r) {}
  const RequestView& request;
  Identity identity;
  // Changes to the request sent upstream (applied by the proxy step, in this order).
  std::vector<std::string> upstream_remove_headers;
  std::vector<std::pair<std::string, std::string>> upstream_add_headers;
  // Replaces the client's query in what goes upstream (a filter removed a parameter from it).
  std::optional<std::string> upstream_query;
  // Headers added to whatever response goes back to the client (upstream's or a filter's).
  std::vector<std::pair<std::string, std::string>> response_headers;
  // Set by a filter that returns kStop: the response the client gets instead of the upstream's.
  int stop_status = 0;
  std::string stop_content_type = "application/json";
  std::string stop_body;
  // With kStop: the gw7_errors_total kind to count ("" counts "filter_<name>").
  std::string_view error_kind;

  // Prepares a kStop answer with a JSON body {"error": code, "message": message}.
  FilterStatus Reject(int status, std::string_view code, std::string_view message) {
    stop_status = status;
    stop_content_type = "application/json";
    stop_body = "{\"error\":\"" + metrics::JsonEscape(code) + "\",\"message\":\"" +
                metrics::JsonEscape(message) + "\"}\n";
    return FilterStatus::kStop;
  }
};

// Given to a filter that suspends; the server keeps the request (and the context) alive until
// Resume is called, even if the client has gone meanwhile.
class Resumer {
 public:
  virtual ~Resumer() = default;
  virtual void Resume(FilterStatus status) = 0;  // kContinue or kStop
};

// One instance per route per config generation, shared by all of the route's requests.
class Filter {
 public:
  virtual ~Filter() = default;
  virtual std::string_view name() const = 0;  // for logs and metrics: "auth", "rate_limit"
  virtual FilterStatus OnRequest(FilterContext& ctx, Resumer* resumer) = 0;
  // Called once the response status is known (upstream's or a filter's), before its head is sent.
  virtual void OnResponse(FilterContext& /*ctx*/, int /*status*/) {}
  // Called exactly once per request that entered the chain, for every filter of the chain (also
  // those whose OnRequest did not run), when the request ends however it ends: response complete,
  // client gone, upstream failure, a filter's kStop. Never while a filter has the request
  // suspended; ctx is destroyed right after. For releasing what OnRequest took (a slot).
  virtual void OnEnd(FilterContext& /*ctx*/) {}
};

}  // namespace edge::l7
