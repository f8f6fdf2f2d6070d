#pragma once
// HealthProbe: the active HTTP health check of one upstream server, run on the gateway's loop.
// Every `interval` it connects, sends "GET <path>" (Connection: close), and reads the status line
// of the answer with the strict response parser: a 2xx or 3xx within `timeout` is a pass,
// anything else (refused, reset, timeout, a 4xx/5xx, a malformed response) a failure. Each result
// goes to the callback; the caller applies rise/fall (HealthVerdict).

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/http/response_parser.h"
#include "common/net/address.h"
#include "common/uring/event_loop.h"
#include "common/uring/timer_wheel.h"
#include "l7/upstream/upstream_connection.h"

namespace edge::l7 {

// Applies rise/fall to a stream of check results: `fall` consecutive failures take a server
// down, `rise` consecutive passes bring it back. Starts up, so that a new server takes traffic
// before its first check.
class HealthVerdict {
 public:
  HealthVerdict(int rise, int fall) : rise_(rise < 1 ? 1 : rise), fall_(fall < 1 ? 1 : fall) {}
  // Returns true when the state changed.
  bool Record(bool pass);
  bool up() const { return up_; }
  int streak() const { return streak_; }
  void Restore(bool up, int streak) {
    up_ = up;
    streak_ = streak;
  }

 private:
  int rise_, fall_;
  bool up_ = true;
  int streak_ = 0;  // consecutive results that disagree with the current state
};

class HealthProbe final : public UpstreamConnection::Owner {
 public:
  // pass, and a short reason ("200", "connect: Connection refused", "timeout", ...).
  using Callback = std::function<void(bool pass, std::string_view detail)>;

  HealthProbe(uring::EventLoop* loop, const net::SocketAddress& server, std::string path,
              int64_t interval_ns, int64_t timeout_ns, Callback callback);
  ~HealthProbe() override;  // stops: no callback after it
  HealthProbe(const HealthProbe&) = delete;
  HealthProbe& operator=(const HealthProbe&) = delete;

  // Runs the first check after `first_delay_ns` (spread probes out), then every interval.
  void Start(int64_t first_delay_ns);

  void OnUpstreamConnected(UpstreamLink* c, int error) override;
  void OnUpstreamData(UpstreamLink* c, std::string_view data) override;
  void OnUpstreamClosed(UpstreamLink* c, int error) override;
  void OnUpstreamSendDrained(UpstreamLink*) override {}

 private:
  static void TickThunk(void* self) { static_cast<HealthProbe*>(self)->OnTick(); }
  static void TimeoutThunk(void* self) {
    static_cast<HealthProbe*>(self)->Finish(false, "timeout");
  }
  void OnTick();
  void Finish(bool pass, std::string_view detail);

  uring::EventLoop* loop_;
  net::SocketAddress server_;
  std::string request_;
  int64_t interval_ns_, timeout_ns_;
  Callback callback_;
  uring::Timer tick_timer_;
  uring::Timer timeout_timer_;
  UpstreamConnection* connection_ = nullptr;
  std::string response_;
  http::ResponseHeadParser parser_;
  http::HttpResponse parsed_;
};

}  // namespace edge::l7
