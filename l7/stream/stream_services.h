#pragma once
// What a request stream, its codec and its filters need from the process they run in: the clock
// and timer wheel of the loop, the counters, request ids, the current config generation and a
// way to open upstream connections. GatewayServer implements it over its io_uring loop; unit tests
// implement it with a manual clock and a fake upstream, so that a whole request runs without a
// socket.

#include <cstdint>
#include <memory>

#include "common/uring/timer_wheel.h"
#include "l7/server/gateway_runtime.h"
#include "l7/server/gateway_stats.h"
#include "l7/server/request_id.h"
#include "l7/upstream/upstream_link.h"

namespace edge::uring {
class StringPool;  // common/uring/string_pool.h
}

namespace edge::l7 {

class RequestObserver;  // l7/observe/request_observer.h

class StreamServices {
 public:
  virtual ~StreamServices() = default;
  // The loop's cached monotonic time, what timeouts are measured from.
  virtual int64_t now_ns() const = 0;
  virtual uring::TimerWheel& timers() = 0;
  virtual GatewayStats& stats() = 0;
  virtual RequestIdGenerator& request_ids() = 0;
  // The current generation; a request keeps the one it started with.
  virtual const std::shared_ptr<GatewayRuntime>& runtime() const = 0;
  virtual UpstreamConnector& upstream_connector() = 0;
  // The process is draining (SIGTERM, drain_delay): every response from now on ends its
  // connection, so keep-alive clients move to another gw7 while this one still accepts.
  virtual bool draining() const { return false; }
  // Where each request is reported when it ends (access log, usage); null: nowhere.
  virtual RequestObserver* request_observer() { return nullptr; }
  // The loop's spare buffers for connections' input and output; null: none (own buffers).
  virtual uring::StringPool* string_pool() { return nullptr; }
};

}  // namespace edge::l7
