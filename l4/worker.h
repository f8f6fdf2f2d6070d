#pragma once
// Worker: one thread, one io_uring event loop, its own listening sockets, receive buffers and
// connections. Workers share nothing on the data path but the read-only Runtime and atomics.

#include <atomic>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "common/uring/buffer_ring.h"
#include "common/uring/event_loop.h"
#include "l4/listener.h"
#include "l4/relay/relay_connection.h"
#include "l4/runtime.h"
#include "l4/stats.h"

namespace edge::l4 {

// A listening socket and the index of its listener in Runtime::listeners.
struct ListenSocket {
  size_t listener;
  int fd;
};

class Worker {
 public:
  // The worker owns `sockets` (at least one per listener; more after a handover from an lb4
  // that ran more workers).
  Worker(int id, std::shared_ptr<const Runtime> runtime, SharedCounters* shared,
         std::vector<ListenSocket> sockets);
  ~Worker();

  // Starts the thread and waits until its ring is up and it is accepting.
  absl::Status Start();
  // Instead of Start(), for unit tests: sets the worker up on the calling thread and runs no
  // loop; a fake kernel (tests/unit/common/uring/fake_kernel.h) answers its ring's operations.
  absl::Status SetupOnCallingThread() { return Setup(); }
  // Thread-safe. Stops accepting new connections; live ones go on. Returns at once; see
  // ListenersClosed().
  void BeginDrain();
  // Thread-safe. After BeginDrain: every accept is cancelled and its last completion reaped, so
  // each client the kernel accepted for this worker is counted as a live connection by now.
  bool ListenersClosed() const;
  // Thread-safe. Switches to a reloaded config: `new_sockets` are this worker's sockets for new
  // bind addresses; listeners whose bind address is unchanged keep their sockets (so not one
  // connection is refused). Listeners no longer configured stop accepting. After drain_timeout,
  // connections to removed backends are ended.
  void ApplyRuntime(std::shared_ptr<const Runtime> runtime, std::vector<ListenSocket> new_sockets);
  // Thread-safe. Duplicates of this worker's listening sockets with their bind addresses, for a
  // handover to a new lb4 process. The caller owns (and closes) the duplicates.
  std::vector<std::pair<net::SocketAddress, int>> DupListenSockets();
  // Thread-safe. Waits (at most `timeout`) until the worker's loop has run everything posted
  // before this call, e.g. an ApplyRuntime: from then on its new connections use that runtime.
  // True when it has (or the worker is not running).
  bool WaitPosted(absl::Duration timeout);
  // Thread-safe. Ends every connection and stops the thread; Join() waits for it.
  void Stop();
  void Join();

  int id() const { return id_; }
  const WorkerStats& stats_view() const { return stats_; }
  int64_t live_connections() const { return live_.load(std::memory_order_relaxed); }

  // --- Used by listeners and connections, on the worker thread only. ---
  uring::EventLoop& loop() { return *loop_; }
  uring::ProvidedBufferRing& buffers() { return *buffers_; }
  WorkerStats& stats() { return stats_; }
  // [lb4.access_log]'s sink, null when off.
  log::LineSink* connection_log() const {
    return shared_->connection_log.load(std::memory_order_acquire);
  }
  // A client accepted on `listener`; `source_table` is this worker's table for its per-source
  // limits (null without them).
  void OnAccepted(int fd, const std::shared_ptr<const ListenerRuntime>& listener,
                  const std::shared_ptr<SourceTable>& source_table);
  void ReturnBuffer(uint16_t bid);
  // A splice pipe for one bulk direction of a relay, within [lb4] max_pipes for the process;
  // returns its capacity in bytes. 0 (counted) when splice is off or unsupported, the limit is
  // reached or pipe2 fails: the direction stays on buffers. ReleasePipe closes it.
  uint32_t AcquirePipe(int (&fds)[2]);
  void ReleasePipe(int (&fds)[2]);
  void Release(RelayConnection* connection);
  void OnListenerClosed() { CheckListenersClosed(); }

 private:
  void ThreadMain(std::promise<absl::Status>* ready);
  void EndRemovedBackendConnections();
  static void DrainTimerThunk(void* self) {
    static_cast<Worker*>(self)->EndRemovedBackendConnections();
  }
  absl::Status Setup();
  void CheckListenersClosed();
  // Protection (l4/protection/source_guard.h): false when the client is refused (closed and
  // counted); else *ticket holds its place in the per-source table, if any.
  bool Screen(int fd, const ListenerRuntime& listener, const std::shared_ptr<SourceTable>& table,
              const net::SocketAddress& peer, SourceTicket* ticket);
  // The per-source tables for `runtime`'s listeners: a listener keeps its table (and so its
  // sources' live counts and buckets) across reloads while its table size is unchanged.
  void UpdateSourceTables(const Runtime& runtime);
  std::shared_ptr<SourceTable> SourceTableFor(const ListenerRuntime& listener) const;

  const int id_;
  std::shared_ptr<const Runtime> runtime_;
  SharedCounters* shared_;
  std::vector<ListenSocket> sockets_;  // until Setup() hands them to listeners
  std::thread thread_;
  std::unique_ptr<uring::EventLoop> loop_;
  std::unique_ptr<uring::ProvidedBufferRing> buffers_;
  std::vector<std::unique_ptr<TcpListener>> listeners_;
  std::vector<std::unique_ptr<TcpListener>> retired_listeners_;  // closing after a reload
  uring::Timer drain_timer_{&DrainTimerThunk, this};
  std::vector<std::unique_ptr<RelayConnection>> connections_;  // every object ever made
  std::vector<RelayConnection*> free_;
  RelayConnection* live_head_ = nullptr;
  // Per-source tables by listener name (listeners with per-source limits only).
  std::unordered_map<std::string, std::shared_ptr<SourceTable>> source_tables_;
  std::atomic<int64_t> live_{0};
  bool draining_ = false;                      // worker thread only
  std::atomic<bool> listeners_closed_{false};  // set by the worker thread once draining_ and
                                               // every listener (retired ones too) is closed
  WorkerStats stats_;
};

}  // namespace edge::l4
