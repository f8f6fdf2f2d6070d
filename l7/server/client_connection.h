#pragma once
// ClientConnection: one client's TCP connection to gw7 and the requests on it, one at a time and
// answered in order (pipelined requests wait in the receive buffer until the one before them has
// been answered).
//
// A request goes through: [PROXY header] -> head (strict parse, limits, header_timeout) -> route
// -> filters (may suspend) -> proxy: pick a server, take a pooled keep-alive connection or
// connect, send the head, stream the body, parse the response strictly, stream it back. Errors
// the client caused get 4xx and a close; upstream failures get 502/503/504 with a JSON body, or a
// retry when the request is idempotent, its bytes are all still buffered and nothing of the
// response has reached the client.
//
// Memory per connection is bounded: the receive buffers are fixed; a direction whose peer is
// slower than its sender stops reading (kHighWater) until the queue drains (kLowWater). An idle
// keep-alive connection holds no large buffer: a receive that expects little (the next request
// head, or nothing) uses a small buffer inside the object, and the 32 KiB one is allocated only
// for bodies, tunnels and receives that follow a full one (README.md has the measured figure).
//
// Lifetime: owned by itself. Close() shuts the socket down; the object deletes itself when the
// last of its io_uring operations completes, and not while a filter holds it suspended.
//
// Protocol upgrade (WebSocket and the like), as HAProxy does by default: a bodiless HTTP/1.1
// request with "Connection: upgrade" and an Upgrade field goes upstream with both; a 101 answer
// (which must name the protocol in its own Upgrade field) is relayed and both connections become
// one opaque byte tunnel, with backpressure both ways, half-close from the client, and
// idle_timeout; the upstream connection is never pooled again. Any other answer is an ordinary
// response. An upgrade request with a body is forwarded as an ordinary request without its
// Upgrade (RFC 9110 7.8 lets a server ignore Upgrade), so no byte after a body can be read as
// tunnel data by one side and as a request by the other.
//
// The client side is in client_connection.cc, the upstream side (server choice, request
// forwarding, response relay, retries) in client_connection_upstream.cc, the tunnel after a 101
// in client_connection_tunnel.cc.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/http/chunked_decoder.h"
#include "common/http/request_parser.h"
#include "common/http/response_parser.h"
#include "common/net/address.h"
#include "common/uring/completion.h"
#include "common/uring/timer_wheel.h"
#include "l7/filters/filter.h"
#include "l7/server/client_response.h"
#include "l7/server/gateway_runtime.h"
#include "l7/upstream/upstream_connection.h"

namespace edge::l7 {

class GatewayServer;

class ClientConnection final : public uring::IoHandler,
                               public UpstreamConnection::Owner,
                               public RequestView,
                               public Resumer {
 public:
  static constexpr size_t kRecvBufferSize = 32 * 1024;
  // Holds a typical request head (a bearer token included); a larger one takes one more receive.
  static constexpr size_t kSmallRecvBufferSize = 2 * 1024;
  static constexpr size_t kHighWater = 256 * 1024;
  static constexpr size_t kLowWater = 64 * 1024;
  // Request bytes kept for a retry; a larger body makes the request not retryable.
  static constexpr size_t kRetryBufferLimit = 64 * 1024;

  ClientConnection(GatewayServer* server, int fd, const net::SocketAddress& peer);
  void Start();
  // Instead of Start(), over max_connections: answers 503 (Retry-After: 1, Connection: close)
  // without reading a request, then closes.
  void Refuse();
  bool refused() const { return refused_; }
  // Drain: an idle connection closes now, a busy one after its current response.
  void OnDrain();
  // Closes at once (drain timeout, shutdown).
  void Abort();
  // Process shutdown, after the loop has stopped for good: frees the connection now.
  void DestroyAfterLoop();

  // RequestView
  std::string_view method() const override { return request_.method_name; }
  std::string_view path() const override { return path_; }  // normalised
  std::string_view query() const override { return request_.query; }
  std::string_view host() const override { return host_; }
  std::optional<std::string_view> header(std::string_view name) const override;
  size_t header_count(std::string_view name) const override;
  const net::SocketAddress& client_address() const override { return client_; }
  std::string_view route_name() const override;

  // Resumer
  void Resume(FilterStatus status) override;

  // UpstreamConnection::Owner
  void OnUpstreamConnected(UpstreamConnection* c, int error) override;
  void OnUpstreamData(UpstreamConnection* c, std::string_view data) override;
  void OnUpstreamClosed(UpstreamConnection* c, int error) override;
  void OnUpstreamSendDrained(UpstreamConnection* c) override;

 private:
  enum Op : uint8_t { kOpRecv = 1, kOpSend = 2, kOpClose = 3 };
  enum class State : uint8_t {
    kProxyHeader,  // expecting a PROXY header from a trusted proxy
    kHead,         // waiting for a request head
    kFilters,      // a filter suspended the request
    kProxy,        // the request is with an upstream
    kTunnel,       // after a relayed 101: bytes are copied both ways, opaque
    kDone,         // the response went out; closing after the flush
    kLinger,       // write side shut; reading until EOF so the client gets our last bytes
    kClosed,
  };

  ~ClientConnection() override;
  void OnCompletion(uint8_t op, int32_t res, uint32_t flags) override;
  static void TimerThunk(void* self) { static_cast<ClientConnection*>(self)->OnTimer(); }
  static void RequestTimerThunk(void* self) {
    static_cast<ClientConnection*>(self)->OnRequestTimeout();
  }
  static void ConnectTimerThunk(void* self) {
    static_cast<ClientConnection*>(self)->OnConnectTimeout();
  }
  static void SendTimerThunk(void* self) { static_cast<ClientConnection*>(self)->OnSendTimeout(); }
  void OnTimer();
  void OnRequestTimeout();
  void OnConnectTimeout();
  void OnSendTimeout();

  // I/O
  void ArmRecv();
  bool WantRead() const;
  void Write(std::string_view data);
  void FlushOut();
  size_t out_queued() const { return out_.size() + (sending_.size() - sent_); }
  void Close();
  void MaybeDestroy();

  // Requests
  void Process();
  void ProcessLoop();
  void ProcessProxyHeader();
  bool PeerIsTrustedProxy() const;  // the TCP peer is in trusted_proxies
  void StartRequest(size_t head_bytes);
  void RunFilters(size_t from);
  void StartProxy();
  bool StartAttempt();  // false: no server to try
  void FeedRequestBody();
  void SendBody(std::string_view data, bool last);
  void ProcessUpstream();
  // Moves the parsed response head, the first `head_bytes` of up_in_, out of up_in_.
  void KeepResponseHead(size_t head_bytes);
  void OnResponseHead();
  void ForwardResponseBody();
  void FinishExchange();
  // The tunnel (client_connection_tunnel.cc). StartTunnel takes the 101 head, the first
  // `head_bytes` of up_in_.
  void StartTunnel(size_t head_bytes);
  void TunnelFromClient();
  void TunnelToClient(std::string_view data);
  void TunnelClientEof();
  void TunnelUpstreamClosed(int error);
  void OnTunnelTimer();
  // Counts `kind`, logs `detail` (which may name servers; the client gets a generic message),
  // then retries or answers `status`.
  void AttemptFailed(std::string_view kind, int status, std::string detail, bool retryable);
  void EndAttempt(bool success);
  // A response gw7 makes itself; `close` ends the connection after it. Without `body`, a JSON
  // error body with `message` and the request id: `message` must name nothing internal.
  void LocalResponse(int status, std::string_view message, bool close,
                     const std::vector<std::pair<std::string, std::string>>* extra = nullptr,
                     std::string_view content_type = "application/json",
                     std::string_view body = {});
  void RejectConnection(int status, std::string_view kind, std::string_view reason);
  void ResponseComplete(int status);
  void EndFilters();  // the request is over for its filters: each gets OnEnd, the context goes
  void ResetForNextRequest();
  void FinishAfterFlush();  // no more requests: flush, then linger and close
  void EnterLinger();
  void RestartIdleTimer();

  GatewayServer* server_;
  int fd_;
  net::SocketAddress peer_;
  net::SocketAddress client_;
  std::unique_ptr<char[]> recv_buffer_;  // kRecvBufferSize, only while large receives are due
  char* recv_target_ = nullptr;          // the armed receive's buffer
  size_t recv_capacity_ = 0;             // and its size
  std::string in_;                       // received, not yet consumed
  std::string out_;                      // queued for the client
  std::string sending_;                  // being sent; sent_ bytes done
  size_t sent_ = 0;
  int inflight_ = 0;
  bool recv_armed_ = false;
  bool last_recv_full_ = true;  // a new client has usually sent its request already
  bool send_armed_ = false;
  bool read_eof_ = false;
  bool close_submitted_ = false;
  bool close_after_response_ = false;  // no keep-alive after the current response
  bool draining_ = false;
  bool in_process_ = false;
  bool corked_ = false;  // Write() only queues; the handler that set it flushes
  bool tls_ = false;     // the PROXY header said the client used TLS
  State state_ = State::kHead;
  uring::Timer timer_;  // idle, header, linger
  enum class TimerKind : uint8_t {
    kNone,
    kIdle,
    kHeader,
    kLinger,
    kTunnel
  } timer_kind_ = TimerKind::kNone;
  uring::Timer request_timer_;
  uring::Timer connect_timer_;
  // send_timeout, in every state: armed while output waits for the client. A send that moves
  // bytes only records the time (no wheel operation per send); the timer, when it fires, re-arms
  // itself for the last progress + send_timeout or closes.
  uring::Timer send_timer_;
  int64_t send_progress_ns_ = 0;
  // Refuse(): over max_connections.
  bool refused_ = false;
  // Last member: the receive buffer of an idle connection (see the top of this file).
  char small_recv_buffer_[kSmallRecvBufferSize];

  // The current request.
  http::RequestHeadParser head_parser_;
  std::string head_;  // the head's bytes; request_ points into them
  http::HttpRequest request_;
  bool have_request_ = false;
  bool upgrade_ = false;  // the request goes upstream as an upgrade request
  std::string host_;
  // The normalised request path: a view of request_.path when it needed no change, else of
  // path_buffer_ (kept per connection so that its capacity is reused).
  std::string_view path_;
  std::string path_buffer_;
  std::string request_id_;
  std::shared_ptr<GatewayRuntime> runtime_;
  RouteRuntime* route_ = nullptr;
  std::string upstream_path_;
  std::unique_ptr<FilterContext> filter_ctx_;
  size_t filter_index_ = 0;
  bool suspended_ = false;
  int64_t request_start_ns_ = 0;
  // Request body from the client.
  uint64_t body_left_ = 0;  // content-length bytes still to come
  http::ChunkedDecoder chunked_;
  bool body_complete_ = true;
  bool continue_sent_ = false;
  // Upstream exchange.
  UpstreamConnection* upstream_ = nullptr;
  UpstreamServer* server_state_ = nullptr;  // while an attempt is open (balancer told)
  UpstreamServer* pool_server_ = nullptr;   // whose pool gets the connection back
  int server_index_ = -1;
  std::vector<bool> tried_;
  std::vector<bool> excluded_;  // StartAttempt's scratch, kept to spare an allocation per request
  int attempts_ = 0;
  std::string retry_copy_;  // every byte sent upstream for this request so far
  bool retryable_ = false;
  int64_t attempt_start_ns_ = 0;
  std::string up_in_;
  http::ResponseHeadParser response_parser_;
  std::string response_head_bytes_;
  http::HttpResponse response_;
  bool response_started_ = false;  // bytes of the response were queued for the client
  bool response_head_done_ = false;
  ClientFraming client_framing_ = ClientFraming::kNone;
  uint64_t response_left_ = 0;
  http::ChunkedDecoder response_chunked_;
  int response_status_ = 0;
  int64_t tunnel_activity_ns_ = 0;  // the last byte through the tunnel, either way
};

}  // namespace edge::l7
