#pragma once
// Probe: one active health check of one server on an event loop: lb4's health thread, or gw7's
// one loop. The scheduling (when to probe) and the verdicts' arithmetic (rise/fall) belong to the
// caller (health_policy.h); a Probe runs one check at a time.
//
//   tcp:  an io_uring connect. Connected is healthy.
//   http: connect, send "GET <path> HTTP/1.1" (Host: the checked address, Connection: close),
//         read until the response's status line and header section are complete (parsed by
//         common/http's response parser). A status that ProbeSpec::expect matches is healthy
//         (default 2xx and 3xx, HAProxy's rule); any other status, a malformed or truncated
//         response, a reset, a refused connect or the timeout is a failure.
//
// The I/O is a StreamSocket's (common/uring/stream_socket.h), one per check. The whole check
// (connect included) has one deadline on the loop's timer wheel; when it passes, the socket is
// closed (a connect in flight cancelled) and the check fails with "timeout after ...". The body is
// never read: the socket is closed as soon as the verdict is known, and `done` follows once the
// kernel has released it.
//
// Each outcome carries a short detail for logs and /status: "connected", "HTTP 200 OK",
// "HTTP 503 Service Unavailable", "connect refused", "timeout after 500ms", "reset by the
// backend", "malformed response: <parser's reason>", ...

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/health/expect_status.h"
#include "common/net/address.h"
#include "common/uring/event_loop.h"
#include "common/uring/stream_socket.h"
#include "common/uring/timer_wheel.h"

namespace edge::health {

struct ProbeSpec {
  bool http = false;  // false: tcp
  net::SocketAddress address;
  std::string request;     // http: the bytes to send (BuildHealthRequest)
  int64_t timeout_ns = 0;  // > 0
  ExpectStatus expect;     // http: the statuses that pass
};

struct ProbeVerdict {
  bool ok = false;
  std::string detail;
  int status = 0;  // http: the final status judged; 0 when no response was judged
};

struct ProbeOutcome {
  ProbeVerdict verdict;
  int64_t took_ns = 0;  // from Start to the verdict
};

// The request of an http check: GET `path` with Host `host` ("127.0.0.1:8001", "[::1]:80"), and
// User-Agent `user_agent` so that a server's logs tell health checks apart ("lb4-health").
std::string BuildHealthRequest(std::string_view path, std::string_view host,
                               std::string_view user_agent);

// Judges the bytes received so far in answer to a health check GET. Returns nothing while more
// are needed (and `eof` is false). 1xx heads are skipped; the first final status decides: it
// passes when `expect` matches it.
std::optional<ProbeVerdict> JudgeHttpResponse(std::string_view received, bool eof,
                                              const ExpectStatus& expect = ExpectStatus());

// The detail of a failed connect or socket operation (`error` is a positive errno).
std::string DescribeError(int error);

class Probe final : private uring::StreamSocket::Handler {
 public:
  using Done = std::function<void(const ProbeOutcome&)>;

  // `done` is called once per Start, from the loop (never from inside Start or Cancel).
  Probe(uring::EventLoop* loop, Done done);
  // Must not be running (Cancel, then wait for `done`), unless the loop is already gone.
  ~Probe() override;
  Probe(const Probe&) = delete;
  Probe& operator=(const Probe&) = delete;

  // Starts one check; `spec` must stay valid until `done`. Requires !running().
  void Start(const ProbeSpec* spec);
  // Ends a check in flight early: `done` follows with detail "cancelled".
  void Cancel();
  bool running() const { return spec_ != nullptr; }

  static constexpr size_t kMaxResponseHead = 16 * 1024;

 private:
  // uring::StreamSocket::Handler
  void OnSocketConnected(int error) override;
  void OnSocketData(std::string_view data) override;
  void OnSocketEnd(int error) override;
  void OnSocketSendDrained() override {}
  void OnSocketReleased() override;

  // Records the verdict and closes the socket; `done` follows once it is released.
  void Conclude(ProbeVerdict verdict);
  void Conclude(bool ok, std::string detail) { Conclude(ProbeVerdict{ok, std::move(detail)}); }
  void MaybeFinish();
  void OnTimer();
  static void TimerThunk(void* self) { static_cast<Probe*>(self)->OnTimer(); }

  uring::EventLoop* loop_;
  Done done_;
  const ProbeSpec* spec_ = nullptr;
  std::unique_ptr<uring::StreamSocket> socket_;  // the check's connection, until released
  bool concluded_ = false;
  bool closing_ = false;  // inside socket_->Close(): a release there is reported from the timer
  ProbeVerdict verdict_;
  int64_t start_ns_ = 0;
  std::unique_ptr<char[]> buffer_;  // http: the response head, kMaxResponseHead bytes
  size_t received_ = 0;
  uring::Timer timer_;
};

}  // namespace edge::health
