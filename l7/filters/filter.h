#pragma once
// The unit of gw7's request pipeline (DESIGN.md "gw7's request pipeline"). A route's chain is built
// once per config by the filters' factories: auth -> authorization -> rate limit -> ... -> proxy.
// Every request runs the chain in order (l7/stream/request_stream.h); filters never see the wire
// format, only a RequestView and the parsed message.
//
// Who answers: a filter that refuses returns kStop (the stream answers with ctx.stop_*). A filter
// that produces the response itself (the proxy, which is the last filter of every route; later a
// cache hit, an aggregation, a translation) returns kRespond and answers through
// ctx.stream->response: head, body streamed, end, at once or later. The response passes back
// through the filters before it (OnResponseHead / OnResponseData / OnResponseEnd, in reverse
// order), which may add fields (ctx.response_headers), drop the responder's fields
// (ctx.response_remove_headers), encode the body (ctx.response_encoder: compression) or keep a
// copy (a cache store).
//
// Threading: gw7 is one io_uring loop per process. Filters run on it and must not block; a filter
// that waits for something (a Redis reply) returns kSuspend and resumes the request later from the
// same loop.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "common/http/message.h"
#include "common/http/request_parser.h"
#include "common/http/response_parser.h"
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
  kRespond,   // the filter answers the request itself through ctx.stream (see the top)
};

class FilterStream;
class UpstreamLink;    // l7/upstream/upstream_link.h
class StreamServices;  // l7/stream/stream_services.h

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

// What the filters tell the access log about a request (l7/observe/access_record.h). Outcome
// strings are literals; empty means the filter did not run or does not apply.
struct RequestReport {
  std::string_view auth;               // ok | missing | invalid | forbidden | duplicate
  std::string_view rate_limit;         // allowed | limited | error_open | error_closed
  std::string_view cache;              // hit | miss | stale | bypass
  std::string_view upstream;           // the upstream's name (owned by the config generation)
  net::SocketAddress upstream_server;  // the last attempt's server
  std::optional<int64_t> upstream_connect_ns;     // the last attempt's connect (none: pooled)
  std::optional<int64_t> upstream_first_byte_ns;  // request sent -> response head
  int retries = 0;
};

// Rewrites a response body on its way to the client (compression). A filter installs one in
// ctx.response_encoder from OnResponseHead; the stream then drops the head's Content-Length (the
// codec frames the body itself: chunked on HTTP/1.1), passes every body piece through it, and the
// filters before the installing one, and the client, see the rewritten bytes.
class ResponseBodyEncoder {
 public:
  virtual ~ResponseBodyEncoder() = default;
  // Appends the encoding of `data` to `out`. What it keeps back between calls is bounded (a
  // compressor's window), never the body.
  virtual void Encode(std::string_view data, std::string* out) = 0;
  // The body is complete: appends the rest.
  virtual void Finish(std::string* out) = 0;
};

struct FilterContext;

// What goes upstream instead of the client's request when a filter translates it (REST -> SOAP):
// a POST to another path and query, with a body gw7 wrote (sent with Content-Length). The client's
// fields still go, less ctx.upstream_remove_headers and plus ctx.upstream_add_headers.
struct UpstreamRewrite {
  std::string path;
  std::string query;  // empty: none
  std::string body;
};

// Installed in ctx.upstream_rewriter by a translating filter's OnRequest (the filter outlives the
// request). The proxy then reads the client's whole body before it sends anything (bounded by
// [gw7.limits] max_body_bytes, which the codec enforces) and asks for the request to send. An
// error status is the client's: the proxy answers 400 with its message (which must name nothing
// internal); the rewriter has counted and logged it.
class UpstreamRewriter {
 public:
  virtual ~UpstreamRewriter() = default;
  virtual absl::Status Rewrite(FilterContext& ctx, std::string_view client_body,
                               UpstreamRewrite* out) const = 0;
};

// Per-request state the filters share with each other and with the server.
struct FilterContext {
  explicit FilterContext(const RequestView& r, FilterStream* s = nullptr) : request(r), stream(s) {}
  const RequestView& request;
  // The request's stream: the parsed request, its body and the response (a responding filter's
  // way out). Null in tests that run a filter alone.
  FilterStream* stream;
  Identity identity;
  // Changes to the request sent upstream (applied by the proxy step, in this order).
  std::vector<std::string> upstream_remove_headers;
  std::vector<std::pair<std::string, std::string>> upstream_add_headers;
  // Replaces the client's query in what goes upstream (a filter removed a parameter from it).
  std::optional<std::string> upstream_query;
  // Replaces the whole request sent upstream (see UpstreamRewriter).
  const UpstreamRewriter* upstream_rewriter = nullptr;
  // Headers added to whatever response goes back to the client (upstream's or a filter's).
  std::vector<std::pair<std::string, std::string>> response_headers;
  // Fields of the responding filter's head (the upstream's) the client does not get, by name in
  // any case: removed before the codec encodes the head (HTTP/1 and HTTP/2 alike). Fields in
  // response_headers are not affected (a filter edits that list itself).
  std::vector<std::string> response_remove_headers;
  // Set by at most one filter's OnResponseHead (see ResponseBodyEncoder).
  std::unique_ptr<ResponseBodyEncoder> response_encoder;
  // Set by a filter that returns kStop: the response the client gets instead of the upstream's.
  int stop_status = 0;
  std::string stop_content_type = "application/json";
  std::string stop_body;
  // With kStop: the gw7_errors_total kind to count ("" counts "filter_<name>").
  std::string_view error_kind;
  // For the access log.
  RequestReport report;

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
  // kContinue (on to the next filter), kStop (answer ctx.stop_*), or kRespond: run the
  // suspending filter's OnRequest again, now that what it waited for is there (it may answer).
  virtual void Resume(FilterStatus status) = 0;
};

// The side of a responding filter that the stream talks to while the filter answers: the request
// body comes in, the client's pace and fate go out. Registered with FilterStream::SetResponder.
class Responder {
 public:
  virtual ~Responder() = default;
  // Request body bytes (already de-chunked), in order, only after ReadRequestBody; valid during the
  // call.
  virtual void OnRequestData(std::string_view data) = 0;
  // The body is complete; `trailers` (may be null) valid during the call.
  virtual void OnRequestEnd(const http::HttpHeaders* trailers) = 0;
  // The request body is malformed (a broken chunk): the stream answers `status` itself, or resets
  // when the response has begun. The responder releases what it holds; no more events follow.
  virtual void OnRequestError() = 0;
  // Whether the responder takes more body now (the upstream's send queue is short).
  virtual bool WantsRequestData() const = 0;
  // The client took queued response bytes: a paused producer may go on.
  virtual void OnResponseDrained() = 0;
  // The client is gone, or the stream is reset: release everything. No more events follow.
  virtual void OnStreamReset() = 0;
};

// Per-request state a responding filter keeps beyond FilterContext (the proxy's exchange with an
// upstream). The stream owns it and keeps it for the next request on the same connection, so a
// keep-alive connection allocates it once, not per request.
class ResponderState {
 public:
  virtual ~ResponderState() = default;
};

// The request stream as a filter sees it (implemented by RequestStream, l7/stream/).
class FilterStream {
 public:
  virtual ~FilterStream() = default;
  // The request as parsed (the proxy forwards it), and what the stream decided about it.
  virtual const http::HttpRequest& http_request() const = 0;
  virtual std::string_view request_id() const = 0;
  virtual std::string_view upstream_path() const = 0;  // the routed path after rewrites
  virtual bool client_tls() const = 0;                 // the client spoke TLS to lb4
  virtual bool upgrade_requested() const = 0;          // a protocol upgrade may be forwarded
  virtual bool request_body_complete() const = 0;      // no body byte is still to come
  // The route's path_template captures, as the router took them from the path (still
  // percent-encoded); empty for other routes.
  virtual const std::vector<std::pair<std::string, std::string>>& path_params() const = 0;
  // The loop's clock and timers, the counters, upstream connections.
  virtual StreamServices& services() = 0;

  // ---- the responding filter ----
  // The responder for this request; the stream tells it about the body and the client.
  virtual void SetResponder(Responder* responder) = 0;
  // The slot for the responding filter's per-request state (see ResponderState).
  virtual std::unique_ptr<ResponderState>& responder_state() = 0;
  // The responder will read the body: HTTP/1 answers Expect: 100-continue now.
  virtual void AcceptRequestBody() = 0;
  // Hands over the body bytes that have arrived (OnRequestData / OnRequestEnd / OnRequestError).
  virtual void ReadRequestBody() = 0;
  // The response. `head` (and what its views point into) stays valid until SendEnd or Reset.
  // The filters' response fields and X-Request-Id are added; the codec chooses the framing.
  virtual void SendHead(const http::HttpResponse& head) = 0;
  virtual void SendData(std::string_view data) = 0;
  // Ends the response; the request is over (the responder hears nothing more) and the stream may
  // start the next request before this returns: the caller touches no per-request state after.
  virtual void SendEnd(const http::HttpHeaders* trailers) = 0;
  // gw7's own answer instead of a response: a JSON error body with `message` and the request id.
  // Ends the request like SendEnd.
  virtual void SendLocal(int status, std::string_view message) = 0;
  // A 101 that switches the client to the protocol the upstream speaks: after the head, the
  // connection carries bytes both ways between the client and `link` (its owner from then on),
  // starting with `first_bytes` from the upstream. Ends the request like SendEnd.
  virtual void SendUpgrade(const http::HttpResponse& head, UpstreamLink* link,
                           std::string_view first_bytes) = 0;
  // The response cannot be completed (the upstream broke off): the client must not take what it
  // got for complete (HTTP/1 closes the connection). Ends the request.
  virtual void Reset() = 0;
  // Response bytes queued for the client, for a producer's backpressure.
  virtual size_t response_queued() const = 0;
  // Everything sent between these leaves the process in one write (a head and its body).
  virtual void BeginOutputBatch() = 0;
  virtual void EndOutputBatch() = 0;
};

// One instance per route per config generation, shared by all of the route's requests.
class Filter {
 public:
  virtual ~Filter() = default;
  virtual std::string_view name() const = 0;  // for logs and metrics: "auth", "rate_limit"
  virtual FilterStatus OnRequest(FilterContext& ctx, Resumer* resumer) = 0;
  // The response on its way back (from a later filter or gw7 itself), before its head is sent:
  // fields added to ctx.response_headers still go out. Filters see it in reverse chain order.
  virtual void OnResponseHead(FilterContext& /*ctx*/, const http::HttpResponse& /*head*/) {}
  // Its body bytes as the client gets them (before framing), and its end.
  virtual void OnResponseData(FilterContext& /*ctx*/, std::string_view /*data*/) {}
  virtual void OnResponseEnd(FilterContext& /*ctx*/, const http::HttpHeaders* /*trailers*/) {}
  // Taking a response over on its way back. Asked before OnResponseHead, nearest the responder
  // first, for a later filter's response or gw7's own answer on its behalf (a 502/503/504 for an
  // upstream failure: `head` then has only the status). The first filter that returns true owns
  // the answer: the stream drops that response (its head, body and end reach neither the client
  // nor any other filter; its body goes to the taker's OnTakenOverData) and, once it is over (its
  // end, a broken-off body, or at once for gw7's own answer), calls that filter's ReplaceResponse.
  // There the filter answers through ctx.stream exactly as a responding filter does
  // (SendHead/SendData/SendEnd or SendLocal, now or later), and the filters before it see that
  // answer. For a cache that revalidated a stored response (an upstream 304 becomes the stored 200)
  // or serves a stale one when the upstream fails; for a translation (REST -> SOAP) that answers
  // with the response's body in another form.
  virtual bool TakeOverResponse(FilterContext& /*ctx*/, const http::HttpResponse& /*head*/) {
    return false;
  }
  // The body of the response this filter took over, as it comes (before ReplaceResponse), for a
  // filter that answers with a translation of it. Only the taking filter sees it.
  virtual void OnTakenOverData(FilterContext& /*ctx*/, std::string_view /*data*/) {}
  virtual void ReplaceResponse(FilterContext& /*ctx*/) {}
  // Called exactly once per request that entered the chain, for every filter of the chain (also
  // those whose OnRequest did not run), when the request ends however it ends: response complete,
  // client gone, upstream failure, a filter's kStop. Never while a filter has the request
  // suspended; ctx is destroyed right after. For releasing what OnRequest took (a slot).
  virtual void OnEnd(FilterContext& /*ctx*/) {}
};

}  // namespace edge::l7
