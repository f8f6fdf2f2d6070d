#pragma once
// Counters of lb4. WorkerStats are written by one worker thread only (relaxed load+store, no
// locked instructions on the data path) and read by anyone; SharedCounters are process-wide.

#include <atomic>
#include <cstdint>

#include "common/log/line_sink.h"
#include "common/metrics/prometheus.h"

namespace edge::l4 {

// A counter written by exactly one thread and read by any.
class OwnedCounter {
 public:
  void Add(uint64_t n) {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t Get() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

struct alignas(64) WorkerStats {
  OwnedCounter accepted;            // connections accepted
  OwnedCounter refused_max;         // refused: max_connections reached
  OwnedCounter refused_no_backend;  // refused: no eligible backend
  OwnedCounter connect_failures;    // backend connects that failed or timed out
  OwnedCounter connect_timeouts;
  OwnedCounter idle_timeouts;
  OwnedCounter bytes_from_clients;
  OwnedCounter bytes_from_backends;
  OwnedCounter closed;  // connections finished (any reason)
  OwnedCounter errors;  // connections ended by a socket error
  OwnedCounter accept_errors;
  OwnedCounter buffer_fallbacks;  // plain recvs because the provided buffer ring ran dry
  OwnedCounter splice_flows;      // directions switched to splice (bulk)
  OwnedCounter splice_refused;    // bulk directions left on buffers: no pipe (limit or pipe2)
  // tls_passthrough: ClientHellos read and routed by an SNI route, or sent to the listener's pool
  // (no SNI, or no route matched); refused ones by reason (index: tls::HelloError), timeouts, and
  // clients that closed before the hello was complete.
  OwnedCounter hello_routed;
  OwnedCounter hello_default_pool;
  OwnedCounter hello_refused[6];
  OwnedCounter hello_timeouts;
  OwnedCounter hello_eof;
  // mode = "tls": completed handshakes, those resumed from a ticket, and failures by reason
  // (index: TlsFailure, l4/tls/tls_failure.h).
  OwnedCounter tls_handshakes;
  OwnedCounter tls_resumed;
  OwnedCounter tls_handshake_failures[6];
  metrics::DurationHistogram durations;  // of finished relayed connections
};

struct SharedCounters {
  std::atomic<int64_t> active{0};  // relayed connections alive, all workers
  std::atomic<int64_t> pipes{0};   // splice pipes open, all workers (at most [lb4] max_pipes)
  // [lb4.access_log]'s sink, null when off. Owned by Lb4Server, which keeps every sink it ever
  // published until exit, so a worker may use what it loaded without a reference count.
  std::atomic<log::LineSink*> connection_log{nullptr};
};

}  // namespace edge::l4
